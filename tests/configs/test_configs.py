"""Every config file loads in every variant and has the stable sections (style.md 3)."""

import pathlib

import pytest

from mer_jax import config_files, models
from mer_jax.data import labels
from mer_jax.preprocess import recipes
from mer_jax.train import selection

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[2] / "configs").glob("*.py"))
SECTIONS = ("seed", "data", "protocol", "model_name", "model", "optim", "schedule", "train",
            "eval")


def load(path: pathlib.Path, variant: str | None):
  return config_files.load_config(str(path), variant)


def test_there_are_configs():
  assert CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("variant", [None, "demo", "smoke"])
def test_config_loads_with_known_names(path, variant):
  c = load(path, variant)
  for section in SECTIONS:
    assert section in c, f"{path.name}:{variant} lacks config.{section}"
  assert c.model_name in models.MODELS
  assert c.data.recipe.name in recipes.RECIPES
  assert c.data.label_scheme in labels.SCHEMES
  assert c.train.selection in selection.MODES
  assert "synthetic" in c.data.roots  # Every dataset root is a field to override.


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_demo_and_smoke_use_the_built_in_data_and_paper_does_not_select_on_test(path):
  for variant in ("demo", "smoke"):
    assert load(path, variant).data.datasets == ("synthetic",)
  assert load(path, None).train.selection != "oracle"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_unknown_variant_is_an_error(path):
  with pytest.raises(ValueError, match="unknown variant"):
    load(path, "no_such_variant")


def test_elrcn_ablation_studies(repo_root):
  path = repo_root / "configs" / "elrcn_ablation.py"
  spatial = load(path, "spatial_only")
  assert spatial.model_name == "elrcn_spatial_only" and "lstm_features" not in spatial.model
  assert spatial.data.recipe.channels == ("flow",)
  fc6 = load(path, "flow_fc6")
  assert fc6.model.feature_layer == "fc6" and fc6.model.lstm_features == (3000, 1024)
  assert load(path, "flow_fc7").model.feature_layer == "fc7"
  sizes = load(path, "lstm,lstm=1024-512")
  assert sizes.model.lstm_features == (1024, 512)
  assert sizes.data.recipe.channels == ("flow", "strain", "gray")
  demo = load(path, "flow_fc6,demo")
  assert demo.data.datasets == ("synthetic",) and demo.model.feature_layer == "fc6"
  for bad in ("lstm=big", "spatial_only,lstm=10", "fc9"):
    with pytest.raises(ValueError, match="unknown variant"):
      load(path, bad)


def test_elrcn_te_builds_on_se_with_vgg_face(repo_root):
  se = load(repo_root / "configs" / "elrcn_se.py", None)
  te = load(repo_root / "configs" / "elrcn_te.py", None)
  assert te.data.to_dict() == se.data.to_dict()  # Same input stack.
  assert te.pretrained.kind == "vgg_face_dag" and len(te.pretrained.into) == 3
  assert te.model.gray_mean_rgb is not None and se.model_name == "elrcn_se"
  assert "ELRCN-TE (paper, Table I)" in te.eval.paper_rows
  assert load(repo_root / "configs" / "elrcn_te.py", "demo").pretrained.kind == ""
  hde = load(repo_root / "configs" / "elrcn_se.py", "hde")
  assert hde.protocol.name == "leave_one_dataset_out" and hde.eval.fold_mean_row
  assert hde.data.datasets == ("casme2", "samm") and hde.data.label_scheme == "objective_5"


def test_mer_rcnn_paper_settings_and_variants(repo_root):
  path = repo_root / "configs" / "mer_rcnn.py"
  paper = load(path, None)
  assert paper.data.datasets == ("casme2",) and paper.data.label_scheme == "mer_rcnn_4"
  assert paper.protocol.name == "kfold" and paper.protocol.k == 5
  assert paper.augment.name == "temporal_jitter" and paper.augment.num_frames == 30
  assert len(paper.augment.ratios) * len(paper.augment.kernels) == 48
  assert dict(paper.optim) == {"name": "sgd", "momentum": 0.9, "weight_decay": 5e-4}
  assert paper.schedule.base_lr == 1e-3 and paper.schedule.factor == 0.5
  assert paper.schedule.every_epochs == 1 and paper.train.batch_size == 64
  assert paper.train.selection == "last"
  rows = paper.eval.paper_rows.to_dict()
  assert rows["MER-RCNN (paper, Table 2)"] == {"accuracy": 0.658}
  assert load(path, "casme").eval.paper_rows["MER-RCNN (paper, Table 2)"]["accuracy"] == 0.632
  smic = load(path, "smic")
  assert smic.data.label_scheme == "three_class"
  assert smic.eval.paper_rows["MER-RCNN (paper, Table 2)"]["accuracy"] == 0.571
  assert smic.data.adapter_options.smic.frames == "cropped"
  independent = load(path, "casme2_by_subject")
  assert independent.protocol.name == "subject_kfold"
  assert independent.data.datasets == ("casme2",)
