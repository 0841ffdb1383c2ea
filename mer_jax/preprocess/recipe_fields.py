"""The fields of every recipe and what each accepts: checked before any clip is read.

`FIELDS[recipe][field]` is a `Field`: a test of the value, what is expected
(shown in the error) and an example (the paper's value, shown as the fix).
`check` raises one ConfigError naming the field, its value, what is expected
and a value to set, for: a field the recipe does not have (naming the ones
it has), a field it needs and lacks, a value of the wrong type or out of
range, and pairs of fields that must agree (`CROSS`: EVM's low < high,
ATNet's grid <= flow_size). Without it a bad value fails inside OpenCV on
every clip, each clip is left out with a warning, and the run ends with the
first clip's error.

Every entry point checks: `recipes.run` (so predict, which reads a run's
config, too), `data.pipeline.load_experiment_data` (main, gradcam, sweeps)
and `mer_jax.prepare`. Fields in `OPTIONAL` were added after runs were made
with the recipe; the recipe reads them with a default (`recipe.get`). A name
that is no recipe is left to `recipes.get_recipe`, which lists the known ones.

This module imports no data/ or train/ code (the preprocess layer).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Mapping, NamedTuple

from mer_jax.preprocess.descriptors import hoof, lbp_top
from mer_jax.errors import ConfigError

FACES = ("none", "haar", "dlib")           # recipes.check_face_method, data/faces.py
TEMPORAL = ("tim", "linear")               # recipes.resample
FLOWS = ("tvl1", "opencv_tvl1")            # recipes.ATNET_FLOWS
CHANNELS = ("flow", "strain", "gray")      # recipe_outputs.ELRCN_CHANNEL_WIDTHS


class Field(NamedTuple):
  """What one recipe field accepts."""

  accepts: Callable[[Any], bool]
  expected: str   # e.g. 'a positive integer (pixels of the square frame)'
  example: Any    # a valid value, shown as the fix


def _is_int(value: Any) -> bool:
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
  return (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value))


def at_least(low: int, what: str, example: int) -> Field:
  """An integer >= `low`."""
  kind = "a positive integer" if low == 1 else f"an integer >= {low}"
  return Field(lambda v: _is_int(v) and v >= low, f"{kind} ({what})", example)


def in_unit(what: str, example: float, closed: bool = True) -> Field:
  """A number in (0, 1] (`closed`) or (0, 1)."""
  top = "1]" if closed else "1)"
  return Field(lambda v: _is_number(v) and 0 < v and (v <= 1 if closed else v < 1),
               f"a number in (0, {top} ({what})", example)


def one_of(known: tuple[str, ...], what: str, example: str) -> Field:
  return Field(lambda v: isinstance(v, str) and v in known, f"one of {known} ({what})",
               example)


def flag(what: str, example: bool = False) -> Field:
  return Field(lambda v: isinstance(v, bool), f"True or False ({what})", example)


def _channels(value: Any) -> bool:
  return (isinstance(value, (list, tuple)) and len(value) > 0
          and all(isinstance(c, str) and c in CHANNELS for c in value))


def _radii(value: Any) -> bool:
  return (isinstance(value, (list, tuple)) and len(value) == 3
          and all(_is_number(r) and r > 0 for r in value))


def _grid(value: Any) -> bool:
  pair = isinstance(value, (list, tuple)) and len(value) == 2
  return all(_is_int(n) and n >= 1 for n in (value if pair else [value]))


IMAGE = "pixels of the square frame"
FACE = one_of(FACES, "the face crop: 'none' takes the frames as they are", "haar")
RESAMPLE = one_of(TEMPORAL, "how the clip is brought to num_frames", "tim")
ONSET = flag("subtract the first frame from every frame")
FLOW = one_of(FLOWS, "the optical flow method", "tvl1")
# The clip every descriptor reads (recipes.descriptor_clip).
DESCRIPTOR = {
    "face": FACE, "image_size": at_least(1, IMAGE, 128), "temporal": RESAMPLE,
    "window": at_least(0, "frames around the apex; 0: the whole clip", 0),
    "grid": Field(_grid, "a block count n >= 1 or (rows, cols)", (5, 5)),
}

FIELDS: dict[str, dict[str, Field]] = {
    "pixels": {
        "image_size": at_least(1, IMAGE, 50),
        "num_frames": at_least(1, "frames per clip", 10),
        "grayscale": flag("grey frames instead of RGB", True), "temporal": RESAMPLE,
        "subtract_onset": ONSET,
    },
    "elrcn_stack": {
        "face": FACE, "image_size": at_least(1, IMAGE, 224),
        "num_frames": at_least(1, "flows per clip", 10), "temporal": RESAMPLE,
        "channels": Field(_channels, f"a non-empty selection of {CHANNELS}", CHANNELS),
    },
    "mer_rcnn": {
        "image_size": at_least(1, IMAGE, 55),
        "center_crop": in_unit("the fraction of each side kept", 0.8),
        "alpha": Field(lambda v: _is_number(v) and v >= 0,
                       "a number >= 0 (EVM's magnification; 0 leaves the clip as it is)", 10.0),
        "low": in_unit("EVM's low cut-off, a low-pass coefficient", 0.05, closed=False),
        "high": in_unit("EVM's high cut-off, a low-pass coefficient", 0.4),
        "max_frames": at_least(1, "the stored sequence's length", 150),
    },
    "islam": {
        "image_size": at_least(1, IMAGE, 64),
        "num_frames": at_least(1, "frames per clip", 12), "face": FACE,
        "subtract_onset": ONSET,
    },
    "atnet": {
        "face": FACE, "image_size": at_least(1, "pixels of the square apex image", 224),
        "flow_size": at_least(1, "pixels of the frames the flow is computed on", 224),
        "window": at_least(2, "frames around the apex; window - 1 flows", 65),
        "grid": at_least(1, "ADM blocks per side", 8),
        "pad": one_of(("front", "edge"), "frames beyond the clip", "front"),
        "layout": one_of(("interleaved", "split"), "the ADM column order", "interleaved"),
        "flow": FLOW,
    },
    "lbp_top": {
        **DESCRIPTOR, "num_frames": at_least(1, "frames of the descriptor clip", 10),
        "radii": Field(_radii, "3 radii > 0 (R_XY, R_XT, R_YT)", (3, 3, 3)),
        "points": at_least(1, "neighbours P per plane", 4),
        "mapping": one_of(lbp_top.MAPPINGS, "the LBP code mapping", "nri_uniform"),
    },
    "hoof": {
        **DESCRIPTOR,
        "num_frames": at_least(2, "frames of the descriptor clip; num_frames - 1 flows", 10),
        "bins": at_least(1, "orientation bins", 8),
        "binning": one_of(hoof.BINNINGS, "the orientation range binned", "full"),
        "flow": FLOW,
    },
}

# Fields a recipe reads with a default, absent from runs made before they existed.
OPTIONAL: dict[str, frozenset[str]] = {
    "elrcn_stack": frozenset({"face"}), "atnet": frozenset({"face"}),
    "islam": frozenset({"subtract_onset"}),
}


class Cross(NamedTuple):
  """Two fields of one recipe that must agree."""

  first: str
  second: str
  holds: Callable[[Any, Any], bool]
  expected: str
  fix: str


CROSS: dict[str, tuple[Cross, ...]] = {
    "mer_rcnn": (Cross("low", "high", lambda low, high: low < high,
                       "low < high (EVM's pass band)", "e.g. low=0.05, high=0.4"),),
    "atnet": (Cross("grid", "flow_size", lambda grid, size: grid <= size,
                    "grid <= flow_size (every ADM block needs a pixel)",
                    "e.g. grid=8, flow_size=224"),),
}


def check(recipe: Mapping, label: str = "config.data.recipe.{}") -> None:
  """Raises ConfigError unless every field of `recipe` is one it has and valid.

  Args:
    recipe: the recipe config (dict or ConfigDict) with its `name`.
    label: how a field is named in the message, '{}' standing for the field
      ('--recipe_overrides {}' in `mer_jax.prepare`).
  """
  fields = dict(recipe.to_dict() if hasattr(recipe, "to_dict") else recipe)
  name = fields.pop("name", None)
  table = FIELDS.get(name) if isinstance(name, str) else None
  if table is None:
    return  # No recipe: recipes.get_recipe says so and lists the known ones.
  _check_names(name, set(fields), table, label.format("").rstrip(". "))
  for field in sorted(fields):
    spec, value = table[field], fields[field]
    if not spec.accepts(value):
      raise ConfigError(f"{label.format(field)}={value!r}: expected {spec.expected}; set it "
                        f"to e.g. {spec.example!r}")
  _check_cross(name, fields, label)


def _check_names(name: str, given: set[str], table: Mapping[str, Field], where: str) -> None:
  """ConfigError for a field `name` does not have, or one it needs and is not given."""
  unknown = sorted(given - set(table))
  if unknown:
    raise ConfigError(f"{where}: recipe {name!r} has no field(s) {unknown}; its fields are "
                      f"{sorted(table)} (remove them, or choose the recipe that has them)")
  missing = sorted(set(table) - given - OPTIONAL.get(name, frozenset()))
  if missing:
    example = ", ".join(f"{f}={table[f].example!r}" for f in missing)
    raise ConfigError(f"{where}: recipe {name!r} needs the field(s) {missing}; add them, "
                      f"e.g. {example}")


def _check_cross(name: str, fields: Mapping[str, Any], label: str) -> None:
  """ConfigError for two valid fields of `name` that do not agree (`CROSS`)."""
  for rule in CROSS.get(name, ()):
    first, second = fields[rule.first], fields[rule.second]
    if not rule.holds(first, second):
      raise ConfigError(f"{label.format(rule.first)}={first!r} and "
                        f"{label.format(rule.second)}={second!r}: expected {rule.expected}; "
                        f"{rule.fix}")
