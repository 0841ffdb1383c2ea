"""Recipe fields are checked before any clip is read: one error naming field, value, fix."""

import re

import ml_collections
import numpy as np
import pytest

from mer_jax import config_files, prepare
from mer_jax.data import builders, pipeline
from mer_jax.errors import ConfigError
from mer_jax.preprocess import recipe_outputs, recipes

CLIP = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), np.uint8)
# A valid recipe of each kind, small enough to run (face 'none': no detector).
GOOD = {
    "pixels": dict(name="pixels", image_size=8, num_frames=4, grayscale=True,
                   temporal="linear", subtract_onset=False),
    "elrcn_stack": dict(name="elrcn_stack", face="none", image_size=8, num_frames=2,
                        temporal="linear", channels=("flow", "strain", "gray")),
    "mer_rcnn": dict(name="mer_rcnn", image_size=8, center_crop=0.8, alpha=10.0, low=0.05,
                     high=0.4, max_frames=8),
    "islam": dict(name="islam", image_size=8, num_frames=4, face="none", subtract_onset=False),
    "atnet": dict(name="atnet", face="none", image_size=8, flow_size=8, window=5, grid=2,
                  pad="front", layout="interleaved", flow="opencv_tvl1"),
    "lbp_top": dict(name="lbp_top", face="none", image_size=16, window=0, num_frames=4,
                    temporal="linear", grid=(2, 2), radii=(1, 1, 1), points=4,
                    mapping="nri_uniform"),
    "hoof": dict(name="hoof", face="none", image_size=16, window=0, num_frames=4,
                 temporal="linear", grid=(2, 2), bins=4, binning="full", flow="opencv_tvl1"),
}
POSITIVE = "a positive integer ("
# (recipe, field, bad value, the start of what the message says is expected)
BAD = [
    ("pixels", "image_size", 0, POSITIVE + "pixels of the square frame)"),
    ("pixels", "image_size", "big", POSITIVE),
    ("pixels", "image_size", 8.0, POSITIVE),
    ("pixels", "image_size", True, POSITIVE),
    ("pixels", "num_frames", 0, POSITIVE + "frames per clip)"),
    ("pixels", "grayscale", "yes", "True or False"),
    ("pixels", "temporal", "cubic", "one of ('tim', 'linear')"),
    ("pixels", "subtract_onset", 1, "True or False"),
    ("elrcn_stack", "face", "Haar", "one of ('none', 'haar', 'dlib')"),
    ("elrcn_stack", "image_size", -1, POSITIVE),
    ("elrcn_stack", "num_frames", 0, POSITIVE),
    ("elrcn_stack", "temporal", "nearest", "one of ('tim', 'linear')"),
    ("elrcn_stack", "channels", (), "a non-empty selection of ('flow', 'strain', 'gray')"),
    ("elrcn_stack", "channels", ("depth",), "a non-empty selection"),
    ("elrcn_stack", "channels", "flow", "a non-empty selection"),
    ("mer_rcnn", "image_size", 0, POSITIVE),
    ("mer_rcnn", "center_crop", 0, "a number in (0, 1]"),
    ("mer_rcnn", "center_crop", 1.5, "a number in (0, 1]"),
    ("mer_rcnn", "alpha", -1.0, "a number >= 0"),
    ("mer_rcnn", "alpha", float("nan"), "a number >= 0"),
    ("mer_rcnn", "low", 0.0, "a number in (0, 1) (EVM's low cut-off"),
    ("mer_rcnn", "low", 1, "a number in (0, 1)"),
    ("mer_rcnn", "high", 1.2, "a number in (0, 1] (EVM's high cut-off"),
    ("mer_rcnn", "high", "0.4", "a number in (0, 1]"),
    ("mer_rcnn", "max_frames", 0, POSITIVE),
    ("islam", "image_size", 0, POSITIVE),
    ("islam", "num_frames", 0, POSITIVE),
    ("islam", "face", "mtcnn", "one of ('none', 'haar', 'dlib')"),
    ("islam", "subtract_onset", "no", "True or False"),
    ("atnet", "face", "", "one of ('none', 'haar', 'dlib')"),
    ("atnet", "image_size", 0, POSITIVE),
    ("atnet", "flow_size", 0, POSITIVE),
    ("atnet", "window", 1, "an integer >= 2"),
    ("atnet", "grid", 0, POSITIVE + "ADM blocks per side)"),
    ("atnet", "grid", (2, 2), POSITIVE),
    ("atnet", "pad", "zeros", "one of ('front', 'edge')"),
    ("atnet", "layout", "rows", "one of ('interleaved', 'split')"),
    ("atnet", "flow", "farneback", "one of ('tvl1', 'opencv_tvl1')"),
    ("lbp_top", "face", "none ", "one of ('none', 'haar', 'dlib')"),
    ("lbp_top", "image_size", 0, POSITIVE),
    ("lbp_top", "window", -1, "an integer >= 0"),
    ("lbp_top", "num_frames", 0, POSITIVE),
    ("lbp_top", "temporal", "", "one of ('tim', 'linear')"),
    ("lbp_top", "grid", 0, "a block count n >= 1 or (rows, cols)"),
    ("lbp_top", "grid", (2, 0), "a block count"),
    ("lbp_top", "grid", (1, 2, 3), "a block count"),
    ("lbp_top", "radii", (3, 3), "3 radii > 0"),
    ("lbp_top", "radii", (0, 1, 1), "3 radii > 0"),
    ("lbp_top", "points", 0, POSITIVE),
    ("lbp_top", "mapping", "ror", "one of ('nri_uniform', 'uniform', 'default')"),
    ("hoof", "face", None, "one of ('none', 'haar', 'dlib')"),
    ("hoof", "image_size", 0, POSITIVE),
    ("hoof", "window", 2.5, "an integer >= 0"),
    ("hoof", "num_frames", 1, "an integer >= 2"),
    ("hoof", "temporal", "tim ", "one of ('tim', 'linear')"),
    ("hoof", "grid", "5", "a block count"),
    ("hoof", "bins", 0, POSITIVE),
    ("hoof", "binning", "half", "one of ('full', 'mirror')"),
    ("hoof", "flow", "tvl2", "one of ('tvl1', 'opencv_tvl1')"),
]


