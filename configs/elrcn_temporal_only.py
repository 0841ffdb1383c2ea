r"""ELRCN "temporal learning only" ablation (Khor et al., FG 2018, section IV-E-2).

Grey pixel intensities of 10 frames (TIM) resized to 50x50, flattened per
frame into a 2-layer LSTM (3000, 1024 units: the best temporal-only setting of
Fig. 6, used again in Fig. 7), the last step into one FC layer and softmax.
Adam, lr 1e-5 with Keras decay 1e-6, at most 100 epochs with early stopping.
CASME II, leave-one-subject-out, 5 classes (happiness, disgust, repression,
surprise, others). The paper gives this ablation only as a bar chart (Fig. 6),
so no numbers are printed beside ours.

Run on CASME II (the Cropped frames, TIM 10):
  python -m mer_jax.main --config=configs/elrcn_temporal_only.py \
      --config.data.roots.casme2=/data/CASME2 --workdir=runs/elrcn_temporal_only
On the built-in synthetic data (3-class, 2-core CPU, a few minutes):
  python -m mer_jax.main --config=configs/elrcn_temporal_only.py:demo --workdir=runs/demo
Variants: '' (paper), 'demo', 'smoke' (seconds; for tests).
"""

import ml_collections

from mer_jax.data import datasets


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variant = arg or "paper"
  if variant not in ("paper", "demo", "smoke"):
    raise ValueError(f"unknown variant {variant!r}; expected '', 'demo' or 'smoke'")
  c = ml_collections.ConfigDict()
  c.seed = 0

  c.data = ml_collections.ConfigDict(datasets.default_data_config())
  c.data.datasets = ("casme2",)
  c.data.manifest = "casme2_5"  # 246 clips / 26 subjects (data/manifests.py)
  c.data.label_scheme = "casme2_5"
  c.data.recipe = dict(name="pixels", image_size=50, num_frames=10, grayscale=True,
                       temporal="tim", subtract_onset=False)

  c.protocol = dict(name="loso", k=5, folds_in_parallel=26,
                    fold_strategy="auto")

  c.model_name = "elrcn_temporal_only"
  c.model = dict(lstm_features=(3000, 1024))

  c.optim = dict(name="adam", b1=0.9, b2=0.999, eps=1e-7, weight_decay=0.0)
  c.schedule = dict(kind="inverse_time", base_lr=1e-5, decay=1e-6)

  c.train = dict(num_epochs=100, batch_size=32, selection="val_loss", patience=5,
                 val_fraction=0.15, checkpoint_every_epochs=1, progress_bar=True,
                 untrained_folds="fail")
  c.eval = dict(batch_size=64, paper_rows={}, compare_runs=())

  if variant in ("demo", "smoke"):
    c.data.datasets = ("synthetic",)
    c.data.manifest = ""
    c.data.label_scheme = "three_class"
    c.data.recipe.temporal = "linear"
    # Raw intensities of a ~1 px motion are lost in the differences between
    # faces at demo sizes (the LSTM stays at the class prior); frames minus the
    # onset frame keep only the motion. See BUILD_NOTES.md.
    c.data.recipe.subtract_onset = True
    c.schedule = dict(kind="inverse_time", base_lr=1e-3, decay=1e-6)
  if variant == "demo":
    c.protocol.folds_in_parallel = 12
    c.data.recipe.image_size = 32
    c.model.lstm_features = (256, 128)
    c.train.update(num_epochs=30, batch_size=16, patience=8)
  if variant == "smoke":
    c.data.synthetic.update(num_subjects=4, clips_per_subject=6, image_size=32)
    c.data.recipe.update(image_size=12, num_frames=4)
    c.protocol.folds_in_parallel = 4
    c.model.lstm_features = (8,)
    c.train.update(num_epochs=2, batch_size=4, val_fraction=0.34, progress_bar=False)
    c.eval.batch_size = 8
  return c
