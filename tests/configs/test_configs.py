"""Every config file loads in every variant and has the stable sections (style.md 3)."""

import pathlib

import pytest

from mer_jax import config_files, models
from mer_jax.baselines import svm
from mer_jax.data import labels
from mer_jax.preprocess import recipes
from mer_jax.train import selection

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[2] / "configs").glob("*.py"))
SECTIONS = ("seed", "data", "protocol", "model_name", "model", "optim", "schedule", "train",
            "eval")
BASELINES = ("lbp_top", "hoof")  # An SVM on descriptors: no model, optimiser or training.
BASELINE_SECTIONS = ("seed", "data", "protocol", "classifier", "eval")


def load(path: pathlib.Path, variant: str | None):
  return config_files.load_config(str(path), variant)


def test_there_are_configs():
  assert CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("variant", [None, "demo", "smoke"])
def test_config_loads_with_known_names(path, variant):
  c = load(path, variant)
  baseline = path.stem in BASELINES
  for section in BASELINE_SECTIONS if baseline else SECTIONS:
    assert section in c, f"{path.name}:{variant} lacks config.{section}"
  if baseline:
    assert c.classifier.kernel in svm.KERNELS
  else:
    assert c.model_name in models.MODELS
    assert c.train.selection in selection.MODES
  assert c.data.recipe.name in recipes.RECIPES
  assert c.data.label_scheme in labels.SCHEMES
  assert "synthetic" in c.data.roots  # Every dataset root is a field to override.


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_demo_and_smoke_use_the_built_in_data_and_paper_does_not_select_on_test(path):
  for variant in ("demo", "smoke"):
    assert load(path, variant).data.datasets == ("synthetic",)
  if path.stem not in BASELINES:
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


def test_atnet_paper_settings_streams_and_tables(repo_root):
  from mer_jax import sweep
  path = repo_root / "configs" / "atnet.py"
  cde = load(path, None)
  assert cde.data.datasets == ("casme2", "samm", "smic") and cde.data.label_scheme == "megc2019"
  assert cde.protocol.name == "loso" and cde.train.num_epochs == 50
  assert (cde.optim.momentum, cde.optim.weight_decay) == (0.9, 5e-6)
  assert (cde.schedule.base_lr, cde.schedule.factor, cde.schedule.every_epochs) == (0.01, 0.1, 10)
  assert (cde.augment.max_degrees, cde.augment.max_shift_px, cde.augment.prob) == (5.0, 10, 0.5)
  assert cde.model.lstm_features == (512, 512) and cde.model.dropout_rate == 0.5
  assert (cde.data.recipe.image_size, cde.data.recipe.window, cde.data.recipe.grid) == (224, 65, 8)
  runs = sweep.runs(cde)
  assert list(runs) == ["spatial", "temporal", "fusion"]
  assert runs["temporal"].model.stream == "temporal" and runs["temporal"].pretrained.kind == ""
  assert runs["fusion"].pretrained.kind == "resnet10_cvgj_gray" and not runs["fusion"].sweep.runs
  assert cde.eval.paper_table["ATNet fusion (paper)"]["all"].to_dict() == {
      "accuracy": 0.693, "uf1": 0.631, "uar": 0.613}
  assert cde.eval.paper_table["ATNet fusion (paper)"]["samm"]["uf1"] == 0.496
  hde = load(path, "hde,fusion")
  assert hde.protocol.name == "leave_one_dataset_out" and not sweep.runs(hde)
  assert hde.model.stream == "fusion"
  assert hde.eval.paper_table["ATNet temporal (paper)"]["casme2"].to_dict() == {
      "uf1": 0.631, "uar": 0.643}
  assert load(path, "demo").pretrain.source == "synthetic"


