"""MER-RCNN temporal jittering (Xia et al. 2018, section II-D).

Each training clip is augmented 48 times: keep 100, 90, ..., 50 % of its
frames at random (in order), then resample the kept frames to 30 with one of
eight methods: nearest, bilinear, bicubic, box, triangle, cubic, Lanczos-2,
Lanczos-3. The paper's list is, name for name, the methods and kernels of
MATLAB's `imresize`, so the weights here are `imresize`'s (its
`contributions` function, applied along time only): kernel centres at
u = x / s + (1 - 1/s) / 2 for output x = 1..L and scale s = L / T, weights
normalised to sum to 1, mirror-with-repeat (`symmetric`) edges.

As in `imresize`, 'nearest' is the box kernel, 'bilinear' the triangle and
'bicubic' the cubic kernel; they differ only in antialiasing, which
`imresize` applies by default when shrinking (scale < 1, every method but
'nearest') by stretching the kernel by 1/s. Antialiasing is off by default
here (`antialias=False`), so each name pair gives identical frames: 30 of the
48 variants are distinct outputs. `antialias=True` reproduces `imresize`'s
defaults, under which 'box' (an average) differs from 'nearest' when shrinking.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import jax
import numpy as np

RATIOS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
KERNELS = ("nearest", "bilinear", "bicubic", "box", "triangle", "cubic",
           "lanczos2", "lanczos3")
_EPS = np.finfo(np.float64).eps


def _box(x: np.ndarray) -> np.ndarray:
  return ((-0.5 <= x) & (x < 0.5)).astype(np.float64)


def _triangle(x: np.ndarray) -> np.ndarray:
  return np.maximum(1.0 - np.abs(x), 0.0)


def _cubic(x: np.ndarray) -> np.ndarray:
  """Keys' cubic with a = -0.5 (MATLAB's `cubic`)."""
  a = np.abs(x)
  near = (1.5 * a**3 - 2.5 * a**2 + 1.0) * (a <= 1)
  far = (-0.5 * a**3 + 2.5 * a**2 - 4.0 * a + 2.0) * ((1 < a) & (a <= 2))
  return near + far


def _lanczos(lobes: int) -> Callable[[np.ndarray], np.ndarray]:
  """MATLAB's `lanczos2`/`lanczos3`, including its eps guard at 0."""
  def kernel(x: np.ndarray) -> np.ndarray:
    num = np.sin(np.pi * x) * np.sin(np.pi * x / lobes) + _EPS
    return num / (np.pi**2 * x**2 / lobes + _EPS) * (np.abs(x) < lobes)
  return kernel


# name -> (kernel, support width in input samples), as imresize's table.
_KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "nearest": (_box, 1.0), "box": (_box, 1.0),
    "bilinear": (_triangle, 2.0), "triangle": (_triangle, 2.0),
    "bicubic": (_cubic, 4.0), "cubic": (_cubic, 4.0),
    "lanczos2": (_lanczos(2), 4.0), "lanczos3": (_lanczos(3), 6.0),
}


def variants() -> list[tuple[float, str]]:
  """The 48 (keep ratio, kernel) pairs of MER-RCNN's temporal jittering."""
  return list(itertools.product(RATIOS, KERNELS))


def resize_weights(in_length: int, out_length: int, kernel: str,
                   antialias: bool = False) -> np.ndarray:
  """`[out_length, in_length]` resampling matrix of MATLAB `imresize` along one axis."""
  if kernel not in _KERNELS:
    raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
  h, width = _KERNELS[kernel]
  scale = out_length / in_length
  if scale < 1 and antialias and kernel != "nearest":
    h, width = (lambda x, h=h: scale * h(scale * x)), width / scale
  u = np.arange(1, out_length + 1) / scale + 0.5 * (1 - 1 / scale)  # [L] 1-based
  left = np.floor(u - width / 2)
  taps = left[:, None] + np.arange(math.ceil(width) + 2)[None, :]   # [L, P]
  w = h(u[:, None] - taps)
  w = w / w.sum(axis=1, keepdims=True)
  mirror = np.concatenate([np.arange(in_length), np.arange(in_length)[::-1]])
  index = mirror[(taps.astype(np.int64) - 1) % (2 * in_length)]    # [L, P] 0-based
  out = np.zeros((out_length, in_length))
  np.add.at(out, (np.repeat(np.arange(out_length), taps.shape[1]), index.ravel()),
            w.ravel())
  return out


def resample(frames: np.ndarray, length: int, kernel: str,
             antialias: bool = False) -> np.ndarray:
  """Resamples `frames` `[T, ...]` to `[length, ...]` along time with an imresize kernel."""
  frames = np.asarray(frames)
  weights = resize_weights(frames.shape[0], length, kernel, antialias)
  dtype = np.result_type(frames.dtype, np.float32)
  return np.tensordot(weights, frames.astype(np.float64), axes=1).astype(dtype)


def keep_indices(key: jax.Array, num_frames: int, ratio: float) -> np.ndarray:
  """Sorted indices of the round(ratio * T) frames kept (at least 1), drawn with `key`."""
  if not 0.0 < ratio <= 1.0:
    raise ValueError(f"ratio must be in (0, 1], got {ratio}")
  keep = max(1, math.floor(ratio * num_frames + 0.5))   # MATLAB round (half up)
  chosen = jax.random.choice(key, num_frames, (keep,), replace=False)
  return np.sort(np.asarray(chosen))


def jitter(frames: np.ndarray, key: jax.Array, ratio: float, kernel: str,
           length: int = 30, antialias: bool = False) -> np.ndarray:
  """One temporal-jittering variant of `frames` `[T, ...]`.

  Args:
    frames: the clip (any trailing shape).
    key: JAX PRNG key choosing the kept frames (same key, same frames).
    ratio: fraction of frames kept, one of `RATIOS` in the paper.
    kernel: one of `KERNELS`.
    length: output frames (30 in the paper).
    antialias: imresize's antialiasing when shrinking (off by default).

  Returns:
    `[length, ...]` float32 (float64 for float64 input).
  """
  frames = np.asarray(frames)
  kept = frames[keep_indices(key, frames.shape[0], ratio)]
  return resample(kept, length, kernel, antialias)
