r"""3D ResNet-18 + Conv-LSTM auto-encoder (Islam et al., MLICOM 2021 / LNICST 2022).

Faces aligned and resized to 64 x 64, 12 frames from onset to apex (apex last,
padded with the last frame; SMIC, which annotates no apex, at its full length,
onset..offset, as the paper keeps it), into
torchvision's r3d_18 from Kinetics-400 weights, then a 2-1-2 Conv-LSTM
auto-encoder with peepholes (eq. 1-5, 3x3 convolutions), a 1x3x3 Conv3D to the
class maps, adaptive average pooling and softmax (37.6 M trainable
parameters). Training set tripled (vertical flip, 8 degree rotation); class-
weighted cross-entropy with a weighted random sampler; Adam lr 1e-3 on the
micro-expressions, batch 64, reduced on a plateau of 5 epochs; early stopping
after 8 epochs without a better validation loss, on validation subjects drawn
from the training subjects.
Composite of SMIC (HS, VIS), CASME, CASME II, CAS(ME)^2 and SAMM, 3 classes.

Run with your copies of the corpora and the Kinetics weights:
  python -m mer_jax.main --config=configs/r3d_convlstm_ae.py:loso \
      --config.data.roots.smic=/data/SMIC --config.data.roots.smic_vis=/data/SMIC \
      --config.data.roots.casme=/data/CASME --config.data.roots.casme2=/data/CASME2 \
      --config.data.roots.casme_sq=/data/CASME_sq --config.data.roots.samm=/data/SAMM \
      --config.pretrained.path=/weights/r3d_18-b3b3357e.pth --workdir=runs/islam_loso
Variants:
  '' or 'loso'    leave-one-subject-out over the composite (Table 3: .973/.971/.966).
  'stratified5'   stratified 5-fold by sample (Table 3: .976/.976/.973).
  'demo'          the built-in data at small sizes: minutes on a 2-core CPU.
  'smoke'         the built-in data at the paper's sizes (12 x 64 x 64, the full
                  37.6 M-parameter model) for one epoch.
  'tiny'          seconds, for the test suite.
Before the folds, the whole network is pre-trained on your macro-expression
clips (`--config.pretrain.folder=DIR`, one folder per class of clip folders;
`--config.pretrain.source=''` skips it); :demo uses the built-in generator.
"""

import ml_collections

from mer_jax.data import datasets

VARIANTS = ("loso", "stratified5", "demo", "smoke", "tiny")

