"""LBP-TOP: local binary patterns on three orthogonal planes (Zhao & Pietikainen 2007).

A grey clip `[T, H, W]` is read as three stacks of 2-D slices: the frames (XY),
the slices at fixed y (XT, rows t, cols x) and the slices at fixed x (YT, rows
t, cols y). Every slice gets a circular LBP with P neighbours at radius R (one
radius per plane), the codes are histogrammed over a spatial grid of blocks
and the histograms concatenated.

The per-slice codes are those of `skimage.feature.local_binary_pattern`,
reproduced exactly and vectorised over pixels:
- neighbour p sits at (row, col) offset (round(-R sin a, 5), round(R cos a, 5)),
  a = 2 pi p / P, and is read by bilinear interpolation with scikit-image's
  floor/ceil corners and arithmetic order; pixels outside the slice read 0, so
  border codes see a zero frame around the image;
- a neighbour's bit is (value - centre >= 0), float64;
- 'uniform' and 'nri_uniform' count bit changes along p = 0 .. P-1 without the
  wrap-around pair (equivalent to the circular count for the <= 2 test).

Voxels whose neighbours in some plane would fall outside the clip (`margins`)
are left out of the histograms, so the zero border never enters a feature.
"""

from __future__ import annotations

import math

import numpy as np

from mer_jax.preprocess.descriptors import blocks

MAPPINGS = ("nri_uniform", "uniform", "default")   # scikit-image `method` names
PLANES = ("xy", "xt", "yt")


def _check_mapping(mapping: str) -> None:
  """Raises unless `mapping` is one of MAPPINGS."""
  if mapping not in MAPPINGS:
    raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")


def _check_points_radius(points: int, radius: float) -> None:
  """Raises unless `points` is an integer >= 1 and `radius` > 0."""
  if not isinstance(points, (int, np.integer)) or points < 1:
    raise ValueError(f"points must be an integer >= 1, got {points}")
  if not radius > 0:
    raise ValueError(f"radius must be > 0, got {radius}")


