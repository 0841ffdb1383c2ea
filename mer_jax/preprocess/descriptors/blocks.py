"""The block grid the hand-crafted descriptors histogram over.

A face of H x W pixels is cut into `rows x cols` blocks, row-major (block
row outer), split at floor(i * H / rows) as ATNet's ADM blocks
(preprocess/adm.py), so sides the grid does not divide give blocks that
differ by at most one pixel.
"""

from __future__ import annotations

import numpy as np


def check_grid(grid) -> tuple[int, int]:
  """`grid` as (rows, cols): an int n is n x n; both must be >= 1."""
  rows, cols = (grid, grid) if np.isscalar(grid) else tuple(grid)
  if int(rows) != rows or int(cols) != cols or rows < 1 or cols < 1:
    raise ValueError(f"grid={grid!r}; expected a block count n >= 1 or (rows, cols)")
  return int(rows), int(cols)


def block_index(height: int, width: int, grid) -> np.ndarray:
  """The block of every pixel, `[height, width]` int64 in 0 .. rows * cols - 1."""
  rows, cols = check_grid(grid)
  if height < rows or width < cols:
    raise ValueError(f"a {height} x {width} face is smaller than the {rows} x {cols} grid")
  row = np.arange(height) * rows // height                 # [H]
  col = np.arange(width) * cols // width                   # [W]
  return row[:, None] * cols + col[None, :]
