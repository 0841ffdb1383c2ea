r"""ATNet, the Apex-Time Network (Peng et al., ACII 2019), on the MEGC 2019 composite.

Spatial stream: the pre-activation ResNet-10 of the authors' Caffe model
(`ResNet10_cvgj`) on the grey 224 x 224 apex frame, from ImageNet weights,
fine-tuned on macro-expression images first (`config.pretrain`). Temporal
stream: a 2-layer LSTM(512) over the 64 x 128 average direction-magnitude
features of the 65 frames around the apex, averaged over time. Both
L2-normalised, concatenated, dropout 0.5, a fully connected layer to 3
classes (negative, positive, surprise). SGD momentum 0.9, weight decay 5e-6,
lr 0.01 divided by 10 every 10 epochs, 50 epochs, batch 16 with class-
balanced training lists (the authors' code), rotation <= 5 degrees and shift
<= 10 px with probability 0.5 on the apex (applied: the authors' data layer
read its probability from a misspelt key and never augmented).

Every run trains the spatial, temporal and fusion variants one after the
other (`config.sweep`) and prints them beside the paper's table.

Run the composite (CDE) with your copies of the three corpora:
  python -m mer_jax.main --config=configs/atnet.py:cde \
      --config.data.roots.casme2=/data/CASME2 --config.data.roots.samm=/data/SAMM \
      --config.data.roots.smic=/data/SMIC \
      --config.pretrained.path=/weights/resnet10_cvgj_iter_320000.caffemodel \
      --config.pretrain.folder=/data/macro_faces --workdir=runs/atnet_cde
Variants (add ',spatial', ',temporal' or ',fusion' to run one stream only):
  '' or 'cde'  MEGC 2019 composite, leave-one-subject-out over 68 subjects (Table II).
  'hde'        hold-out database: train on two corpora, test on the third (Table III).
  'demo'       the built-in synthetic data at small sizes, with the built-in data as the
               pre-training images too: minutes on a 2-core CPU.
  'smoke'      the built-in data at the paper's sizes (224 x 224 apex, 65-frame window,
               LSTM 512) for one epoch: checks the full model runs.
  'tiny'       seconds, for the test suite.
Without the ImageNet file, pass --config.pretrained.kind='' (ResNet-10 from scratch);
without macro-expression images, --config.pretrain.source='' (no pre-training stage).
"""

import ml_collections

from mer_jax import config_files
from mer_jax.data import datasets

PROTOCOLS = ("cde", "hde")
SIZES = ("demo", "smoke", "tiny")
STREAMS = ("spatial", "temporal", "fusion")

# Table II (CDE): {method: {set: (acc, uf1, uar)}}, sets Full, CASME II, SAMM, SMIC.
_SETS_II = ("all", "casme2", "samm", "smic")
_TABLE_II = {
    "LBP-TOP {3,3,3,4} TIM=10": ((.405, .329, .335), (.448, .372, .391), (.519, .363, .361),
                                 (.274, .255, .257)),
    "LBP-TOP {3,3,3,8} TIM=10": ((.396, .293, .294), (.441, .285, .288), (.511, .301, .302),
                                 (.262, .246, .246)),
    "LBP-TOP {3,3,3,4} TIM=64": ((.387, .321, .328), (.414, .314, .321), (.466, .300, .299),
                                 (.299, .289, .301)),
    "LBP-TOP {3,3,3,8} TIM=64": ((.378, .305, .305), (.421, .302, .302), (.444, .289, .288),
                                 (.287, .281, .279)),
    "HOOF N=4 TIM=10": ((.396, .338, .340), (.386, .297, .297), (.451, .349, .365),
                        (.360, .346, .345)),
    "HOOF N=8 TIM=10": ((.430, .350, .350), (.434, .361, .368), (.436, .295, .293),
                        (.421, .367, .379)),
    "HOOF N=4 TIM=64": ((.475, .346, .350), (.497, .324, .331), (.586, .366, .366),
                        (.366, .318, .330)),
    "HOOF N=8 TIM=64": ((.475, .328, .337), (.559, .372, .375), (.602, .316, .326),
                        (.299, .257, .268)),
    "Micro-Attention": ((.613, .508, .493), (.703, .539, .517), (.677, .403, .340),
                        (.482, .473, .466)),
    "ATNet spatial": ((.595, .494, .484), (.669, .521, .501), (.684, .348, .366),
                      (.457, .454, .455)),
    "ATNet temporal": ((.624, .581, .581), (.724, .691, .679), (.632, .487, .490),
                       (.530, .527, .530)),
    "ATNet fusion": ((.693, .631, .613), (.834, .798, .775), (.701, .496, .482),
                     (.561, .553, .543)),
}
# Table III (HDE): {method: {test set: (uf1, uar)}}, test sets CASME II, SAMM, SMIC.
_SETS_III = ("casme2", "samm", "smic")
_TABLE_III = {
    "LBP-TOP {3,3,3,4} TIM=10": ((.295, .298), (.330, .360), (.271, .382)),
    "LBP-TOP {3,3,3,8} TIM=10": ((.240, .249), (.335, .347), (.235, .315)),
    "LBP-TOP {3,3,3,4} TIM=64": ((.338, .339), (.281, .295), (.275, .338)),
    "LBP-TOP {3,3,3,8} TIM=64": ((.313, .317), (.248, .263), (.289, .334)),
    "HOOF N=4 TIM=10": ((.355, .356), (.279, .281), (.297, .312)),
    "HOOF N=8 TIM=10": ((.329, .331), (.327, .351), (.329, .348)),
    "HOOF N=4 TIM=64": ((.332, .339), (.348, .351), (.275, .293)),
    "HOOF N=8 TIM=64": ((.328, .344), (.284, .292), (.280, .304)),
    "Micro-Attention": ((.338, .369), (.383, .380), (.354, .372)),
    "ATNet spatial": ((.318, .359), (.372, .375), (.386, .395)),
    "ATNet temporal": ((.631, .643), (.450, .458), (.503, .524)),
    "ATNet fusion": ((.523, .501), (.429, .427), (.497, .489)),
}


