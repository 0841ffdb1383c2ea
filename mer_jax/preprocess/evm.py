"""Eulerian video magnification (Wu et al. 2012) as MER-RCNN uses it.

MER-RCNN (Xia et al. 2018, section II-B and III-A) magnifies every clip with
the Laplacian-pyramid + IIR variant of Wu et al.: alpha = 10, lambda_c = 16,
one band-pass "[0.05, 0.4]". Those four numbers are exactly the arguments of
the demo call in Wu et al.'s released MATLAB code,
`amplify_spatial_lpyr_temporal_iir(file, dir, 10, 16, 0.4, 0.05, 0.1)`,
whose band-pass is the difference of two first-order low-pass filters

  y1[n] = r1 x[n] + (1 - r1) y1[n-1],   y2[n] = r2 x[n] + (1 - r2) y2[n-1],
  bandpass[n] = y1[n] - y2[n]          (r1 = 0.4 > r2 = 0.05),

so by default (`units='coefficient'`) `low`/`high` are these smoothing
coefficients r2/r1, not frequencies. At 200 fps (CASME II) that filter peaks
at 0.026 cycles/frame (5.2 Hz, gain 0.82) and its half-power band is about
0.007-0.099 cycles/frame (1.4-20 Hz). `units='hz'` (with `fps`) and
`units='normalized'` (fraction of Nyquist, MATLAB's convention) instead give
each low-pass's -3 dB cut-off, converted to its coefficient exactly.

What follows Wu et al.'s code (not the paper's prose):
- the pyramid has the `'auto'` height of matlabPyrTools' `buildLpyr` (halve
  while every side is at least 5 pixels) with the binomial 5-tap filter and
  mirror (`reflect1`) edges; RGB frames are filtered in YIQ (`rgb2ntsc`) and
  the chroma of the magnified signal is multiplied by `chrom_attenuation`
  (0.1 in the demo call);
- each level gets alpha_l = exaggeration * (lambda_l / (8 delta) - 1) with
  delta = lambda_c / (8 (1 + alpha)), capped at alpha; lambda_l is
  diag(H, W) / 3 for the coarsest level, halved per finer level; the finest
  level and the low-pass residual are not amplified; `exaggeration` is 2 in
  Wu et al.'s code (1 gives the paper's eq. 5 exactly);
- the filter state starts at the first frame, so frame 0 is returned as is.
Deviations: alpha_l is also clipped at 0 (Wu et al.'s code would multiply a
fine level by a negative factor when lambda_l (1 + alpha) < lambda_c, e.g.
alpha = 0), and no frames are dropped (their demo stops 10 frames early).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

_BINOMIAL5 = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
_FILTER_TAPS = len(_BINOMIAL5)
# Full float32 matmuls: TF32 (GPU default) would bury a 0.1 px motion in rounding.
_EXACT = lax.Precision.HIGHEST
# rgb2ntsc (MATLAB): rows give Y, I, Q from R, G, B.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]])


def magnify(frames: jax.Array | np.ndarray, fps: float | None = None,
            alpha: float = 10.0, low: float = 0.05, high: float = 0.4, *,
            units: str = "coefficient", levels: int | None = None,
            lambda_c: float = 16.0, exaggeration: float = 2.0,
            chrom_attenuation: float = 0.1) -> jax.Array:
  """Magnifies the motion in `frames` `[T, H, W, C]` (C = 1 grey or 3 RGB).

  Args:
    frames: the clip. Integer frames are scaled to [0, 1] as `im2double`
      does, clipped after magnification and returned in their own dtype;
      float frames are returned as float32 without clipping.
    fps: frame rate, needed only for `units='hz'`.
    alpha: magnification factor (10 in MER-RCNN); 0 returns the input.
    low: low cut-off (r2 for `units='coefficient'`).
    high: high cut-off (r1 for `units='coefficient'`).
    units: 'coefficient', 'hz' or 'normalized' (see the module docstring).
    levels: pyramid height including the residual; None = buildLpyr 'auto'.
    lambda_c: cut-off wavelength in pixels below which alpha is attenuated.
    exaggeration: Wu et al.'s factor on the attenuated alphas (2 in their code).
    chrom_attenuation: factor on the I and Q channels of the magnified signal.

  Returns:
    The magnified clip, shape `[T, H, W, C]`.
  """
  x = jnp.asarray(frames)
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f"frames must be [T, H, W, 1 or 3], got {x.shape}")
  integer = jnp.issubdtype(x.dtype, jnp.integer)
  scale = float(jnp.iinfo(x.dtype).max) if integer else 1.0
  r1, r2 = band_coefficients(low, high, units, fps)
  height = levels if levels is not None else max_levels(x.shape[1:3])
  if not 1 <= height <= max_levels(x.shape[1:3]):
    raise ValueError(f"levels={levels} exceeds the {max_levels(x.shape[1:3])} "
                     f"levels a {x.shape[1:3]} frame allows")
  alphas = level_alphas(x.shape[1:3], height, alpha, lambda_c, exaggeration)
  delta = _magnified_change(x.astype(jnp.float32) / scale, r1, r2,
                            jnp.asarray(alphas, jnp.float32), chrom_attenuation)
  out = x.astype(jnp.float32) / scale + delta                  # [T, H, W, C]
  if integer:
    return jnp.round(jnp.clip(out, 0.0, 1.0) * scale).astype(x.dtype)
  return out


def band_coefficients(low: float, high: float, units: str = "coefficient",
                      fps: float | None = None) -> tuple[float, float]:
  """Returns (r1, r2): the two low-pass coefficients of the IIR band-pass."""
  if units == "coefficient":
    r1, r2 = float(high), float(low)
  elif units in ("hz", "normalized"):
    if units == "hz" and not fps:
      raise ValueError("units='hz' needs fps")
    per_frame = 1.0 / fps if units == "hz" else 0.5          # cycles per unit
    r1, r2 = (lowpass_coefficient(v * per_frame) for v in (high, low))
  else:
    raise ValueError(f"units must be 'coefficient', 'hz' or 'normalized', got {units!r}")
  if not 0.0 < r2 < r1 <= 1.0:
    raise ValueError(f"need 0 < low < high (coefficients {r2}, {r1} must be in (0, 1])")
  return r1, r2


def lowpass_coefficient(cutoff: float) -> float:
  """Coefficient r of y[n] = r x[n] + (1 - r) y[n-1] with a -3 dB point at `cutoff`.

  Args:
    cutoff: cycles per frame, in (0, 0.5].
  """
  if not 0.0 < cutoff <= 0.5:
    raise ValueError(f"cut-off must be in (0, 0.5] cycles per frame, got {cutoff}")
  # |H|^2 = 1/2  <=>  a^2 - 2 b a + 1 = 0 with a = 1 - r, b = 2 - cos(w).
  b = 2.0 - math.cos(2.0 * math.pi * cutoff)
  return 1.0 - (b - math.sqrt(b * b - 1.0))


def max_levels(size: tuple[int, ...]) -> int:
  """matlabPyrTools' 'auto' height: 1 + how often every side >= 5 can be halved."""
  sides = [s for s in size if s > 1] or [1]
  height = 1
  while min(sides) >= _FILTER_TAPS:
    sides = [s // 2 for s in sides]
    height += 1
  return height


def level_alphas(size: tuple[int, ...], levels: int, alpha: float,
                 lambda_c: float, exaggeration: float) -> tuple[float, ...]:
  """Per-level amplification, finest level first (Wu et al.'s Figure 6 rule)."""
  delta = lambda_c / 8.0 / (1.0 + alpha)
  wavelength = math.hypot(*size) / 3.0  # coarsest level; 3 is Wu et al.'s constant
  alphas = []
  for level in reversed(range(levels)):
    current = exaggeration * (wavelength / delta / 8.0 - 1.0)
    edge = level in (0, levels - 1)   # finest band and residual are not amplified
    alphas.append(0.0 if edge else min(max(current, 0.0), alpha))
    wavelength /= 2.0
  return tuple(alphas[::-1])


@jax.jit
def _magnified_change(x: jax.Array, r1: float, r2: float, alphas: jax.Array,
                      chrom: float) -> jax.Array:
  """The amplified band-passed signal to add to `x` `[T, H, W, C]`."""
  rgb = x.shape[-1] == 3
  if rgb:
    x = jnp.matmul(x, jnp.asarray(_RGB_TO_YIQ.T, x.dtype), precision=_EXACT)  # YIQ
  pyramid = build_pyramid(x, alphas.shape[0])
  filtered = temporal_bandpass(pyramid, r1, r2)
  delta = reconstruct([alphas[i] * f for i, f in enumerate(filtered)])
  if rgb:
    delta = delta * jnp.stack([1.0, chrom, chrom]).astype(x.dtype)
    delta = jnp.matmul(delta, jnp.asarray(np.linalg.inv(_RGB_TO_YIQ).T, x.dtype),
                       precision=_EXACT)
  return delta


def temporal_bandpass(pyramid: list[jax.Array], r1: float,
                      r2: float) -> list[jax.Array]:
  """Difference of two first-order IIR low-passes along time, state = frame 0."""
  first = [level[0] for level in pyramid]

  def step(carry, frame):
    low1, low2 = carry
    low1 = jax.tree.map(lambda y, v: (1.0 - r1) * y + r1 * v, low1, frame)
    low2 = jax.tree.map(lambda y, v: (1.0 - r2) * y + r2 * v, low2, frame)
    return (low1, low2), jax.tree.map(jnp.subtract, low1, low2)

  _, out = lax.scan(step, (first, first), pyramid)
  return out


def build_pyramid(x: jax.Array, levels: int) -> list[jax.Array]:
  """Laplacian pyramid of `x` `[T, H, W, C]`: `levels - 1` bands, then the residual."""
  bands = []
  for _ in range(levels - 1):
    (down_h, up_h), (down_w, up_w) = (_scale_matrices(n) for n in x.shape[1:3])
    coarse = _apply(x, down_h, down_w)                       # [T, H/2, W/2, C]
    bands.append(x - _apply(coarse, up_h, up_w))
    x = coarse
  return bands + [x]


def reconstruct(pyramid: list[jax.Array]) -> jax.Array:
  """Inverse of `build_pyramid` (exact up to rounding)."""
  x = pyramid[-1]
  for band in reversed(pyramid[:-1]):
    (_, up_h), (_, up_w) = (_scale_matrices(n) for n in band.shape[1:3])
    x = band + _apply(x, up_h, up_w)
  return x


def _apply(x: jax.Array, rows: np.ndarray, cols: np.ndarray) -> jax.Array:
  """`rows @ x @ cols.T` on the spatial axes of `x` `[T, H, W, C]`."""
  return jnp.einsum("ah,thwc,bw->tabc", jnp.asarray(rows, x.dtype), x,
                    jnp.asarray(cols, x.dtype), precision=_EXACT)


def _scale_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
  """(down `[ceil(n/2), n]`, up `[n, ceil(n/2)]`) for one spatial axis.

  Down: binomial blur with mirror edges (`reflect1`), keep even samples. Up:
  zero insertion at even samples, then the same blur with gain 2. An axis of
  length 1 (a 1-D image) is left alone.
  """
  if n == 1:
    return np.ones((1, 1)), np.ones((1, 1))
  blur = np.zeros((n, n))
  for offset, weight in enumerate(_BINOMIAL5, start=-2):
    src = np.abs(np.arange(n) + offset)                     # mirror at 0 ...
    src = np.where(src > n - 1, 2 * (n - 1) - src, src)     # ... and at n - 1
    np.add.at(blur, (np.arange(n), src), weight)
  down = blur[::2]                                          # [ceil(n/2), n]
  up = 2.0 * blur[:, ::2]                                   # [n, ceil(n/2)]
  return down, up
