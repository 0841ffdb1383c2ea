"""ATNet's average direction-magnitude (ADM) features (Peng et al. 2019, III-A).

The temporal stream of ATNet reads 64 flows between the 65 frames around the
apex; each flow is split into 8 x 8 blocks and every block gives its mean
flow direction and mean flow magnitude: 128 numbers per flow.

Choices, from the paper and the authors' released feature files
(`ATN/CDE/*/Test_optical.txt` in the ACII19-Apex-Time-Network repository):
- Direction is the mean of the per-pixel angles (eq. 6 averages theta over
  the block), not the angle of the mean vector. The angle is
  atan2(v, u) in (-pi, pi] (MATLAB `cart2pol`, which the files' 5-significant-
  digit numbers and signed angles point to), u = flow[..., 0] horizontal,
  v = flow[..., 1] vertical (image y points down); magnitude is hypot(u, v).
- Layout is interleaved, direction first: (theta_1, rho_1, theta_2, rho_2,
  ...), the column order of the authors' files (cart2pol returns
  [theta, rho]); `layout='split'` gives all magnitudes, then all directions.
- Blocks run row-major (block row outer); sides that `grid` does not divide
  are split at floor(i * H / grid) (224 / 8 = 28 in the paper, exact).
- Window: the authors' files hold zero rows for flows that fall outside the
  clip, and their Caffe data layer moves every non-zero row to the end of
  the sequence (zeros first). `select_window(mode='front')` reproduces that by
  repeating the first available frame in front: the flows between repeated
  frames are zero, so their feature rows are zero and come first.
"""

from __future__ import annotations

import numpy as np


def block_means(values: np.ndarray, grid: int) -> np.ndarray:
  """Means of `values` `[T, H, W, ...]` over `grid x grid` blocks -> `[T, grid, grid, ...]`."""
  averages = []
  for size in values.shape[1:3]:
    if size < grid:
      raise ValueError(f"a side of {size} pixels cannot hold {grid} blocks")
    edges = np.arange(grid + 1) * size // grid                 # [grid + 1]
    member = (np.arange(size)[None, :] >= edges[:-1, None]) & (
        np.arange(size)[None, :] < edges[1:, None])             # [grid, size]
    averages.append(member / member.sum(axis=1, keepdims=True))
  rows, cols = averages
  return np.einsum("gh,thw...,kw->tgk...", rows, values, cols)


def features(flows: np.ndarray, grid: int = 8, layout: str = "interleaved") -> np.ndarray:
  """ADM features of `flows` `[T, H, W, 2]` (u, v) -> `[T, 2 * grid * grid]` float32.

  Args:
    flows: optical flows, channel 0 horizontal, channel 1 vertical.
    grid: blocks per side (8 in ATNet).
    layout: 'interleaved' (theta_1, rho_1, theta_2, ...; the authors' files)
      or 'split' (all magnitudes, then all directions).
  """
  flows = np.asarray(flows)
  if flows.ndim != 4 or flows.shape[-1] != 2:
    raise ValueError(f"flows must be [T, H, W, 2], got {flows.shape}")
  u, v = flows[..., 0].astype(np.float64), flows[..., 1].astype(np.float64)
  polar = np.stack([np.arctan2(v, u), np.hypot(u, v)], axis=-1)  # [T, H, W, 2]
  means = block_means(polar, grid).reshape(flows.shape[0], -1, 2)  # [T, B, 2]
  if layout == "interleaved":
    out = means.reshape(flows.shape[0], -1)
  elif layout == "split":
    out = np.concatenate([means[..., 1], means[..., 0]], axis=1)
  else:
    raise ValueError(f"layout must be 'interleaved' or 'split', got {layout!r}")
  return out.astype(np.float32)


def select_window(num_frames: int, apex: int, width: int = 65,
                  mode: str = "front") -> np.ndarray:
  """Indices of the `width` frames around `apex` (32 each side for 65).

  Args:
    num_frames: frames in the clip (T >= 1).
    apex: 0-based apex index in the clip.
    width: window length (65 in ATNet: 64 flows).
    mode: what stands in for frames beyond the clip. 'front' (the authors'
      behaviour, see the module docstring): the in-clip part of the window,
      preceded by copies of its first frame. 'edge': every index clamped to
      the clip, so the apex stays at position (width - 1) // 2.

  Returns:
    `[width]` int indices into the clip, non-decreasing.
  """
  if not 0 <= apex < num_frames:
    raise ValueError(f"apex {apex} is outside a clip of {num_frames} frames")
  before = (width - 1) // 2
  offsets = np.arange(width) - before                          # [width]
  if mode == "edge":
    return np.clip(apex + offsets, 0, num_frames - 1)
  if mode != "front":
    raise ValueError(f"mode must be 'front' or 'edge', got {mode!r}")
  inside = apex + offsets
  inside = inside[(inside >= 0) & (inside < num_frames)]
  return np.concatenate([np.full(width - inside.size, inside[0]), inside])