# Table 3 (Islam et al.): ours on the 5-dataset composite; the other rows are
# LOSO on SMIC + CASME II + SAMM (MEGC 2019), as the paper lists them.
TABLE_3 = {
    "loso": {"Ours (paper, Table 3, LOSO)": dict(accuracy=0.973, uar=0.971, uf1=0.966),
             "CapsuleNet (paper, Table 3, MEGC 2019 LOSO)": dict(uar=0.651, uf1=0.652),
             "RCN-A (paper, Table 3, MEGC 2019 LOSO)": dict(uar=0.719, uf1=0.743),
             "MicroNet (paper, Table 3, MEGC 2019 LOSO)": dict(uar=0.857, uf1=0.864)},
    "stratified5": {"Ours (paper, Table 3, stratified 5-fold)": dict(accuracy=0.976, uar=0.976,
                                                                     uf1=0.973)},
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variant = arg or "loso"
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; expected '' or one of {VARIANTS}")
  c = ml_collections.ConfigDict()
  c.seed = 0

  c.data = ml_collections.ConfigDict(datasets.default_data_config())
  c.data.datasets = ("smic", "smic_vis", "casme", "casme2", "casme_sq", "samm")
  c.data.label_scheme = "islam_3"
  # The face step (data/faces.py): official crops are the face, whole frames
  # (SAMM, CAS(ME)^2, raw trees) are detected with fallbacks; no clip is dropped.
  c.data.recipe = dict(name="islam", image_size=64, num_frames=12, face="haar",
                       subtract_onset=False)
  # Folds group by person (Sample.person): SMIC-HS and SMIC-VIS clips of one
  # subject are one LOSO subject, never on both sides of a fold.

  c.augment = dict(name="flip_rotate", inputs=("frames",), degrees=8.0, mode="constant")
  c.protocol = dict(name="loso", k=5, folds_in_parallel=4,
                    fold_strategy="auto")

  c.model_name = "r3d_convlstm_ae"
  c.model = dict(hidden=(101, 101, 101, 101), decoder_input="feedback",
                 backbone_widths=(64, 128, 256, 512), dtype="float32",
                 conv3d="auto")  # speed only: temporal taps on the CPU (BUILD_NOTES)
  c.pretrained = dict(kind="torchvision_r3d_18", path="", into=("backbone",), skip=("fc",))
  # The whole network pre-trained on macro-expression clips (CK+, MUG, Oulu-CASIA:
  # folder/<class>/<clip>/<frames>, peak last) at lr 1e-4, then fine-tuned
  # (train/pretraining.py). The stage trains a fixed number of epochs (BUILD_NOTES.md).
  c.pretrain = dict(
      stage="model", source="folder", folder="", face="none", classes=(), image_size=64,
      held_out=0.1, into=("",), skip=(), num_epochs=30, batch_size=64,
      optim=dict(name="adam", b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0),
      schedule=dict(kind="constant", base_lr=1e-4,
                    plateau=dict(patience=5, factor=0.1, threshold=1e-4, min_scale=0.0)),
      augment=dict(name="flip_rotate", inputs=("frames",), degrees=8.0, mode="constant"),
      synthetic=dict(datasets.default_data_config()["synthetic"], seed=1, difficulty=4.0))

  c.optim = dict(name="adam", b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)
  # "patience 5 for equal validation loss in five consecutive epochs": PyTorch's
  # ReduceLROnPlateau with its defaults otherwise (factor 0.1, threshold 1e-4).
  c.schedule = dict(kind="constant", base_lr=1e-3,
                    plateau=dict(patience=5, factor=0.1, threshold=1e-4, min_scale=0.0))
  # 'val_loss' with patience 8: the paper's early stopping, on validation
  # subjects drawn from the training subjects (never the test subject).
  c.train = dict(num_epochs=100, batch_size=64, microbatches=1, balance="sampler",
                 class_weights="balanced", selection="val_loss", patience=8,
                 val_fraction=0.15, checkpoint_every_epochs=1, progress_bar=True,
                 untrained_folds="fail")
  c.eval = dict(batch_size=16, paper_rows=TABLE_3.get(variant, {}), fold_mean_row=False,
                compare_runs=())

  if variant == "stratified5":
    c.protocol.update(name="stratified_kfold", k=5, folds_in_parallel=5)
  if variant in ("demo", "smoke", "tiny"):
    c.data.datasets = ("synthetic",)
    c.data.label_scheme = "three_class"
    c.data.recipe.face = "none"  # The synthetic frames are the face.
    c.pretrained.kind = ""
    c.pretrain.source = "synthetic"
  if variant == "demo":
    c.data.synthetic.difficulty = 3.0
    # Frames minus the onset (not in the paper): the demo's few-pixel motion
    # then stands out from the face; UF1 .51/.59/.60 over seeds 0-2 (BUILD_NOTES.md).
    c.data.recipe.update(image_size=32, num_frames=4, subtract_onset=True)
    # An eighth-width r3d_18: the full one takes ~40 s an epoch on a 2-core CPU.
    c.model.update(hidden=(16, 16, 16, 16), backbone_widths=(8, 16, 32, 64))
    c.protocol.update(name="subject_kfold", k=4, folds_in_parallel=1)
    c.train.update(num_epochs=15, batch_size=16, patience=5)
    # The stand-in for macro-expression clips moves more than the micro ones
    # (difficulty 10 against 3) and is larger (24 subjects); without this stage
    # learning something first, the folds stay at chance (BUILD_NOTES.md).
    c.pretrain.update(num_epochs=14, batch_size=16)
    c.pretrain.augment = dict(name="none")
    c.pretrain.schedule.base_lr = 1e-3
    c.pretrain.synthetic.update(num_subjects=24, difficulty=10.0)
  if variant == "smoke":
    c.data.synthetic.update(num_subjects=3, clips_per_subject=3)
    c.protocol.update(name="subject_kfold", k=3, folds_in_parallel=1)
    c.train.update(num_epochs=1, batch_size=8, selection="last", progress_bar=False)
    c.eval.batch_size = 4
    c.pretrain.update(num_epochs=1, batch_size=8)
    c.pretrain.synthetic.update(num_subjects=2, clips_per_subject=3)
  if variant == "tiny":
    c.data.synthetic.update(num_subjects=4, clips_per_subject=4, image_size=32)
    c.data.recipe.update(image_size=32, num_frames=4)
    c.model.update(hidden=(4, 4, 4, 4), backbone_widths=(8, 16, 32, 64))
    # One fold at a time: XLA:CPU runs vmapped (grouped) 3-D convolutions slowly.
    c.protocol.update(name="subject_kfold", k=2, folds_in_parallel=1)
    c.train.update(num_epochs=2, batch_size=4, val_fraction=0.34, progress_bar=False)
    c.eval.batch_size = 4
    c.pretrain.update(num_epochs=1, batch_size=4)
    c.pretrain.synthetic.update(num_subjects=2, clips_per_subject=4, image_size=32)
  return c