def message_start(field, value, expected):
  return re.escape(f"config.data.recipe.{field}={value!r}: expected {expected}")


@pytest.mark.parametrize("name, field, value, expected", BAD,
                         ids=[f"{n}.{f}={v!r}" for n, f, v, _ in BAD])
def test_a_bad_value_is_named_before_the_recipe_runs(name, field, value, expected):
  with pytest.raises(ConfigError, match=message_start(field, value, expected)):
    recipes.run(CLIP, {**GOOD[name], field: value})


def test_the_message_is_one_line_with_the_fix():
  with pytest.raises(ConfigError) as e:
    recipes.run(CLIP, {**GOOD["pixels"], "image_size": 0})
  assert str(e.value) == ("config.data.recipe.image_size=0: expected a positive integer "
                          "(pixels of the square frame); set it to e.g. 50")


def test_every_field_of_every_recipe_has_a_check_and_a_bad_case():
  from mer_jax.preprocess import recipe_fields
  assert set(recipe_fields.FIELDS) == set(recipes.RECIPES) == set(GOOD)
  for name, fields in recipe_fields.FIELDS.items():
    assert set(GOOD[name]) - {"name"} == set(fields), name
    assert {f for n, f, _, _ in BAD if n == name} == set(fields), name
    for field, spec in fields.items():  # each example is a value the field accepts
      recipes.check_config({**GOOD[name], field: spec.example})
  # Its known values are the recipes' own.
  assert recipe_fields.FLOWS == recipes.ATNET_FLOWS
  assert recipe_fields.CHANNELS == tuple(recipe_outputs.ELRCN_CHANNEL_WIDTHS)


@pytest.mark.parametrize("name, fields, message", [
    ("mer_rcnn", {"low": 0.4, "high": 0.05},
     "config.data.recipe.low=0.4 and config.data.recipe.high=0.05: expected low < high "
     "(EVM's pass band); e.g. low=0.05, high=0.4"),
    ("atnet", {"grid": 16, "flow_size": 8},
     "config.data.recipe.grid=16 and config.data.recipe.flow_size=8: expected grid <= "
     "flow_size (every ADM block needs a pixel); e.g. grid=8, flow_size=224"),
])
def test_fields_that_must_agree(name, fields, message):
  with pytest.raises(ConfigError, match=re.escape(message)):
    recipes.run(CLIP, {**GOOD[name], **fields})


def test_an_unknown_field_names_the_known_ones():
  with pytest.raises(ConfigError, match=re.escape(
      "config.data.recipe: recipe 'pixels' has no field(s) ['face']; its fields are "
      "['grayscale', 'image_size', 'num_frames', 'subtract_onset', 'temporal']")):
    recipes.run(CLIP, {**GOOD["pixels"], "face": "haar"})


def test_a_missing_field_is_named_with_a_value_to_add():
  recipe = {k: v for k, v in GOOD["lbp_top"].items() if k != "mapping"}
  with pytest.raises(ConfigError, match=re.escape(
      "config.data.recipe: recipe 'lbp_top' needs the field(s) ['mapping']; add them, "
      "e.g. mapping='nri_uniform'")):
    recipes.run(CLIP, recipe)


