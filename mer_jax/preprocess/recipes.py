"""Per-paper preprocessing recipes: which steps, in which order, with which parameters.

A recipe is a pure function of one clip (uint8 `[T, H, W, 3]`, the frames
onset..offset) and the recipe config; it returns the model input for that
clip as float32 `[T', H', W', C]`. Recipes are looked up by
`config.data.recipe.name`.
"""

from __future__ import annotations

from typing import Callable, Mapping

import cv2
import numpy as np

from mer_jax.errors import ConfigError
from mer_jax.preprocess import flow, strain, tim


def to_gray(frames: np.ndarray) -> np.ndarray:
  """RGB uint8 `[T, H, W, 3]` -> grey uint8 `[T, H, W, 1]` (ITU-R 601 luma, as OpenCV)."""
  gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
  return np.stack(gray)[..., None]


def resize(frames: np.ndarray, size: int) -> np.ndarray:
  """Resizes every frame of `[T, H, W, C]` to `size x size` (area interpolation)."""
  out = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames]
  out = np.stack(out)
  return out if out.ndim == 4 else out[..., None]  # cv2 drops a single channel.


def pixels(frames: np.ndarray, recipe: Mapping) -> np.ndarray:
  """ELRCN temporal-only input: grey, resized, fixed length, intensities in [0, 1].

  Recipe fields: image_size (50 in the paper), num_frames (10), grayscale,
  temporal ('tim', the temporal interpolation model, as the paper; or 'linear'),
  subtract_onset (not in the paper, off in its config: every frame minus the
  first, so the static face cancels and only the motion is left).
  """
  x = to_gray(frames) if recipe["grayscale"] else frames
  x = resize(x, recipe["image_size"])
  x = resample(x, recipe["num_frames"], recipe["temporal"]) / 255.0
  if recipe["subtract_onset"]:
    x = x - x[:1]
  return x.astype(np.float32)


def elrcn_stack(frames: np.ndarray, recipe: Mapping) -> np.ndarray:
  """ELRCN's per-step input (Khor et al. 2018, III-A/B): flow image, strain, grey.

  The clip is made grey, resized and brought to num_frames + 1 frames (TIM);
  TV-L1 between each pair of successive frames gives num_frames flows. Step t
  stacks the channels named in `recipe['channels']`, in that order: 'flow'
  (p, q, |v|, not normalised), 'strain' (the strain magnitude of that flow)
  and 'gray' (the later frame of the pair, in [0, 1]). All three give the SE
  input `[num_frames, S, S, 5]`.
  """
  x = resize(to_gray(frames), recipe["image_size"])[..., 0]          # [T, S, S]
  x = resample(x / 255.0, recipe["num_frames"] + 1, recipe["temporal"])  # [n+1, S, S]
  flows = np.asarray(flow.tvl1_batch(x[:-1], x[1:]))                   # [n, S, S, 2]
  parts = {"flow": lambda: flow.flow_image(flows),
           "strain": lambda: strain.magnitude(flows)[..., None],
           "gray": lambda: x[1:, ..., None]}
  unknown = [c for c in recipe["channels"] if c not in parts]
  if unknown or not recipe["channels"]:
    raise ConfigError(f"config.data.recipe.channels={tuple(recipe['channels'])}; expected "
                      "a non-empty selection of 'flow', 'strain', 'gray'")
  return np.concatenate([parts[c]() for c in recipe["channels"]], -1).astype(np.float32)


def resample(frames: np.ndarray, length: int, method: str) -> np.ndarray:
  """Resamples a clip to `length` frames with the named method."""
  if method == "linear":
    return tim.resample_linear(frames, length)
  if method == "tim":
    return tim.interpolate(frames.astype(np.float32), length)
  raise ConfigError(
      f"config.data.recipe.temporal={method!r}; expected 'tim' or 'linear'")


RECIPES: dict[str, Callable[[np.ndarray, Mapping], np.ndarray]] = {
    "pixels": pixels,
    "elrcn_stack": elrcn_stack,
}


def get_recipe(name: str) -> Callable[[np.ndarray, Mapping], np.ndarray]:
  """Returns the recipe called `name`, or raises ConfigError listing the known ones."""
  if name not in RECIPES:
    raise ConfigError(
        f"config.data.recipe.name={name!r} is not a recipe; expected one of {sorted(RECIPES)}")
  return RECIPES[name]