def test_r3d_convlstm_ae_paper_settings(repo_root):
  path = repo_root / "configs" / "r3d_convlstm_ae.py"
  loso = load(path, None)
  assert loso.data.datasets == ("smic", "smic_vis", "casme", "casme2", "casme_sq", "samm")
  assert loso.data.label_scheme == "islam_3" and loso.protocol.name == "loso"
  assert (loso.data.recipe.image_size, loso.data.recipe.num_frames) == (64, 12)
  assert loso.augment.name == "flip_rotate" and loso.augment.degrees == 8.0
  assert (loso.optim.name, loso.schedule.base_lr, loso.train.batch_size) == ("adam", 1e-3, 64)
  assert (loso.train.selection, loso.train.patience) == ("val_loss", 8)
  assert (loso.train.balance, loso.train.class_weights) == ("sampler", "balanced")
  assert loso.pretrained.kind == "torchvision_r3d_18" and loso.pretrained.into == ("backbone",)
  assert loso.eval.paper_rows["Ours (paper, Table 3, LOSO)"].to_dict() == dict(
      accuracy=0.973, uar=0.971, uf1=0.966)
  strat = load(path, "stratified5")
  assert (strat.protocol.name, strat.protocol.k) == ("stratified_kfold", 5)


def test_baseline_configs_run_the_papers_settings_beside_their_rows(repo_root):
  lbp = repo_root / "configs" / "lbp_top.py"
  cde = load(lbp, "megc2019_cde")
  assert cde.classifier.kernel == "poly" and cde.classifier.degree == 2
  assert cde.data.recipe.window == 65 and cde.data.label_scheme == "megc2019"
  assert [name for name, _ in cde.sweep.runs] == ["p4_tim10", "p8_tim10", "p4_tim64", "p8_tim64"]
  assert sorted(cde.eval.paper_table) == sorted(
      f"LBP-TOP {{3,3,3,{p}}} TIM={t} (paper)" for p in (4, 8) for t in (10, 64))
  one = load(lbp, "megc2019_hde,p8,tim64")
  assert not one.sweep.runs and one.protocol.name == "leave_one_dataset_out"
  assert (one.data.recipe.points, one.data.recipe.num_frames) == (8, 64)
  casme2 = load(lbp, None)
  assert casme2.classifier.kernel == "linear" and casme2.classifier.C == 1e4
  assert casme2.data.recipe.window == 0 and "LBP-TOP (ELRCN Table I)" in casme2.eval.paper_rows
  hoof = load(repo_root / "configs" / "hoof.py", "megc2019_cde,n4")
  assert hoof.data.recipe.name == "hoof" and "points" not in hoof.data.recipe
  assert [name for name, _ in hoof.sweep.runs] == ["n4_tim10", "n4_tim64"]
  assert all(row.startswith("HOOF") for row in hoof.eval.paper_table)
  hde = load(repo_root / "configs" / "hoof.py", "megc2018_hde")
  assert hde.data.to_dict()["datasets"] == ("casme2", "samm") and hde.eval.fold_mean_row
  assert "HOOF (ELRCN Table III, MEGC 2018 organisers)" in hde.eval.paper_rows


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_built_in_variants_check_no_manifest(path):
  """The demos run on the built-in data: no published protocol's counts apply."""
  for variant in ("demo", "smoke"):
    assert load(path, variant).data.manifest == ""


@pytest.mark.parametrize("name, variant, manifest", [
    ("lbp_top", "megc2019_cde,p4,tim10", "megc2019"), ("hoof", "megc2019_hde,n8,tim10", "megc2019"),
    ("atnet", "cde", "megc2019"), ("atnet", "hde", "megc2019"),
    ("lbp_top", "megc2018_cde,p4,tim10", "megc2018"), ("elrcn_se", "cde", "megc2018"),
    ("elrcn_te", "hde", "megc2018"), ("elrcn_se", None, "casme2_5"),
    ("lbp_top", None, "casme2_5"), ("elrcn_temporal_only", None, "casme2_5")])
def test_paper_protocols_keep_their_clips_and_crop_every_face(repo_root, name, variant, manifest):
  """Each paper protocol names its manifest, finds faces on every source, reads either SMIC tree."""
  c = load(repo_root / "configs" / f"{name}.py", variant)
  assert c.data.manifest == manifest and c.data.allow_missing is False
  if c.data.recipe.name != "pixels":  # ELRCN's temporal-only input is CASME II's crops only
    assert c.data.recipe.face == "haar"  # the face step: crops as they are, whole frames detected
  assert c.data.adapter_options.smic.frames == "auto"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_takes_compare_runs_and_trained_ones_fail_on_untrained_folds(path):
  config = load(path, None)
  assert tuple(config.eval.compare_runs) == ()
  if "train" in config:  # The SVM baselines train no network.
    assert config.train.untrained_folds == "fail"
