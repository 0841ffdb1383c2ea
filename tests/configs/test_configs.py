"""Every config file loads in every variant and has the stable sections (style.md 3)."""

import importlib.util
import pathlib

import pytest

from mer_jax import models
from mer_jax.data import labels
from mer_jax.preprocess import recipes
from mer_jax.train import selection

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[2] / "configs").glob("*.py"))
SECTIONS = ("seed", "data", "protocol", "model_name", "model", "optim", "schedule", "train",
            "eval")


def load(path: pathlib.Path, variant: str | None):
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(variant)


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
