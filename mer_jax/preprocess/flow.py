"""Dual TV-L1 optical flow in JAX, the OpenCV reference, and ELRCN flow images.

`tvl1` follows Zach, Pock & Bischof (2007) in the form of Sanchez,
Meinhardt-Llopis & Facciolo (IPOL 2013) as OpenCV's `DualTVL1OpticalFlow`
(opencv_contrib optflow/src/tvl1flow.cpp) implements it, step for step:

* intensities on the 0-255 scale (float frames in [0, 1] are multiplied by
  255, as OpenCV does for CV_32F input), so lambda means the same in both;
* pyramid: each level is the previous one resized by `scale_step` with
  cv::resize INTER_LINEAR (half-pixel centres, edge clamping, NO blur: OpenCV
  does not smooth before downsampling); levels stop before a side < 16 px;
* per level, `warps` times: backward-warp frame1 and its central-difference
  gradient (edges replicated) by the current flow with Keys bicubic
  interpolation (a = -0.75, OpenCV's INTER_CUBIC; 'catmull_rom' and
  'bilinear' are options), linearise the data term;
  then up to `outer_iterations` x `inner_iterations` steps of: thresholding
  (rho) -> v, primal update u = v + theta div p, dual update of p with forward
  differences, stopping once sum |u_k+1 - u_k|^2 <= epsilon^2 * H * W; a 5x5
  median filter of u before each outer iteration (`median_filtering`);
* the dual variables start at zero per level and persist across warps; the
  flow is upsampled bilinearly to the finer level and divided by `scale_step`.

Differences from OpenCV: out-of-image samples replicate the edge (OpenCV's
remap blends in zeros, BORDER_CONSTANT); warp positions are exact floats
(OpenCV's remap quantises them to 1/32 px); gamma (illumination term) and
useInitialFlow are not offered. Shapes are static: one compile per image size
and parameter set.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import cv2
import jax
import jax.numpy as jnp
import numpy as np

Array = Any  # np.ndarray | jax.Array
_MIN_LEVEL_SIDE = 16  # OpenCV drops pyramid levels with a side below this
_FLOAT_EPS = float(np.finfo(np.float32).eps)
_CUBIC_A = {"bicubic": -0.75, "catmull_rom": -0.5}  # Keys kernel parameter


@dataclasses.dataclass(frozen=True)
class TVL1Params:
  """TV-L1 parameters; defaults are those of the installed OpenCV 4.14.

  `DualTVL1OpticalFlow_create()` getters report exactly these values.

  Attributes:
    tau: time step of the dual (projection) update.
    lambda_: weight of the data term (intensities on the 0-255 scale).
    theta: coupling between u and v.
    nscales: most pyramid levels (fewer when a side would fall below 16 px).
    warps: warps (re-linearisations) per level.
    epsilon: stop when the RMS change of u in one iteration is <= epsilon.
    inner_iterations: iterations per outer iteration.
    outer_iterations: outer iterations (each starts with the median filter).
    scale_step: size ratio between consecutive pyramid levels.
    median_filtering: median window applied to u (<= 1 turns it off).
    interpolation: warping kernel: 'bicubic' (OpenCV's Keys cubic, a=-0.75),
      'catmull_rom' (Keys a=-0.5 as in the IPOL code: third-order accurate,
      lower EPE on smooth motion) or 'bilinear'.
  """

  tau: float = 0.25
  lambda_: float = 0.15
  theta: float = 0.3
  nscales: int = 5
  warps: int = 5
  epsilon: float = 0.01
  inner_iterations: int = 30
  outer_iterations: int = 10
  scale_step: float = 0.8
  median_filtering: int = 5
  interpolation: str = "bicubic"

  def __post_init__(self):
    if self.interpolation not in _CUBIC_A and self.interpolation != "bilinear":
      raise ValueError(f"interpolation must be one of {[*_CUBIC_A, 'bilinear']}, "
                       f"got {self.interpolation!r}")
    if not 0.0 < self.scale_step < 1.0 or self.nscales < 1:
      raise ValueError(f"need 0 < scale_step < 1 and nscales >= 1: {self}")
    if self.median_filtering > 1 and self.median_filtering % 2 == 0:
      raise ValueError(f"median_filtering must be odd, got {self.median_filtering}")


# ------------------------------------------------------------- pyramid ---


def pyramid_shapes(height: int, width: int, nscales: int,
                   scale_step: float) -> list[tuple[int, int]]:
  """Level shapes, finest first, as OpenCV computes them (rounded, >= 16 px)."""
  shapes = [(height, width)]
  for _ in range(1, nscales):
    h, w = (round(n * scale_step) for n in shapes[-1])
    if h < _MIN_LEVEL_SIDE or w < _MIN_LEVEL_SIDE:
      break
    shapes.append((h, w))
  return shapes


def _linear_matrix(n_out: int, n_in: int, scale: float) -> np.ndarray:
  """cv::resize INTER_LINEAR along one axis as a matrix [n_out, n_in].

  Output pixel i samples input position (i + 0.5) * scale - 0.5, clamped to
  the edge pixels as OpenCV does.
  """
  src = (np.arange(n_out) + 0.5) * scale - 0.5
  i0 = np.floor(src).astype(np.int64)
  frac = src - i0
  frac[i0 < 0] = 0.0
  frac[i0 >= n_in - 1] = 0.0
  i0 = np.clip(i0, 0, n_in - 1)
  m = np.zeros((n_out, n_in), np.float32)
  rows = np.arange(n_out)
  np.add.at(m, (rows, i0), 1.0 - frac)
  np.add.at(m, (rows, np.minimum(i0 + 1, n_in - 1)), frac)
  return m


def _resize(img: jax.Array, shape: tuple[int, int], scale: tuple[float, float]):
  """Bilinear resize of [..., h, w] to [..., *shape]; scale = input px per output px."""
  my = _linear_matrix(shape[0], img.shape[-2], scale[0])  # [H', h]
  mx = _linear_matrix(shape[1], img.shape[-1], scale[1])  # [W', w]
  hi = jax.lax.Precision.HIGHEST
  return jnp.matmul(jnp.matmul(my, img, precision=hi), mx.T, precision=hi)


def _pyramid(img: jax.Array, shapes: list[tuple[int, int]], step: float) -> list:
  """Levels [h_s, w_s], finest first; each from the previous (as OpenCV)."""
  levels = [img]
  for shape in shapes[1:]:
    levels.append(_resize(levels[-1], shape, (1.0 / step, 1.0 / step)))
  return levels


# ------------------------------------------------------ finite differences ---


def _centered_gradient(img: jax.Array) -> jax.Array:
  """Central differences [2, h, w] (d/dx, d/dy); at the edges half a one-sided step."""
  p = jnp.pad(img, 1, mode="edge")
  dx = 0.5 * (p[1:-1, 2:] - p[1:-1, :-2])
  dy = 0.5 * (p[2:, 1:-1] - p[:-2, 1:-1])
  return jnp.stack([dx, dy])


def _forward_gradient(u: jax.Array) -> jax.Array:
  """Forward differences of [C, h, w] -> [C, 2, h, w]; 0 on the last column/row."""
  dx = jnp.pad(u[..., :, 1:] - u[..., :, :-1], ((0, 0), (0, 0), (0, 1)))
  dy = jnp.pad(u[..., 1:, :] - u[..., :-1, :], ((0, 0), (0, 1), (0, 0)))
  return jnp.stack([dx, dy], axis=1)


def _divergence(p: jax.Array) -> jax.Array:
  """Backward-difference divergence of [C, 2, h, w] -> [C, h, w] (-adjoint of grad)."""
  px, py = p[:, 0], p[:, 1]
  return (px - jnp.pad(px[..., :, :-1], ((0, 0), (0, 0), (1, 0))) +
          py - jnp.pad(py[..., :-1, :], ((0, 0), (1, 0), (0, 0))))


# ----------------------------------------------------- warping and median ---


def _cubic_weights(f: jax.Array, a: float) -> jax.Array:
  """Keys cubic weights [4, ...] for taps -1..2 at fraction f (OpenCV: a=-0.75)."""
  w0 = ((a * (f + 1) - 5 * a) * (f + 1) + 8 * a) * (f + 1) - 4 * a
  w1 = ((a + 2) * f - (a + 3)) * f * f + 1
  w2 = ((a + 2) * (1 - f) - (a + 3)) * (1 - f) * (1 - f) + 1
  return jnp.stack([w0, w1, w2, 1.0 - w0 - w1 - w2])


def _remap(images: jax.Array, flow: jax.Array, interpolation: str) -> jax.Array:
  """Samples images [C, h, w] at (x + flow_x, y + flow_y); edges replicated."""
  c, h, w = images.shape
  y, x = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32),
                      jnp.arange(w, dtype=jnp.float32), indexing="ij")
  sx, sy = x + flow[0], y + flow[1]  # [h, w]
  ix, iy = jnp.floor(sx), jnp.floor(sy)
  fx, fy = sx - ix, sy - iy
  if interpolation in _CUBIC_A:
    a = _CUBIC_A[interpolation]
    taps, wx, wy = jnp.arange(-1, 3), _cubic_weights(fx, a), _cubic_weights(fy, a)
  else:
    taps, wx, wy = jnp.arange(0, 2), jnp.stack([1 - fx, fx]), jnp.stack([1 - fy, fy])
  cols = jnp.clip(ix.astype(jnp.int32) + taps[:, None, None], 0, w - 1)  # [K, h, w]
  rows = jnp.clip(iy.astype(jnp.int32) + taps[:, None, None], 0, h - 1)  # [K, h, w]
  flat = rows[:, None] * w + cols[None, :]  # [K(y), K(x), h, w]
  taken = images.reshape(c, h * w)[:, flat]  # [C, K, K, h, w]
  return jnp.einsum("cijhw,ihw,jhw->chw", taken, wy, wx)


def _compare_swap(pool: list, i: int, j: int) -> None:
  """Puts the elementwise min at pool[i] and the max at pool[j]."""
  pool[i], pool[j] = jnp.minimum(pool[i], pool[j]), jnp.maximum(pool[i], pool[j])


def _drop_extremes(pool: list) -> list:
  """Removes the elementwise minimum and maximum from a list of arrays."""
  pool = list(pool)
  for i in range(len(pool) - 1):  # bubbles the max to the end
    _compare_swap(pool, i, i + 1)
  for i in range(len(pool) - 2, 0, -1):  # and the min to the front
    _compare_swap(pool, i - 1, i)
  return pool[1:-1]


def median_filter(img: jax.Array, size: int) -> jax.Array:
  """size x size median of [..., h, w] with replicated edges (= cv2.medianBlur).

  Uses forgetful selection with min/max only, which XLA fuses; sorting the
  size^2 shifted copies is ~50x slower on CPU.
  """
  r, (h, w) = size // 2, img.shape[-2:]
  p = jnp.pad(img, [(0, 0)] * (img.ndim - 2) + [(r, r), (r, r)], mode="edge")
  vals = [p[..., i:i + h, j:j + w] for i in range(size) for j in range(size)]
  keep = len(vals) // 2 + 2  # the median survives dropping extremes of this many
  pool, rest = vals[:keep], vals[keep:]
  for v in rest:
    pool = _drop_extremes(pool) + [v]
  while len(pool) > 1:
    pool = _drop_extremes(pool)
  return pool[0]


# ------------------------------------------------------------- TV-L1 core ---


def _iteration(u: jax.Array, dual: jax.Array, data: tuple, params: TVL1Params):
  """One thresholding + primal + dual step; returns (u, dual, sum |du|^2)."""
  ix, iy, grad, rho_c = data  # [h, w] each
  l_t, taut = params.lambda_ * params.theta, params.tau / params.theta
  rho = rho_c + ix * u[0] + iy * u[1]  # [h, w]
  safe = jnp.where(grad > _FLOAT_EPS, grad, 1.0)
  step = jnp.where(rho < -l_t * grad, l_t,
                   jnp.where(rho > l_t * grad, -l_t,
                             jnp.where(grad > _FLOAT_EPS, -rho / safe, 0.0)))
  v = u + step * jnp.stack([ix, iy])  # [2, h, w]
  u_new = v + params.theta * _divergence(dual)  # [2, h, w]
  error = jnp.sum((u_new - u) ** 2)
  du = _forward_gradient(u_new)  # [2, 2, h, w]
  norm = jnp.sqrt(jnp.sum(du**2, axis=1, keepdims=True))  # [2, 1, h, w]
  return u_new, (dual + taut * du) / (1.0 + taut * norm), error


def _running(stop: float, most: int):
  """Loop condition: not converged (error > stop) and fewer than `most` steps."""
  return lambda state: (state[3] > stop) & (state[0] < most)


def _minimise(u: jax.Array, dual: jax.Array, data: tuple, params: TVL1Params,
              stop: float) -> tuple[jax.Array, jax.Array]:
  """Outer loop (median filter, then inner loop) until converged; (u, dual)."""

  # state: (iteration count, u [2, h, w], dual [2, 2, h, w], last error)
  def inner(state):
    n, u, dual, _ = state
    return (n + 1, *_iteration(u, dual, data, params))

  def outer(state):
    n, u, dual, error = state
    if params.median_filtering > 1:
      u = median_filter(u, params.median_filtering)  # both components at once
    inner_going = _running(stop, params.inner_iterations)
    _, u, dual, error = jax.lax.while_loop(inner_going, inner, (0, u, dual, error))
    return n + 1, u, dual, error

  init = (0, u, dual, jnp.asarray(jnp.inf, jnp.float32))
  _, u, dual, _ = jax.lax.while_loop(_running(stop, params.outer_iterations), outer, init)
  return u, dual


def _solve_level(i0: jax.Array, i1: jax.Array, u: jax.Array, params: TVL1Params):
  """Refines the flow u [2, h, w] on one pyramid level of [h, w] images."""
  h, w = i0.shape
  stop = params.epsilon**2 * h * w  # OpenCV's scaledEpsilon
  sources = jnp.concatenate([i1[None], _centered_gradient(i1)])  # [3, h, w]

  def warp(_, carry):
    u, dual = carry
    i1w, ix, iy = _remap(sources, u, params.interpolation)  # [h, w] each
    rho_c = i1w - ix * u[0] - iy * u[1] - i0
    return _minimise(u, dual, (ix, iy, ix**2 + iy**2, rho_c), params, stop)

  dual = jnp.zeros((2, 2, h, w), jnp.float32)  # [component, direction, h, w]
  return jax.lax.fori_loop(0, params.warps, warp, (u, dual))[0]


def _flow(frame0: jax.Array, frame1: jax.Array, params: TVL1Params) -> jax.Array:
  """Coarse-to-fine TV-L1 on [H, W] frames in [0, 1]; flow [H, W, 2]."""
  shapes = pyramid_shapes(*frame0.shape, params.nscales, params.scale_step)
  step = params.scale_step
  pyr0 = _pyramid(255.0 * frame0.astype(jnp.float32), shapes, step)
  pyr1 = _pyramid(255.0 * frame1.astype(jnp.float32), shapes, step)
  u = jnp.zeros((2, *shapes[-1]), jnp.float32)  # [2, h, w] (x, y)
  for s in reversed(range(len(shapes))):
    u = _solve_level(pyr0[s], pyr1[s], u, params)
    if s > 0:  # to the next finer level, in its pixel units
      (h, w), (hs, ws) = shapes[s - 1], shapes[s]
      u = _resize(u, (h, w), (hs / h, ws / w)) / step
  return jnp.moveaxis(u, 0, -1)


_flow_jit = jax.jit(_flow, static_argnames=("params",))


@functools.partial(jax.jit, static_argnames=("params",))
def _flow_batch_jit(frames0: jax.Array, frames1: jax.Array, params: TVL1Params):
  return jax.vmap(lambda a, b: _flow(a, b, params))(frames0, frames1)


# ----------------------------------------------------------------- public ---


def _as_unit_float(frames: Array) -> np.ndarray | jax.Array:
  """uint8 frames -> float32 / 255; float frames are taken as already in [0, 1]."""
  if frames.dtype == np.uint8:
    return jnp.asarray(frames, jnp.float32) / 255.0
  return jnp.asarray(frames, jnp.float32)


def tvl1(frame0: Array, frame1: Array, **params) -> jax.Array:
  """TV-L1 optical flow from frame0 to frame1 (frame1(x + flow(x)) ~ frame0(x)).

  Args:
    frame0: grayscale [H, W], float in [0, 1] (uint8 is divided by 255).
    frame1: grayscale [H, W], same shape and scale.
    **params: fields of `TVL1Params` (tau, lambda_, theta, nscales, warps,
      epsilon, inner_iterations, outer_iterations, scale_step,
      median_filtering, interpolation); defaults are OpenCV's.

  Returns:
    float32 [H, W, 2]: x then y displacement in pixels.
  """
  return _flow_jit(_as_unit_float(frame0), _as_unit_float(frame1),
                   params=TVL1Params(**params))


def tvl1_batch(frames0: Array, frames1: Array, **params) -> jax.Array:
  """`tvl1` of N pairs at once (one jit, vmap over pairs): [N, H, W, 2].

  Args:
    frames0: [N, H, W] first frames of the pairs.
    frames1: [N, H, W] second frames.
    **params: as for `tvl1`.
  """
  return _flow_batch_jit(_as_unit_float(frames0), _as_unit_float(frames1),
                         params=TVL1Params(**params))


def opencv_tvl1(frame0: Array, frame1: Array, **params) -> np.ndarray:
  """Reference flow [H, W, 2] from cv2.optflow.DualTVL1OpticalFlow.

  Frames go to OpenCV as float32 in [0, 1]: OpenCV multiplies CV_32F input by
  255 itself (and takes uint8 as is), so no 8-bit quantisation is added.
  uint8 frames are passed unchanged. `params` are those of `tvl1`
  ('interpolation' must stay 'bicubic', OpenCV's only warping kernel).
  """
  p = TVL1Params(**params)
  if p.interpolation != "bicubic":
    raise ValueError("OpenCV's TV-L1 warps with bicubic interpolation only")
  algo = cv2.optflow.DualTVL1OpticalFlow_create(
      tau=p.tau, lambda_=p.lambda_, theta=p.theta, nscales=p.nscales,
      warps=p.warps, epsilon=p.epsilon, innnerIterations=p.inner_iterations,
      outerIterations=p.outer_iterations, scaleStep=p.scale_step, gamma=0.0,
      medianFiltering=p.median_filtering, useInitialFlow=False)
  a, b = (np.asarray(f) if np.asarray(f).dtype == np.uint8 else
          np.asarray(f, np.float32) for f in (frame0, frame1))
  return algo.calc(a, b, None)


def flow_image(flow: Array) -> Array:
  """ELRCN's flow image [H, W, 3]: (p, q, |v|), not normalised.

  Args:
    flow: [..., H, W, 2] (x, y) displacement, numpy or jax.
  """
  xp = jnp if isinstance(flow, jax.Array) else np
  magnitude = xp.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2)
  return xp.concatenate([flow, magnitude[..., None]], axis=-1)
