"""What each recipe stores per clip, declared from its fields: name -> (shape, dtype).

A recipe (preprocess/recipes.py) returns named arrays whose shapes follow from
its config alone; this module states them, so that nothing downstream has to
preprocess a clip to learn them: the cache declares its features from
`output_spec` (data/builders.py) and the benchmarks build random inputs from it
(benchmarks/families.py). tests/preprocess/test_recipe_outputs.py runs every
recipe on a real photograph's clip and checks it gives exactly what is declared.

  output_spec({'name': 'atnet', 'image_size': 224, 'window': 65, 'grid': 8, ...})
  -> {'apex': ArraySpec((224, 224, 1), 'uint8'), 'adm': ArraySpec((64, 128), 'float32')}
"""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

from mer_jax.errors import ConfigError
from mer_jax.preprocess.descriptors import blocks, lbp_top


class ArraySpec(NamedTuple):
  """The shape and dtype name of one stored array of one clip."""

  shape: tuple[int, ...]
  dtype: str


# Channels each part of the `elrcn_stack` input contributes, in stacking order.
ELRCN_CHANNEL_WIDTHS = {"flow": 3, "strain": 1, "gray": 1}


def _clip(frames: int, size: int, channels: int) -> dict[str, ArraySpec]:
  return {"frames": ArraySpec((frames, size, size, channels), "float32")}


def _pixels(r: Mapping) -> dict[str, ArraySpec]:
  return _clip(r["num_frames"], r["image_size"], 1 if r["grayscale"] else 3)


def _elrcn_stack(r: Mapping) -> dict[str, ArraySpec]:
  return _clip(r["num_frames"], r["image_size"],
               sum(ELRCN_CHANNEL_WIDTHS[c] for c in r["channels"]))


def _mer_rcnn(r: Mapping) -> dict[str, ArraySpec]:
  crop = max(1, round(r["center_crop"] * r["image_size"]))
  return {"sequence": ArraySpec((r["max_frames"], crop * crop, 3), "uint8"),
          "length": ArraySpec((), "int32")}


def _islam(r: Mapping) -> dict[str, ArraySpec]:
  return _clip(r["num_frames"], r["image_size"], 3)


def _atnet(r: Mapping) -> dict[str, ArraySpec]:
  return {"apex": ArraySpec((r["image_size"], r["image_size"], 1), "uint8"),
          "adm": ArraySpec((r["window"] - 1, 2 * r["grid"] ** 2), "float32")}


def _features(length: int) -> dict[str, ArraySpec]:
  return {"features": ArraySpec((length,), "float32")}


def _lbp_top(r: Mapping) -> dict[str, ArraySpec]:
  rows, cols = blocks.check_grid(r["grid"])
  return _features(rows * cols * 3 * lbp_top.num_bins(r["points"], r["mapping"]))


def _hoof(r: Mapping) -> dict[str, ArraySpec]:
  rows, cols = blocks.check_grid(r["grid"])
  return _features(rows * cols * r["bins"])


OUTPUTS: dict[str, Callable[[Mapping], dict[str, ArraySpec]]] = {
    "pixels": _pixels, "elrcn_stack": _elrcn_stack, "mer_rcnn": _mer_rcnn,
    "islam": _islam, "atnet": _atnet, "lbp_top": _lbp_top, "hoof": _hoof,
}


def output_spec(recipe_cfg: Mapping) -> dict[str, ArraySpec]:
  """The named arrays recipe `recipe_cfg['name']` stores for every clip, sorted by name.

  Raises:
    ConfigError: the recipe is unknown.
  """
  name = recipe_cfg.get("name")
  if name not in OUTPUTS:
    raise ConfigError(f"config.data.recipe.name={name!r} is not a recipe; expected one of "
                      f"{sorted(OUTPUTS)}")
  return dict(sorted(OUTPUTS[name](recipe_cfg).items()))
