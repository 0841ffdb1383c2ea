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
'bicubic' the cubic kernel. 'bilinear'/'triangle' and 'bicubic'/'cubic' are
the same method in `imresize` whatever its options; 'nearest' and 'box'
differ only in antialiasing, which `imresize` applies by default when
shrinking (scale < 1, every method but 'nearest') by stretching the kernel by
1/s. So with `imresize`'s defaults (`antialias=True` here) the 8 names are 6
methods and at most 36 of the 48 variants differ; without antialiasing
(`antialias=False`, the default here and the only mode of the device path
that MER-RCNN trains and evaluates with) they are 5 kernels, at most 30
distinct variants, and a clip longer than the output is resampled without
the low-pass filter MATLAB would apply (e.g. 'bicubic' evaluation of a
45-frame clip to 30 frames is cubic interpolation, not imresize's default).

Two implementations share these definitions:

* Host (numpy, float64): `resize_weights`, `resample`, `keep_indices`,
  `jitter`. The reference; used to prepare data and to test the device path.
* Device (JAX, float32, jittable and vmappable): `device_resize_weights`,
  `device_keep`, `device_jitter`, `device_resample`, so that jittering runs on
  the accelerator inside the training step. A clip is stored padded to a fixed
  length: `sequence` `[max_frames, ...]` (any trailing shape and dtype, uint8
  included) plus `length`, its frame count (1 <= length <= max_frames);
  frames at positions >= length are padding and never contribute. Lengths,
  keep ratios, kernels (as indices into `KERNELS`) and variants (indices into
  `variants()`) may be traced; output lengths are static. Only
  `antialias=False` is supported there. Where numpy's float64 arithmetic
  breaks an exact tie (nearest-frame picks, the rounded keep count) the
  device path looks the answer up in small tables built with numpy at trace
  time, so both paths agree bit for bit on which frames are used.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
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


# ---------------------------------------------------------------------------
# Device path (JAX): fixed-length padded clips, traced lengths and variants.
# ---------------------------------------------------------------------------

# Without antialiasing the 8 names use 5 distinct kernels (see the docstring).
_DISTINCT = ("box", "triangle", "cubic", "lanczos2", "lanczos3")
_DISTINCT_OF = {"nearest": "box", "box": "box", "bilinear": "triangle",
                "triangle": "triangle", "bicubic": "cubic", "cubic": "cubic",
                "lanczos2": "lanczos2", "lanczos3": "lanczos3"}
_KERNEL_TO_DISTINCT = tuple(_DISTINCT.index(_DISTINCT_OF[k]) for k in KERNELS)
_SUPPORT = 6   # widest kernel support in input samples (lanczos3)


@functools.cache
def _nearest_table(max_in: int, out_length: int) -> np.ndarray:
  """`[max_in + 1, out_length]` frame that numpy's 'box' picks per output (row 0 unused).

  The box kernel is discontinuous, so numpy's float64 rounding of the kernel
  centres decides exact ties; the table reproduces those decisions.
  """
  table = np.zeros((max_in + 1, out_length), np.int32)
  for n in range(1, max_in + 1):
    table[n] = resize_weights(n, out_length, "box").argmax(axis=1)
  return table


@functools.cache
def _kept_table(max_in: int) -> np.ndarray:
  """`[len(RATIOS), max_in + 1]` numpy's kept counts max(1, round half up(r * T))."""
  return np.array([[max(1, math.floor(r * t + 0.5)) for t in range(max_in + 1)]
                   for r in RATIOS], np.int32)


def _device_kernel(name: str, x: jax.Array) -> jax.Array:
  """Continuous imresize kernel `name` at float32 offsets `x`."""
  a = jnp.abs(x)
  if name == "triangle":
    return jnp.maximum(1.0 - a, 0.0)
  if name == "cubic":
    near = (1.5 * a**3 - 2.5 * a**2 + 1.0) * (a <= 1)
    far = (-0.5 * a**3 + 2.5 * a**2 - 4.0 * a + 2.0) * ((1 < a) & (a <= 2))
    return near + far
  lobes = int(name[-1])
  safe = jnp.where(x == 0, 1.0, x)
  value = (jnp.sin(jnp.pi * safe) * jnp.sin(jnp.pi * safe / lobes)
           / (jnp.pi**2 * safe**2 / lobes))
  return jnp.where(x == 0, 1.0, value) * (a < lobes)


def _box_weights(in_length: jax.Array, max_in: int, out_length: int) -> jax.Array:
  """`[out_length, max_in]` float32 'box' ('nearest') weights: one frame per output."""
  picked = jnp.asarray(_nearest_table(max_in, out_length))[in_length]     # [L]
  return (picked[:, None] == jnp.arange(max_in)[None, :]).astype(jnp.float32)


def _continuous_weights(in_length: jax.Array, max_in: int, out_length: int,
                        names: tuple[str, ...]) -> jax.Array:
  """`[len(names), out_length, max_in]` float32 weights of continuous kernels.

  All share one window of taps, wide enough for the widest kernel; taps
  outside a kernel's support weigh exactly 0.
  """
  width = _SUPPORT
  # Kernel centre u = (2 x n + L - n) / (2 L) for 1-based output x: exact in integers.
  x = jnp.arange(1, out_length + 1, dtype=jnp.int32)[:, None]
  numerator = 2 * x * in_length + out_length - in_length                 # [L, 1]
  left = jnp.floor_divide(numerator - out_length * width, 2 * out_length)
  taps = left + jnp.arange(width + 2, dtype=jnp.int32)[None, :]         # [L, P] 1-based
  offset = (numerator - 2 * out_length * taps).astype(jnp.float32) / (2 * out_length)
  w = jnp.stack([_device_kernel(name, offset) for name in names])        # [K, L, P]
  w = w / w.sum(axis=-1, keepdims=True)
  m = jnp.remainder(taps - 1, 2 * in_length)                            # symmetric edges
  index = jnp.where(m < in_length, m, 2 * in_length - 1 - m)             # [L, P] 0-based
  hits = index[..., None] == jnp.arange(max_in)                          # [L, P, max_in]
  # Summed elementwise, not as a matmul: accelerators' default matmul precision
  # would round the weights (bf16 on TPU, tf32 on GPU).
  return jnp.where(hits, w[..., None], 0.0).sum(axis=-2)


def device_resize_weights(in_length: jax.Array, max_in: int, out_length: int,
                          kernel: str | jax.Array) -> jax.Array:
  """JAX `resize_weights` for a traced input length, padded to `max_in` columns.

  Only `antialias=False` is supported: antialiasing stretches the kernel
  support by 1/scale, a tap count that depends on the traced length.

  Args:
    in_length: int scalar (may be traced), 1 <= in_length <= max_in.
    max_in: static column count (the padded clip length).
    out_length: static output length.
    kernel: a name in `KERNELS` (static), or an int index into `KERNELS`
      (may be traced; then all distinct kernels are computed and one selected).

  Returns:
    float32 `[out_length, max_in]`: numpy's `resize_weights(in_length,
    out_length, kernel)` in the first `in_length` columns (mirrored edges use
    `in_length`), zero in the rest.
  """
  in_length = jnp.clip(jnp.asarray(in_length, jnp.int32), 1, max_in)
  if isinstance(kernel, str):
    if kernel not in _KERNELS:
      raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    name = _DISTINCT_OF[kernel]
    if name == "box":
      return _box_weights(in_length, max_in, out_length)
    return _continuous_weights(in_length, max_in, out_length, (name,))[0]
  stacked = jnp.concatenate([
      _box_weights(in_length, max_in, out_length)[None],
      _continuous_weights(in_length, max_in, out_length, _DISTINCT[1:])])
  return stacked[jnp.asarray(_KERNEL_TO_DISTINCT)[jnp.asarray(kernel, jnp.int32)]]


def _keep_order(key: jax.Array, length: jax.Array, kept: jax.Array,
                max_in: int) -> jax.Array:
  """Permutation of 0..max_in-1: `kept` random valid positions ascending, then the rest."""
  positions = jnp.arange(max_in, dtype=jnp.int32)
  noise = jax.random.bits(key, (max_in,), jnp.uint32)
  # Padding sorts last: ties with it are broken by position, and padding comes later.
  noise = jnp.where(positions < length, noise, jnp.uint32(np.iinfo(np.uint32).max))
  shuffled = jnp.argsort(noise, stable=True).astype(jnp.int32)
  ranked = jnp.where(positions < kept, shuffled, shuffled + max_in)
  return jnp.sort(ranked) % max_in


def device_keep(key: jax.Array, length: jax.Array, max_in: int,
                ratio_index: int | jax.Array) -> tuple[jax.Array, jax.Array]:
  """JAX `keep_indices` on a clip padded to `max_in` frames.

  Args:
    key: PRNG key.
    length: int scalar (may be traced), the clip's frame count (1..max_in).
    max_in: static padded length.
    ratio_index: int (may be traced) into `RATIOS`. The kept count is read
      from a table numpy builds, max(1, floor(ratio * length + 0.5)) in
      float64, because float32 rounds some exact halves the other way
      (0.7 * 45: numpy 31, float32 32).

  Returns:
    (order, kept): `order` int32 `[max_in]`, a permutation of 0..max_in-1
    whose first `kept` entries are the kept positions in ascending order (a
    uniformly random subset of 0..length-1); `kept` int32 scalar.
  """
  length = jnp.clip(jnp.asarray(length, jnp.int32), 1, max_in)
  kept = jnp.asarray(_kept_table(max_in))[jnp.asarray(ratio_index, jnp.int32), length]
  kept = jnp.minimum(kept, length)
  return _keep_order(key, length, kept, max_in), kept


def _apply(weights: jax.Array, sequence: jax.Array, length: jax.Array) -> jax.Array:
  """`weights` `[L, max_in]` times `sequence` `[max_in, ...]` in float32, padding zeroed."""
  max_in = sequence.shape[0]
  flat = sequence.reshape(max_in, -1).astype(jnp.float32)
  valid = jnp.arange(max_in) < length
  flat = jnp.where(valid[:, None], flat, 0.0)       # padding (even inf/nan) never counts
  out = jnp.dot(weights, flat, precision=jax.lax.Precision.HIGHEST)
  return out.reshape(weights.shape[:1] + sequence.shape[1:])


def device_jitter(key: jax.Array, sequence: jax.Array, length: jax.Array,
                  variant: jax.Array, out_length: int = 30) -> jax.Array:
  """One temporal-jittering variant of a padded clip, on the device.

  Equals `resample(sequence[:length][kept], out_length, kernel)` for the
  positions `device_keep(key, length, max_frames, variant // 8)` returns.

  Args:
    key: PRNG key choosing the kept frames.
    sequence: `[max_frames, ...]` padded clip, any dtype.
    length: int scalar (may be traced), its frame count.
    variant: int scalar in [0, 48) (may be traced) indexing `variants()`:
      ratio `RATIOS[variant // 8]`, kernel `KERNELS[variant % 8]`.
    out_length: static output length (30 in the paper).

  Returns:
    float32 `[out_length, ...]`.
  """
  max_in = sequence.shape[0]
  length = jnp.clip(jnp.asarray(length, jnp.int32), 1, max_in)
  variant = jnp.asarray(variant, jnp.int32)
  order, kept = device_keep(key, length, max_in, variant // len(KERNELS))
  weights = device_resize_weights(kept, max_in, out_length, variant % len(KERNELS))
  # weights @ sequence[order], with the gather moved onto the weight columns.
  weights = jnp.zeros_like(weights).at[:, order].set(weights)
  return _apply(weights, sequence, length)


def device_resample(sequence: jax.Array, length: jax.Array, out_length: int,
                    kernel: str | jax.Array) -> jax.Array:
  """All `length` frames of a padded clip resampled to `out_length` (no jittering).

  Equals `resample(sequence[:length], out_length, kernel)`; for evaluation.

  Args:
    sequence: `[max_frames, ...]` padded clip, any dtype.
    length: int scalar (may be traced), its frame count.
    out_length: static output length.
    kernel: a name in `KERNELS` (or a traced index into it).

  Returns:
    float32 `[out_length, ...]`.
  """
  max_in = sequence.shape[0]
  length = jnp.clip(jnp.asarray(length, jnp.int32), 1, max_in)
  weights = device_resize_weights(length, max_in, out_length, kernel)
  return _apply(weights, sequence, length)
