"""On-device clip augmentation in JAX: rotation, shift and flips.

Every function takes one clip `[T, H, W, C]` and draws ONE transform per clip
(from an explicit key) that is applied to all its frames, so the motion
between frames (what a micro-expression is) is untouched. All are jittable and
vmappable over a batch of clips with a batch of keys:

  keys = jax.random.split(key, batch.shape[0])
  aug = jax.vmap(lambda k, c: random_rotate_shift(k, c, 5.0, 10, 0.5))(keys, batch)

Conventions:
  - A positive angle rotates the picture counter-clockwise as displayed (as
    `cv2.getRotationMatrix2D` and `np.rot90`), about the image centre
    ((H - 1) / 2, (W - 1) / 2).
  - A shift (dy, dx) moves the content down and right (as `np.roll`).
  - Sampling is bilinear (`jax.scipy.ndimage.map_coordinates`, order 1). Pixels
    that come from outside the frame are 0 with mode='constant' (the default,
    as torchvision's rotate, which Islam et al.'s PyTorch code used) or the
    nearest edge pixel with mode='nearest'.
  - Integer inputs come back rounded and clipped to their dtype's range.

Papers: ATNet (Peng et al. 2019) applies rotation <= 5 degrees and shift <= 10
px with probability 0.5 (`random_rotate_shift(key, x, 5.0, 10, 0.5)`). Islam et
al. 2022 triple the samples with "vertical flipping and 8 degree counter-
clockwise rotation": their code is PyTorch, whose vertical flip (`vflip`) turns
the picture upside down, so `vertical_flip` flips the H axis; the mirror
image (left-right) is `horizontal_flip`. Their set is offline (original,
`vertical_flip(x)`, `rotate(x, 8.0)`); `random_vertical_flip` and
`random_rotate` are the on-line equivalents.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy import ndimage

_MODES = ("constant", "nearest")


def _check_mode(mode: str) -> None:
  if mode not in _MODES:
    raise ValueError(f"border mode {mode!r}; expected one of {_MODES}")


def _source_coords(h: int, w: int, degrees, shift_yx) -> tuple[jax.Array, jax.Array]:
  """Where each output pixel samples the input: (rows, cols), each [H, W]."""
  theta = jnp.deg2rad(jnp.asarray(degrees, jnp.float32))
  shift = jnp.asarray(shift_yx, jnp.float32)
  cy, cx = (h - 1) / 2, (w - 1) / 2
  rows, cols = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32),
                            jnp.arange(w, dtype=jnp.float32), indexing="ij")
  v, u = rows - cy - shift[0], cols - cx - shift[1]  # undo the shift, centre
  cos, sin = jnp.cos(theta), jnp.sin(theta)
  # Inverse of the displayed counter-clockwise rotation (y axis points down).
  return u * sin + v * cos + cy, u * cos - v * sin + cx


def _cast_like(out: jax.Array, like: jax.Array) -> jax.Array:
  """Casts float results back to `like`'s dtype (rounded, clipped for integers)."""
  if jnp.issubdtype(like.dtype, jnp.integer):
    info = jnp.iinfo(like.dtype)
    out = jnp.clip(jnp.round(out), info.min, info.max)
  return out.astype(like.dtype)


def rotate_shift(frames: jax.Array, degrees, shift_yx=(0.0, 0.0),
                 mode: str = "constant") -> jax.Array:
  """Rotates every frame by `degrees` (counter-clockwise) then shifts it by (dy, dx).

  Args:
    frames: a clip [T, H, W, C].
    degrees: scalar angle (may be traced).
    shift_yx: (dy, dx) in pixels (may be traced, fractional).
    mode: 'constant' (zeros outside) or 'nearest' (edge pixels).

  Returns:
    [T, H, W, C], the dtype of `frames`.
  """
  _check_mode(mode)
  frames = jnp.asarray(frames)
  _, h, w, _ = frames.shape
  coords = _source_coords(h, w, degrees, shift_yx)  # 2 x [H, W]
  sample = lambda img: ndimage.map_coordinates(img, coords, order=1, mode=mode, cval=0.0)
  planes = jnp.moveaxis(frames, -1, 1).astype(jnp.float32)  # [T, C, H, W]
  out = jax.vmap(jax.vmap(sample))(planes)
  return _cast_like(jnp.moveaxis(out, 1, -1), frames)


def rotate(frames: jax.Array, degrees, mode: str = "constant") -> jax.Array:
  """Rotates every frame of [T, H, W, C] by `degrees` counter-clockwise."""
  return rotate_shift(frames, degrees, (0.0, 0.0), mode)


def vertical_flip(frames: jax.Array) -> jax.Array:
  """Turns every frame of [T, H, W, C] upside down (flips the H axis)."""
  return jnp.flip(frames, axis=1)


def horizontal_flip(frames: jax.Array) -> jax.Array:
  """Mirrors every frame of [T, H, W, C] left-right (flips the W axis)."""
  return jnp.flip(frames, axis=2)


def _gate(key: jax.Array, prob, changed: jax.Array, frames: jax.Array) -> jax.Array:
  """`changed` with probability `prob`, else exactly `frames` (one draw per clip)."""
  return jnp.where(jax.random.bernoulli(key, prob), changed, frames)


def random_rotate_shift(key: jax.Array, frames: jax.Array, max_degrees: float,
                        max_shift_px: int, prob: float,
                        mode: str = "constant") -> jax.Array:
  """With probability `prob`, one random rotation + integer shift of the whole clip.

  The angle is uniform in [-max_degrees, max_degrees]; dy and dx are
  independent uniform integers in [-max_shift_px, max_shift_px] (ATNet's
  "pixel shift"). One gate covers both: the clip is either transformed by both
  or returned unchanged.

  Args:
    key: a jax random key.
    frames: a clip [T, H, W, C].
    max_degrees: largest rotation (ATNet: 5).
    max_shift_px: largest shift per axis in whole pixels (ATNet: 10).
    prob: probability of transforming this clip (ATNet: 0.5).
    mode: border mode, 'constant' (zeros) or 'nearest'.

  Returns:
    [T, H, W, C], the dtype of `frames`.
  """
  k_gate, k_angle, k_shift = jax.random.split(key, 3)
  angle = jax.random.uniform(k_angle, (), minval=-max_degrees, maxval=max_degrees)
  shift = jax.random.randint(k_shift, (2,), -max_shift_px, max_shift_px + 1)
  return _gate(k_gate, prob, rotate_shift(frames, angle, shift, mode), frames)


def random_rotate(key: jax.Array, frames: jax.Array, max_degrees: float, prob: float,
                  mode: str = "constant") -> jax.Array:
  """With probability `prob`, rotates the clip by one angle in [-max_degrees, max_degrees]."""
  k_gate, k_angle = jax.random.split(key)
  angle = jax.random.uniform(k_angle, (), minval=-max_degrees, maxval=max_degrees)
  return _gate(k_gate, prob, rotate(frames, angle, mode), frames)


def random_vertical_flip(key: jax.Array, frames: jax.Array, prob: float) -> jax.Array:
  """With probability `prob`, turns the whole clip upside down (see module doc)."""
  return _gate(key, prob, vertical_flip(frames), frames)


def random_horizontal_flip(key: jax.Array, frames: jax.Array, prob: float) -> jax.Array:
  """With probability `prob`, mirrors the whole clip left-right."""
  return _gate(key, prob, horizontal_flip(frames), frames)
