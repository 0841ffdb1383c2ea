"""Fixed-length temporal resampling of a clip.

Recurrent models expect every clip to have the same number of frames. This
module holds plain linear resampling in time (`resample_linear`) and the
temporal interpolation model (TIM, Zhou, Zhao, Pietikainen 2011; `interpolate`)
that ELRCN (TIM 10) and ATNet's baselines (TIM 10/64) use, written after
Zhou's MATLAB code (`tim_getAniModel.m`, `tim_genAnimationData.m`).
"""

from __future__ import annotations

import numpy as np


def resample_linear(frames: np.ndarray, length: int) -> np.ndarray:
  """Resamples `frames` `[T, ...]` to `[length, ...]` by linear interpolation in time.

  The first and last frames are kept exactly; intermediate frames are blends of
  their two nearest neighbours. Works for any T >= 1 (a single frame is
  repeated).
  """
  if length < 1:
    raise ValueError(f"length must be >= 1, got {length}")
  t = frames.shape[0]
  if t == 0:
    raise ValueError("cannot resample an empty clip")
  pos = np.linspace(0.0, t - 1, length)                 # [length]
  lo = np.floor(pos).astype(np.int64)
  hi = np.minimum(lo + 1, t - 1)
  w = (pos - lo).reshape((-1,) + (1,) * (frames.ndim - 1))
  x = frames.astype(np.float32)
  return (1.0 - w) * x[lo] + w * x[hi]


def path_laplacian(num_frames: int) -> np.ndarray:
  """Laplacian `[T, T]` of the path graph joining frame t to frame t + 1."""
  adjacency = np.eye(num_frames, k=1) + np.eye(num_frames, k=-1)
  return np.diag(adjacency.sum(axis=1)) - adjacency


def embedding(positions: np.ndarray, num_frames: int) -> np.ndarray:
  """Zhou et al.'s curve: the path-graph eigenvectors as functions of position.

  y_k(p) = sin(pi k p + pi (T - k) / (2T)), k = 1 .. T-1, with frame t
  (0-based) at p = (t + 1) / T, i.e. y_k(t) = cos(pi k (t + 0.5) / T): the
  non-constant eigenvectors of `path_laplacian(T)` (eigenvalue
  2 - 2 cos(pi k / T)), unnormalised, in the form of Zhou's MATLAB code.

  Args:
    positions: `[n]` curve parameters in [1/T, 1].
    num_frames: T.

  Returns:
    `[n, T - 1]` embedding coordinates.
  """
  k = np.arange(1, num_frames)[None, :]                       # [1, T-1]
  p = np.asarray(positions, np.float64)[:, None]              # [n, 1]
  return np.sin(np.pi * k * p + np.pi * (num_frames - k) / (2 * num_frames))


def interpolation_matrix(num_frames: int, length: int) -> np.ndarray:
  """`[length, T]` matrix A with TIM output = mean + A @ (frames - mean)."""
  positions = np.linspace(1.0 / num_frames, 1.0, length)      # Zhou: pos in [1/T, 1]
  frame_positions = np.arange(1, num_frames + 1) / num_frames
  # Frames (centred) = F @ W'; the least-squares (pseudo-inverse) W' = pinv(F) @ frames.
  f = embedding(frame_positions, num_frames)                  # [T, T-1]
  return embedding(positions, num_frames) @ np.linalg.pinv(f)  # [length, T]


def interpolate(frames: np.ndarray, length: int) -> np.ndarray:
  """Temporal interpolation model (Zhou, Zhao, Pietikainen 2011) of `frames` `[T, ...]`.

  Follows Zhou's MATLAB code (`tim_getAniModel` / `tim_genAnimationData`,
  called as `tim_genAnimationData(model, 0, 1, length)`): the T frames are
  points in pixel space joined by a path graph; its Laplacian eigenvectors
  (see `embedding`) put them on a curve, a linear map W from the curve to the
  mean-centred frames is fitted, and `length` points evenly spaced on the
  curve's parameter in [1/T, 1] are mapped back. The first and last outputs
  are the first and last frames; `length == T` returns the frames.

  Zhou's code first projects the frames on their PCA basis and solves a
  generalised eigenproblem for W; when the centred frames have full rank
  (T - 1) that equals the pseudo-inverse solution used here, which is also
  defined for degenerate clips (repeated frames, fewer pixels than frames)
  where the MATLAB code adds 0.01 to its singular-value matrix instead.
  The result is the trigonometric (DCT-II) interpolant of every pixel's series.

  Args:
    frames: `[T, ...]`, any trailing shape (e.g. `[T, H, W, C]`), T >= 1.
    length: output frames (>= 1); a single input frame is repeated.

  Returns:
    `[length, ...]` float32 (float64 for float64 input).
  """
  if length < 1:
    raise ValueError(f"length must be >= 1, got {length}")
  frames = np.asarray(frames)
  t = frames.shape[0]
  if t == 0:
    raise ValueError("cannot interpolate an empty clip")
  dtype = np.result_type(frames.dtype, np.float32)
  if t == 1:
    return np.repeat(frames.astype(dtype), length, axis=0)
  x = frames.reshape(t, -1).astype(np.float64)                # [T, D]
  mean = x.mean(axis=0)                                       # [D]
  out = mean + interpolation_matrix(t, length) @ (x - mean)   # [length, D]
  return out.reshape((length,) + frames.shape[1:]).astype(dtype)
