"""The model families the benchmarks compare, at three sizes, built from their real configs.

A `Family` names a config file and the variants that give its sizes:
  paper  the paper's model and input (`''`: the config as published);
  small  the `:demo` variant's model and input (what runs on a CPU in minutes);
  tiny   the `:tiny` variant's (the test suite's; `--only smoke`).
`setup(family, size)` loads that config and builds what a benchmark needs:
the Flax model (`mer_jax.models.get` with the config's `model` section),
the optax optimiser (`train.optim.make_optimizer` with the config's
`optim` and `schedule`), the batch size and the shapes of one clip's model
input, from what the recipe declares it stores and the augmentation
(`input_shapes`), so that nothing is preprocessed. Memory levers
(`model.remat`, `train.microbatches`) are kept only where asked (`levers=True`, the memory benchmark): speed comparisons
run the plain step on both sides.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import jax
import ml_collections
import numpy as np

from mer_jax import config_files, models
from mer_jax.data import labels
from mer_jax.preprocess import recipe_outputs
from mer_jax.train import augmentation, optim

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
SIZES = ("paper", "small", "tiny")


@dataclasses.dataclass(frozen=True)
class Family:
  """A model family: its config file and the variant of each size.

  cpu_batch: the batch of the paper size on a CPU backend (the paper's batch
    of full-size clips takes minutes a step on a few cores); both frameworks
    get the same one, and the result says which batch ran.
  """

  name: str
  config: str
  paper: str
  small: str
  tiny: str
  cpu_batch: int


FAMILIES = {f.name: f for f in (
    Family("elrcn_se", "elrcn_se.py", "", "demo", "tiny", cpu_batch=1),
    Family("elrcn_temporal_only", "elrcn_temporal_only.py", "", "demo", "smoke", cpu_batch=32),
    Family("mer_rcnn", "mer_rcnn.py", "", "demo", "tiny", cpu_batch=8),
    Family("atnet", "atnet.py", "", "demo", "tiny", cpu_batch=16),
    Family("r3d_convlstm_ae", "r3d_convlstm_ae.py", "", "demo", "tiny", cpu_batch=4),
)}


@dataclasses.dataclass
class Setup:
  """One family at one size, ready to benchmark."""

  family: Family
  size: str
  config: ml_collections.ConfigDict
  model: Any
  tx: Any
  num_classes: int
  batch_size: int
  shapes: dict[str, tuple[int, ...]]   # one clip's model input: name -> shape
  microbatches: int = 1

  @property
  def label(self) -> str:
    dtype = self.config.model.get("dtype", "float32")
    return f"{self.family.name}:{self.size}" + ("" if dtype == "float32" else f" {dtype}")


def load_config(family: Family, size: str) -> ml_collections.ConfigDict:
  """The config of `family` at `size` (one of SIZES)."""
  variant = getattr(family, size)
  return config_files.load_config(os.path.join(CONFIG_DIR, family.config), variant or None)


def input_shapes(config: ml_collections.ConfigDict) -> dict[str, tuple[int, ...]]:
  """One clip's model input, name -> shape: what the recipe declares it stores
  (preprocess/recipe_outputs.py) as the config's augmentation gives it to the model.

  'frames' alone means the model takes an array; several names, a dict.
  """
  stored = recipe_outputs.output_spec(config.data.recipe.to_dict())
  one = {name: jax.ShapeDtypeStruct((1,) + spec.shape, spec.dtype)
         for name, spec in stored.items()}
  augment = augmentation.make(config.get("augment", None) and config.augment.to_dict())
  seen = jax.eval_shape(augment.evaluate, one)
  seen = seen if isinstance(seen, dict) else {"frames": seen}
  return {name: tuple(x.shape[1:]) for name, x in seen.items()}


def setup(family: Family, size: str, *, levers: bool = False, full_batch: bool = False,
          dtype: str = "") -> Setup:
  """`family` at `size`: model, optimiser, batch and input shapes (see the module docstring).

  Args:
    levers: keep the config's memory levers (`model.remat`, `train.microbatches`).
    full_batch: the config's batch size even for the paper size on a CPU
      backend (which otherwise gets `family.cpu_batch`).
    dtype: `model.dtype` instead of the config's ('bfloat16'); '' keeps it.
  """
  config = load_config(family, size)
  if dtype:
    if "dtype" not in config.model:
      raise ValueError(f"{family.name} has no model.dtype to set to {dtype!r}")
    config.model.dtype = dtype
  model_cfg = dict(config.model.to_dict())
  if not levers and "remat" in model_cfg:
    model_cfg["remat"] = False
  num_classes = labels.get_scheme(config.data.label_scheme).num_classes
  model = models.get(config.model_name, num_classes=num_classes, **model_cfg)
  tx = optim.make_optimizer(config.optim, config.schedule)
  batch = config.train.batch_size
  if size == "paper" and jax.default_backend() == "cpu" and not full_batch:
    batch = min(batch, family.cpu_batch)
  micro = config.train.get("microbatches", 1) if levers else 1
  return Setup(family, size, config, model, tx, num_classes, batch, input_shapes(config),
               micro if batch % micro == 0 else 1)


def random_inputs(s: Setup, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
  """Random float32 model inputs `[batch, ...]` in [0, 1) (channels-last, as mer_jax takes)."""
  rng = np.random.default_rng(seed)
  return {k: rng.random((batch,) + shape, dtype=np.float32) for k, shape in s.shapes.items()}


def model_input(arrays: dict[str, Any]) -> Any:
  """The model's input: the array when there is only 'frames', else the dict."""
  return arrays["frames"] if set(arrays) == {"frames"} else dict(arrays)


def random_labels(s: Setup, batch: int, seed: int = 0) -> np.ndarray:
  return np.random.default_rng(seed + 1).integers(0, s.num_classes, batch).astype(np.int32)


def init_key(seed: int) -> jax.Array:
  """A key for initialising parameters (not timed): 'rbg', whose initialisers compile in
  a fraction of threefry's time (seconds per model on a 2-core CPU). Timed steps keep
  the default implementation."""
  return jax.random.key(seed, impl="rbg")


def count_params(params: Any) -> int:
  """Scalars in a (possibly abstract) parameter tree."""
  return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))