def paper_table(protocol: str) -> dict[str, dict[str, dict[str, float]]]:
  """Table II (cde) or III (hde) as `{row: {set: {metric: value}}}`."""
  if protocol == "cde":
    return {f"{m} (paper)": {s: dict(zip(("accuracy", "uf1", "uar"), v))
                             for s, v in zip(_SETS_II, sets)} for m, sets in _TABLE_II.items()}
  return {f"{m} (paper)": {s: dict(zip(("uf1", "uar"), v)) for s, v in zip(_SETS_III, sets)}
          for m, sets in _TABLE_III.items()}


def stream_runs() -> tuple:
  """The sweep over the three variants; the temporal one has no spatial network to import."""
  no_spatial = (("pretrained.kind", ""), ("pretrain.source", ""))
  return (("spatial", (("model.stream", "spatial"),)),
          ("temporal", (("model.stream", "temporal"),) + no_spatial),
          ("fusion", (("model.stream", "fusion"),)))


def parse(arg: str | None) -> tuple[str, str | None]:
  """'hde,fusion' -> ('hde', 'fusion'); '' -> ('cde', None)."""
  found = config_files.parse_variant(arg, {"variant": PROTOCOLS + SIZES, "stream": STREAMS},
                                     defaults={"variant": "cde"})
  return found["variant"], found["stream"]


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variant, stream = parse(arg)
  c = ml_collections.ConfigDict()
  c.seed = 0

  c.data = ml_collections.ConfigDict(datasets.default_data_config())
  c.data.datasets = ("casme2", "samm", "smic")
  c.data.label_scheme = "megc2019"
  # 'annotated': SMIC has no apex, so its clips take the middle frame, as the paper.
  c.data.apex = "annotated"
  # SMIC_all_cropped when present (the MEGC 2019 distribution), else SMIC_all_raw.
  c.data.adapter_options.smic.frames = "auto"
  c.data.manifest = "megc2019"  # 442 clips / 68 subjects (data/manifests.py)
  # The face step (data/faces.py) stands in for the authors' ASM crop: official
  # crops (CASME II Cropped, SMIC_all_cropped) are the face; SAMM's whole frames
  # go through OpenCV's detectors with fallbacks, so no clip is ever dropped.
  c.data.recipe = dict(name="atnet", face="haar", image_size=224, flow_size=224, window=65,
                       grid=8, pad="front", layout="interleaved", flow="tvl1")

  c.augment = dict(name="rotate_shift", inputs=("apex",), max_degrees=5.0, max_shift_px=10,
                   prob=0.5, mode="constant")
  c.protocol = dict(name="loso", k=5, folds_in_parallel=4,
                    fold_strategy="auto")

  c.model_name = "atnet"
  c.model = dict(stream="fusion", backbone="resnet10_cvgj", backbone_options={},
                 lstm_features=(512, 512), dropout_rate=0.5, dtype="float32")
  # ImageNet weights of the cvjena ResNet10_cvgj (Caffe), made grey (conv1 summed).
  c.pretrained = dict(kind="resnet10_cvgj_gray", path="", into=("spatial",),
                      skip=("score", "fc"))
  # Macro-expression fine-tuning of the spatial stream (train/pretraining.py); its
  # optimiser and length are not in the paper (BUILD_NOTES.md).
  c.pretrain = dict(
      stage="spatial", source="folder", folder="", face="none", classes=(), image_size=224,
      held_out=0.1, into=("spatial",), skip=(), num_epochs=30, batch_size=16,
      optim=dict(name="sgd", momentum=0.9, weight_decay=5e-6),
      schedule=dict(kind="step", base_lr=0.01, factor=0.1, every_epochs=10),
      augment=dict(name="rotate_shift", inputs=("apex",), max_degrees=5.0, max_shift_px=10,
                   prob=0.5, mode="constant"),
      synthetic=dict(datasets.default_data_config()["synthetic"], seed=1, difficulty=4.0))

  c.optim = dict(name="sgd", momentum=0.9, weight_decay=5e-6)
  c.schedule = dict(kind="step", base_lr=0.01, factor=0.1, every_epochs=10)
  # 'last': the paper's fixed 50 epochs; nothing is selected on the test subject.
  c.train = dict(num_epochs=50, batch_size=16, microbatches=1, balance="oversample",
                 selection="last", patience=0, val_fraction=0.15, checkpoint_every_epochs=1,
                 progress_bar=True, untrained_folds="fail")
  c.eval = dict(batch_size=16, paper_rows={}, fold_mean_row=False, row_name="",
                paper_table=paper_table("hde" if variant == "hde" else "cde"), compare_runs=())
  c.sweep = dict(runs=stream_runs())

  if variant == "hde":
    c.protocol.name = "leave_one_dataset_out"
    c.protocol.folds_in_parallel = 3
  if variant in SIZES:
    _small(c, variant)
  if stream:
    c.sweep.runs = ()
    c.model.stream = stream
    c.eval.row_name = f"{stream} (ours)"
    if stream == "temporal":
      c.pretrained.kind, c.pretrain.source = "", ""
  return c


