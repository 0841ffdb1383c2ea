r"""LBP-TOP + SVM, the baseline of ELRCN (Khor et al. 2018) and ATNet (Peng et al. 2019).

LBP-TOP (Zhao and Pietikainen 2007): uniform LBP codes on the XY, XT and YT
planes of a grey face clip brought to TIM frames, histogrammed per plane
over a 5 x 5 block grid and concatenated; an SVM on the descriptors,
standardised on each training fold. The protocols are the papers':
  ''/'casme2'     CASME II, leave-one-subject-out, 5 classes: ELRCN Table I.
  'megc2018_cde'  CASME II + SAMM, objective classes I-V, LOSO over 47 subjects: ELRCN Table II.
  'megc2018_hde'  the same, train on one corpus and test on the other: ELRCN Table III.
  'megc2019_cde'  CASME II + SAMM + SMIC, 3 classes, LOSO over 68 subjects: ATNet Table II.
  'megc2019_hde'  the same, train on two corpora and test on the third: ATNet Table III.
ELRCN's protocols use its linear SVM (C = 1e4) on the whole clip; ATNet's
its polynomial SVM (degree 2) on the 65 frames around the apex. Each run
computes ATNet's four settings, {R_XY, R_XT, R_YT, P} = {3,3,3,4} and
{3,3,3,8} at TIM 10 and 64, one after the other (`config.sweep`), and
prints them beside the paper's rows (runs p4_tim10, p8_tim10, p4_tim64,
p8_tim64); add ',p4' or ',p8' and ',tim10' or ',tim64' to the variant to
run one setting ('megc2019_cde,p4,tim10').

  python -m mer_jax.main --config=configs/lbp_top.py:megc2019_cde \
      --config.data.roots.casme2=/data/CASME2 --config.data.roots.samm=/data/SAMM \
      --config.data.roots.smic=/data/SMIC --workdir=runs/lbp_top_cde

Sizes: 'demo' (the built-in data, the protocol of the README's first demo,
so its report can sit beside that run: --config.eval.compare_runs=runs/demo;
{3,3,3,4} at TIM 10 unless told otherwise; seconds), 'smoke' (the papers'
sizes, 128 x 128 faces, {3,3,3,8} at TIM 64, on a few built-in clips) and
'tiny' (the test suite).
"""

import ml_collections

from mer_jax import config_files
from mer_jax.baselines import svm
from mer_jax.data import datasets

PROTOCOLS = ("casme2", "megc2018_cde", "megc2018_hde", "megc2019_cde", "megc2019_hde")
SIZES = ("demo", "smoke", "tiny")
POINTS = {"p4": 4, "p8": 8}
FRAMES = {"tim10": 10, "tim64": 64}

# ELRCN's "LBP-TOP (reproduced)" rows; 'legacy_elrcn_f1' is its "F1" (BUILD_NOTES.md).
ELRCN_ROWS = {
    "casme2": {"LBP-TOP (ELRCN Table I)": dict(legacy_elrcn_f1=0.2941, uar=0.3094,
                                               accuracy=0.4595)},
    "megc2018_cde": {"LBP-TOP (ELRCN Table II)": dict(legacy_elrcn_f1=0.3172, uar=0.3224,
                                                      accuracy=0.4229)},
    "megc2018_hde": {"LBP-TOP (ELRCN Table III, reproduced)": dict(
        legacy_elrcn_f1=0.2162, uar=0.2179, accuracy=0.3891),
                     "LBP-TOP (ELRCN Table III, MEGC 2018 organisers)": dict(
                         uar=0.322, accuracy=0.285)},
}


def paper_table(protocol: str, method: str) -> dict:
  """The paper's rows of `method` ('LBP-TOP' or 'HOOF') in the `{row: {set: {metric}}}` grid."""
  if protocol.startswith("megc2019"):
    atnet = config_files.sibling(__file__, "atnet", protocol.split("_")[1])
    return {row: sets for row, sets in atnet.eval.paper_table.to_dict().items()
            if row.startswith(method)}
  return {}


def parse(arg: str | None) -> tuple[str, dict[str, str]]:
  """'megc2019_cde,p8,tim64' -> ('megc2019_cde', {'points': 'p8', 'frames': 'tim64'})."""
  found = config_files.parse_variant(
      arg, {"protocol": PROTOCOLS + SIZES, "points": tuple(POINTS), "frames": tuple(FRAMES)},
      defaults={"protocol": "casme2"})
  protocol = found.pop("protocol")
  return protocol, {k: v for k, v in found.items() if v is not None}