@pytest.mark.parametrize("name, field", [("islam", "subtract_onset"), ("elrcn_stack", "face"),
                                         ("atnet", "face")])
def test_fields_added_later_may_be_absent(name, field):
  """Runs made before these fields existed still predict (the recipe reads a default)."""
  recipes.check_config({k: v for k, v in GOOD[name].items() if k != field})


def test_config_dicts_lists_and_numpy_integers_are_accepted():
  recipes.check_config(ml_collections.ConfigDict(GOOD["elrcn_stack"]))
  recipes.check_config({**GOOD["lbp_top"], "grid": [2, 3], "radii": [1, 1.5, 1],
                        "points": np.int64(8)})  # as read back from a run's config.json
  with pytest.raises(ConfigError, match=re.escape("config.data.recipe.num_frames=0:")):
    recipes.check_config(ml_collections.ConfigDict({**GOOD["islam"], "num_frames": 0}))
  with pytest.raises(ConfigError, match="is not a recipe"):
    recipes.check_config({"name": "pixel"})


def _variants(path):
  """Every variant a config file ships: its default and the names it lists."""
  module = config_files.load_module(str(path))
  names = [None, "demo", "smoke", "tiny"]
  for attr in ("VARIANTS", "PROTOCOLS", "SIZES", "STUDIES"):
    names += list(getattr(module, attr, ()))
  return list(dict.fromkeys(names))


def test_every_shipped_config_and_default_passes(repo_root):
  checked = 0
  for path in sorted((repo_root / "configs").glob("*.py")):
    for variant in _variants(path):
      try:
        c = config_files.load_config(str(path), variant)
      except ValueError:  # not a variant of this file
        continue
      recipes.check_config(c.data.recipe)
      for _, fields in c.get("sweep", {}).get("runs", ()):  # the sweeps' settings too
        recipe = c.data.recipe.to_dict()
        recipe.update({f.split(".")[-1]: v for f, v in fields if f.startswith("data.recipe.")})
        recipes.check_config(recipe)
      checked += 1
  assert checked >= 30
  for name, defaults in prepare.RECIPE_DEFAULTS.items():
    assert prepare.recipe_config(name, {}) == {"name": name, **defaults}


def test_prepare_names_the_override():
  with pytest.raises(ConfigError, match=re.escape(
      "--recipe_overrides image_size='big': expected a positive integer (pixels of the "
      "square frame); set it to e.g. 50")):
    prepare.recipe_config("pixels", {"image_size": "big"})
  with pytest.raises(ConfigError, match=re.escape(
      "--recipe_overrides: recipe 'hoof' needs the field(s) ['binning', 'bins', 'face'")):
    prepare.recipe_config("hoof", {"flow": "tvl1"})


def _no_clip_read(*args, **kwargs):
  raise AssertionError("a clip was read before the recipe was checked")


def test_prepare_with_a_config_checks_before_preparing(monkeypatch, tmp_path):
  monkeypatch.setattr(builders, "prepare", _no_clip_read)
  config = ml_collections.ConfigDict({"data": {
      "cache_dir": str(tmp_path), "datasets": ("casme2",), "roots": {"casme2": str(tmp_path)},
      "adapter_options": {}, "apex": "annotated",
      "recipe": {**GOOD["atnet"], "window": 0}}})
  with pytest.raises(ConfigError, match=message_start("window", 0, "an integer >= 2")):
    prepare.run_config(config)


def test_the_pipeline_checks_before_loading_a_dataset(monkeypatch):
  monkeypatch.setattr(pipeline, "load_inputs", _no_clip_read)
  cfg = {"datasets": ("synthetic",), "roots": {"synthetic": ""}, "label_scheme": "three_class",
         "apex": "annotated", "recipe": {**GOOD["mer_rcnn"], "center_crop": 0.0},
         "synthetic": {"num_subjects": 2, "clips_per_subject": 2, "image_size": 16}}
  with pytest.raises(ConfigError, match=message_start("center_crop", 0.0, "a number in (0, 1]")):
    pipeline.load_experiment_data(cfg)


def test_main_prints_one_line_naming_the_field(repo_root, tmp_path):
  from test_main import SMOKE, run_main  # tests/ (the folder of conftest.py) is on sys.path
  out = run_main(repo_root, SMOKE, f"--workdir={tmp_path / 'run'}",
                 "--config.data.recipe.image_size=0")
  assert out.returncode == 2, out.stderr[-3000:]
  assert "Traceback" not in out.stderr
  assert out.stderr.splitlines()[-1:] == [
      "mer_jax: error: config.data.recipe.image_size=0: expected a positive integer (pixels "
      "of the square frame); set it to e.g. 50"]
