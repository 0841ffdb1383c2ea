"""Histograms of oriented optical flow (HOOF; Chaudhry et al., CVPR 2009), per face block.

Every flow vector votes for the bin of its direction with its magnitude. The
votes of all flows of a clip are summed per block of the face
(preprocess/descriptors/blocks.py), and each block's histogram is L1-normalised, so the
descriptor is `rows x cols` normalised histograms of `bins` bins.

Directions (not in the papers, see BUILD_NOTES.md): u = flow[..., 0] is the
horizontal component, v = flow[..., 1] the vertical one with image y
pointing down. The angle is measured counter-clockwise on the screen,
atan2(-v, u). With binning 'full', N equal sectors cover the circle and
sector 0 is centred on motion to the right (N=4: right, up, left, down).
With binning 'mirror' (Chaudhry et al.'s symmetric form), a motion and its
left-right mirror image share a bin: the angle is folded to
atan2(-v, |u|) in [-pi/2, pi/2] and N equal sectors cover that half circle,
from down to up.
"""

from __future__ import annotations

import numpy as np

from mer_jax.preprocess.descriptors import blocks

BINNINGS = ("full", "mirror")


def orientation_bins(flows: np.ndarray, bins: int, binning: str = "full") -> np.ndarray:
  """The bin of every flow vector of `flows` `[..., 2]` -> int64 `[...]` in 0 .. bins - 1."""
  if binning not in BINNINGS:
    raise ValueError(f"binning={binning!r}; expected one of {BINNINGS}")
  if bins < 1:
    raise ValueError(f"bins={bins}; expected at least 1")
  u, v = flows[..., 0].astype(np.float64), flows[..., 1].astype(np.float64)
  if binning == "full":
    width = 2 * np.pi / bins
    angle = np.mod(np.arctan2(-v, u) + width / 2, 2 * np.pi)  # sector 0 centred on 0
  else:
    width = np.pi / bins
    angle = np.arctan2(-v, np.abs(u)) + np.pi / 2               # [0, pi]
  return np.minimum((angle // width).astype(np.int64), bins - 1)


def features(flows: np.ndarray, bins: int = 8, grid=(5, 5), binning: str = "full"
             ) -> np.ndarray:
  """HOOF of a clip's flows `[T, H, W, 2]` -> float32 `[rows * cols * bins]`.

  Laid out as the row-major flattening of `[rows, cols, bins]`. A block
  without motion keeps an all-zero histogram.
  """
  flows = np.asarray(flows)
  if flows.ndim != 4 or flows.shape[-1] != 2:
    raise ValueError(f"flows must be [T, H, W, 2], got {flows.shape}")
  rows, cols = blocks.check_grid(grid)
  block = blocks.block_index(flows.shape[1], flows.shape[2], (rows, cols))   # [H, W]
  which = bins * block[None] + orientation_bins(flows, bins, binning)        # [T, H, W]
  magnitude = np.hypot(flows[..., 0].astype(np.float64), flows[..., 1].astype(np.float64))
  votes = np.bincount(which.ravel(), magnitude.ravel(), minlength=rows * cols * bins)
  hist = votes.reshape(rows * cols, bins)
  total = hist.sum(axis=1, keepdims=True)
  return (hist / np.where(total > 0, total, 1.0)).reshape(-1).astype(np.float32)