def neighbour_offsets(points: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
  """(row, col) offsets `[P]` float64 of the P circular neighbours, as scikit-image.

  Angle 2 pi p / P; row = round(-R sin, 5), col = round(R cos, 5), R in float64.
  """
  _check_points_radius(points, radius)
  r = float(radius)
  angles = 2 * np.pi * np.arange(points, dtype=np.float64) / points
  return np.round(-r * np.sin(angles), 5), np.round(r * np.cos(angles), 5)


def num_bins(points: int, mapping: str) -> int:
  """Number of codes: nri_uniform P (P - 1) + 3 (59 for P = 8); uniform P + 2; default 2^P."""
  _check_mapping(mapping)
  if mapping == "nri_uniform":
    return points * (points - 1) + 3
  if mapping == "uniform":
    return points + 2
  return 2 ** points


def _corners(coords: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """floor / ceil indices (out of range -> `size`, a zero line) and weight of `coords`."""
  low, high = np.floor(coords), np.ceil(coords)
  weight = coords - low
  low, high = low.astype(np.int64), high.astype(np.int64)
  low[(low < 0) | (low >= size)] = size
  high[(high < 0) | (high >= size)] = size
  return low, high, weight


def _neighbour(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray, dr_off: float,
               dc_off: float) -> np.ndarray:
  """Bilinear values at (rows + dr_off, cols + dc_off) of zero-padded slices, as scikit-image."""
  height, width = padded.shape[-2] - 1, padded.shape[-1] - 1
  minr, maxr, dr = _corners(rows + dr_off, height)
  minc, maxc, dc = _corners(cols + dc_off, width)
  top_rows = np.take(padded, minr, axis=-2)
  bottom_rows = np.take(padded, maxr, axis=-2)
  top = (1 - dc) * np.take(top_rows, minc, axis=-1) + dc * np.take(top_rows, maxc, axis=-1)
  bottom = ((1 - dc) * np.take(bottom_rows, minc, axis=-1)
            + dc * np.take(bottom_rows, maxc, axis=-1))
  return (1 - dr)[:, None] * top + dr[:, None] * bottom


def _codes(planes: np.ndarray, points: int, radius: float, mapping: str, rows: np.ndarray,
           cols: np.ndarray) -> np.ndarray:
  """LBP codes of `planes` `[..., H, W]` at the pixels `rows` x `cols` -> `[..., rows, cols]`."""
  _check_mapping(mapping)
  row_off, col_off = neighbour_offsets(points, radius)
  image = np.asarray(planes, dtype=np.float64)
  padded = np.zeros(image.shape[:-2] + (image.shape[-2] + 1, image.shape[-1] + 1))
  padded[..., :-1, :-1] = image
  centre = image[..., rows[:, None], cols[None, :]]
  rows, cols = rows.astype(np.float64), cols.astype(np.float64)
  code_type = np.int64 if points > 30 else np.int32
  shape = centre.shape
  code = np.zeros(shape, code_type)
  ones, changes = np.zeros(shape, np.int32), np.zeros(shape, np.int32)
  first_one, first_zero = np.full(shape, -1, np.int32), np.full(shape, -1, np.int32)
  previous = None
  for i in range(points):
    bit = (_neighbour(padded, rows, cols, row_off[i], col_off[i]) - centre) >= 0
    if mapping == "default":
      code += bit.astype(code_type) << i
      continue
    ones += bit
    if previous is not None:
      changes += bit != previous
    first_one[(first_one < 0) & bit] = i
    first_zero[(first_zero < 0) & ~bit] = i
    previous = bit
  if mapping == "default":
    return code
  uniform = changes <= 2
  if mapping == "uniform":
    return np.where(uniform, ones, points + 1).astype(np.int32)
  rot_index = np.where(first_one == 0, ones - first_zero, points - first_one)
  code = 1 + (ones - 1) * points + rot_index
  code = np.where(ones == points, points * (points - 1) + 1, code)
  code = np.where(ones == 0, 0, code)
  return np.where(uniform, code, points * (points - 1) + 2).astype(np.int32)


def plane_codes(planes: np.ndarray, points: int, radius: float,
                mapping: str = "nri_uniform") -> np.ndarray:
  """LBP codes of every 2-D slice over the last two axes of `planes` `[..., rows, cols]`.

  Each slice's codes equal `skimage.feature.local_binary_pattern(slice, points,
  radius, method=mapping)` exactly, borders included. Returns int32 (int64 for
  'default' with more than 30 points), the shape of `planes`.
  """
  planes = np.asarray(planes)
  if planes.ndim < 2:
    raise ValueError(f"planes must have at least 2 dimensions, got shape {planes.shape}")
  rows, cols = np.arange(planes.shape[-2]), np.arange(planes.shape[-1])
  return _codes(planes, points, radius, mapping, rows, cols)


def _check_volume(volume: np.ndarray) -> np.ndarray:
  """`volume` as an array; raises unless it is 3-D."""
  volume = np.asarray(volume)
  if volume.ndim != 3:
    raise ValueError(f"volume must be a grey clip [T, H, W], got shape {volume.shape}")
  return volume


def volume_codes(volume: np.ndarray, radii: tuple[float, float, float], points: int,
                 mapping: str = "nri_uniform") -> dict[str, np.ndarray]:
  """Codes `[T, H, W]` of the three orthogonal planes of a grey clip `volume` `[T, H, W]`.

  'xy': each frame (rows y, cols x), radius radii[0]; 'xt': each slice at fixed
  y (rows t, cols x), radius radii[1]; 'yt': each slice at fixed x (rows t,
  cols y), radius radii[2].
  """
  volume = _check_volume(volume)
  r_xy, r_xt, r_yt = radii
  return {
      "xy": plane_codes(volume, points, r_xy, mapping),
      "xt": plane_codes(volume.transpose(1, 0, 2), points, r_xt, mapping).transpose(1, 0, 2),
      "yt": plane_codes(volume.transpose(2, 0, 1), points, r_yt, mapping).transpose(1, 2, 0),
  }


def margins(radii) -> tuple[int, int, int]:
  """(t, y, x) border widths left out of the histograms.

  A voxel counts only when its neighbours in all three planes lie inside the
  clip: t = ceil(max(r_xt, r_yt)), y = ceil(max(r_xy, r_yt)), x = ceil(max(r_xy, r_xt)).
  """
  r_xy, r_xt, r_yt = radii
  return (math.ceil(max(r_xt, r_yt)), math.ceil(max(r_xy, r_yt)), math.ceil(max(r_xy, r_xt)))


def _check_size(shape: tuple[int, int, int], border: tuple[int, int, int],
                grid: tuple[int, int]) -> None:
  """Raises unless the clip holds its margins and the interior holds the grid."""
  kinds = (("frames", "too short for temporal"), ("rows", "too small for vertical"),
           ("columns", "too small for horizontal"))
  for size, width, (unit, problem) in zip(shape, border, kinds):
    if size < 2 * width + 1:
      raise ValueError(f"a clip of {size} {unit} is {problem} radius {width}: it needs at "
                       f"least {2 * width + 1} {unit}")
  inner = (shape[1] - 2 * border[1], shape[2] - 2 * border[2])
  if inner[0] < grid[0] or inner[1] < grid[1]:
    raise ValueError(f"the interior {inner[0]} x {inner[1]} is smaller than the "
                     f"{grid[0]} x {grid[1]} grid")


def features(volume: np.ndarray, radii=(3, 3, 3), points: int = 4, grid=(5, 5),
             mapping: str = "nri_uniform") -> np.ndarray:
  """LBP-TOP descriptor of a grey clip `[T, H, W]` (uint8 or float; computed in float64).

  The interior voxels (inside `margins`, all interior frames) are split into
  grid[0] x grid[1] spatial blocks (an int n means n x n; `blocks.block_index`
  over the interior); per block and plane the
  codes' histogram with `num_bins(points, mapping)` bins, L1-normalised (an
  empty one stays zero).

  Returns:
    float32 `[grid[0] * grid[1] * 3 * num_bins]`, the row-major flattening of
    `[grid_rows, grid_cols, plane (xy, xt, yt), bin]`.
  """
  volume = _check_volume(volume)
  if len(radii) != 3:
    raise ValueError(f"radii must be (r_xy, r_xt, r_yt), got {radii}")
  for radius in radii:
    _check_points_radius(points, radius)
  bins = num_bins(points, mapping)
  grid = blocks.check_grid(grid)
  mt, my, mx = border = margins(radii)
  num_t, height, width = volume.shape
  _check_size(volume.shape, border, grid)
  t_in, y_in, x_in = (np.arange(mt, num_t - mt), np.arange(my, height - my),
                      np.arange(mx, width - mx))
  r_xy, r_xt, r_yt = radii
  xy = _codes(volume[mt:num_t - mt], points, r_xy, mapping, y_in, x_in)
  xt = _codes(volume.transpose(1, 0, 2)[my:height - my], points, r_xt, mapping, t_in, x_in)
  yt = _codes(volume.transpose(2, 0, 1)[mx:width - mx], points, r_yt, mapping, t_in, y_in)
  codes = np.stack([xy, xt.transpose(1, 0, 2), yt.transpose(1, 2, 0)])   # [3, Ti, Yi, Xi]
  block = blocks.block_index(len(y_in), len(x_in), grid)                # [Yi, Xi]
  plane = np.arange(3)[:, None, None, None]
  index = (block[None, None] * 3 + plane) * bins + codes
  counts = np.bincount(index.ravel(), minlength=grid[0] * grid[1] * 3 * bins)
  hist = counts.reshape(grid[0] * grid[1] * 3, bins).astype(np.float64)
  totals = hist.sum(axis=1, keepdims=True)
  hist = np.divide(hist, totals, out=np.zeros_like(hist), where=totals > 0)
  return hist.reshape(-1).astype(np.float32)