def setting_runs(setting: dict[str, str]) -> tuple:
  """The sweep over the settings `setting` leaves open (P, then TIM), paper order."""
  points = [setting["points"]] if "points" in setting else list(POINTS)
  frames = [setting["frames"]] if "frames" in setting else list(FRAMES)
  return tuple((f"{p}_{t}", (("data.recipe.points", POINTS[p]),
                              ("data.recipe.num_frames", FRAMES[t])))
               for t in frames for p in points)


def base_config(protocol: str) -> ml_collections.ConfigDict:
  """Data, protocol, classifier and report of `protocol` (shared with configs/hoof.py)."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.data = ml_collections.ConfigDict(datasets.default_data_config())
  c.data.apex = "annotated"  # SMIC marks no apex: its clips take the middle frame.
  # SMIC_all_cropped when present (the MEGC 2019 distribution), else SMIC_all_raw.
  c.data.adapter_options.smic.frames = "auto"
  c.protocol = dict(name="loso", k=5, folds_in_parallel=1,
                    fold_strategy="auto")
  atnet = protocol.startswith("megc2019")
  c.classifier = svm.default_config("poly" if atnet else "linear")
  c.eval = dict(batch_size=16, paper_rows={}, fold_mean_row=protocol.endswith("hde"),
                row_name="", paper_table={}, compare_runs=())
  c.sweep = dict(runs=())
  # The clip every descriptor reads (recipes.descriptor_clip): the face of the
  # face step (data/faces.py: official crops as they are, whole frames detected)
  # at 128 x 128 (the papers do not give their crop).
  c.data.recipe = dict(face="haar", image_size=128, window=65 if atnet else 0,
                       num_frames=10, temporal="tim", grid=(5, 5))
  # Each published protocol's clip counts are checked (data/manifests.py).
  if protocol == "casme2":
    c.data.datasets, c.data.label_scheme, c.data.manifest = ("casme2",), "casme2_5", "casme2_5"
  elif protocol.startswith("megc2018"):
    c.data.datasets, c.data.label_scheme = ("casme2", "samm"), "objective_5"
    c.data.manifest = "megc2018"
  elif atnet:
    c.data.datasets, c.data.label_scheme = ("casme2", "samm", "smic"), "megc2019"
    c.data.manifest = "megc2019"
  if protocol.endswith("hde"):
    c.protocol.name = "leave_one_dataset_out"
  if protocol in SIZES:
    c.data.datasets, c.data.label_scheme = ("synthetic",), "three_class"
    c.data.manifest = ""
    c.data.recipe.update(face="none", image_size=64)
    # ELRCN's linear SVM, as the README's demo is ELRCN's protocol; the polynomial
    # one with LIBSVM's defaults predicts the majority class there (BUILD_NOTES.md).
    c.classifier = svm.default_config("linear")
  if protocol == "smoke":
    c.data.synthetic.update(num_subjects=3, clips_per_subject=3)
    c.data.recipe.image_size = 128
    c.protocol.update(name="subject_kfold", k=3)
  if protocol == "tiny":
    c.data.synthetic.update(num_subjects=4, clips_per_subject=6, image_size=32)
    c.data.recipe.update(image_size=32, grid=(2, 2))
    c.protocol.update(name="subject_kfold", k=2)
  return c


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  protocol, setting = parse(arg)
  c = base_config(protocol)
  c.data.recipe.update(name="lbp_top", radii=(3, 3, 3), points=4, mapping="nri_uniform")
  c.eval.paper_rows = ELRCN_ROWS.get(protocol, {})
  c.eval.paper_table = paper_table(protocol, "LBP-TOP")
  if protocol in SIZES:
    largest = {"points": "p8", "frames": "tim64"}
    setting = {**(largest if protocol == "smoke" else {"points": "p4", "frames": "tim10"}),
               **setting}
  c.sweep.runs = setting_runs(setting)
  one_run(c, "LBP-TOP")
  return c


def one_run(c: ml_collections.ConfigDict, method: str) -> None:
  """A sweep of one setting becomes a plain run with that setting."""
  if len(c.sweep.runs) != 1:
    return
  (name, fields), = c.sweep.runs
  for field, value in fields:
    c.data.recipe[field.split(".")[-1]] = value
  c.sweep.runs, c.eval.row_name = (), f"{method} {name} (ours)"