def _small(c: ml_collections.ConfigDict, variant: str) -> None:
  """The built-in data: 'demo', 'smoke' or 'tiny' sizes (no ImageNet file needed)."""
  c.data.datasets = ("synthetic",)
  c.data.label_scheme = "three_class"
  c.data.manifest = ""
  c.data.recipe.face = "none"  # The synthetic frames are the face.
  c.eval.paper_table = {}
  c.pretrained.kind = ""
  c.pretrain.source = "synthetic"
  if variant == "demo":
    # 32 x 32 apex and flows, 4 x 4 blocks over 33 frames (the synthetic clips
    # are 200 fps: 8..40 frames), LSTM 64-64, 20 epochs at lr 0.1 (/ 10 after
    # 10), 3 px motion: minutes on a 2-core CPU (BUILD_NOTES.md, ATNet demo).
    c.data.synthetic.difficulty = 3.0
    c.data.recipe.update(image_size=32, flow_size=32, window=33, grid=4)
    c.schedule.base_lr = 0.1
    c.augment.max_shift_px = 2
    c.model.lstm_features = (64, 64)
    c.protocol.update(name="subject_kfold", k=4, folds_in_parallel=1)
    c.pretrain.update(image_size=32, num_epochs=10)
    c.pretrain.augment.max_shift_px = 2
    c.pretrain.synthetic.update(num_subjects=8)
    c.train.update(num_epochs=20)
  if variant == "smoke":
    c.data.synthetic.update(num_subjects=2, clips_per_subject=3)
    c.protocol.update(name="subject_kfold", k=2, folds_in_parallel=1)
    c.pretrain.synthetic.update(num_subjects=2, clips_per_subject=3)
    c.pretrain.num_epochs = 1
    c.train.update(num_epochs=1, progress_bar=False)
  if variant == "tiny":
    c.data.synthetic.update(num_subjects=4, clips_per_subject=4, image_size=32)
    c.data.recipe.update(image_size=32, flow_size=16, window=9, grid=2)
    c.augment.max_shift_px = 2
    c.model.lstm_features = (8,)
    c.protocol.update(name="subject_kfold", k=2, folds_in_parallel=2)
    c.pretrain.update(image_size=32, num_epochs=1, batch_size=4)
    c.pretrain.augment.max_shift_px = 2
    c.pretrain.synthetic.update(num_subjects=2, clips_per_subject=4, image_size=32)
    c.train.update(num_epochs=2, batch_size=4, progress_bar=False)
    c.eval.batch_size = 4
