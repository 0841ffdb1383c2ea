"""LBP-TOP codes against scikit-image's `local_binary_pattern`, slice by slice."""

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from mer_jax.preprocess.descriptors import lbp_top


def images() -> list[np.ndarray]:
  """Random texture and flat regions (ties where bilinear weights meet equal pixels)."""
  rng = np.random.default_rng(0)
  blocks = (rng.integers(0, 2, (4, 5)) * 7).repeat(5, axis=0).repeat(6, axis=1)[:17, :23]
  shifted = (rng.integers(0, 2, (6, 6)) * 3 + 100).repeat(4, axis=0).repeat(4, axis=1)
  return [
      rng.integers(0, 256, (17, 23), dtype=np.uint8),
      blocks.astype(np.uint8),
      shifted.astype(np.uint8),
      np.full((9, 11), 7, np.uint8),
  ]


@pytest.mark.parametrize("mapping", lbp_top.MAPPINGS)
@pytest.mark.parametrize("radius", [1, 3, 2.5, 1.1])
@pytest.mark.parametrize("points", [4, 8])
def test_plane_codes_equal_skimage(points, radius, mapping):
  for image in images():
    expected = local_binary_pattern(image, points, radius, method=mapping)
    codes = lbp_top.plane_codes(image, points, radius, mapping)
    assert codes.shape == image.shape
    assert np.issubdtype(codes.dtype, np.integer)
    np.testing.assert_array_equal(codes, expected)


def test_plane_codes_batch_over_leading_axes():
  stack = np.stack([image[:16, :16] for image in images()[:3]]).reshape(3, 1, 16, 16)
  codes = lbp_top.plane_codes(stack, 8, 2.5, "nri_uniform")
  assert codes.shape == stack.shape
  for k in range(3):
    expected = local_binary_pattern(stack[k, 0], 8, 2.5, method="nri_uniform")
    np.testing.assert_array_equal(codes[k, 0], expected)


def test_neighbour_offsets():
  rows, cols = lbp_top.neighbour_offsets(4, 3)
  np.testing.assert_array_equal(rows, [0, -3, 0, 3])
  np.testing.assert_array_equal(cols, [3, 0, -3, 0])
  rows, cols = lbp_top.neighbour_offsets(8, 1)
  assert rows[1] == -0.70711 and cols[1] == 0.70711
  assert rows.dtype == cols.dtype == np.float64


def test_volume_codes_match_skimage_per_slice():
  volume = np.random.default_rng(1).integers(0, 256, (9, 12, 14), dtype=np.uint8)
  radii = (1, 2, 2.5)
  codes = lbp_top.volume_codes(volume, radii, 8, "nri_uniform")
  for name in lbp_top.PLANES:
    assert codes[name].shape == volume.shape
  for t in range(9):
    expected = local_binary_pattern(volume[t], 8, radii[0], method="nri_uniform")
    np.testing.assert_array_equal(codes["xy"][t], expected)
  for y in range(12):
    expected = local_binary_pattern(volume[:, y, :], 8, radii[1], method="nri_uniform")
    np.testing.assert_array_equal(codes["xt"][:, y, :], expected)
  for x in range(14):
    expected = local_binary_pattern(volume[:, :, x], 8, radii[2], method="nri_uniform")
    np.testing.assert_array_equal(codes["yt"][:, :, x], expected)


def test_margins():
  assert lbp_top.margins((3, 3, 3)) == (3, 3, 3)
  assert lbp_top.margins((1, 2, 3)) == (3, 3, 2)
  assert lbp_top.margins((2.5, 1, 1)) == (1, 3, 3)


@pytest.mark.parametrize("points, bins", [(4, 15), (8, 59)])
def test_features_shape_and_normalisation(points, bins):
  volume = np.random.default_rng(2).integers(0, 256, (8, 24, 26), dtype=np.uint8)
  feats = lbp_top.features(volume, (3, 3, 3), points, (5, 5))
  assert feats.dtype == np.float32 and feats.shape == (5 * 5 * 3 * bins,)
  np.testing.assert_allclose(feats.reshape(75, bins).sum(axis=1), 1.0, rtol=1e-6)
  np.testing.assert_array_equal(lbp_top.features(volume.astype(np.float64), (3, 3, 3),
                                                 points, (5, 5)), feats)
  np.testing.assert_array_equal(lbp_top.features(volume, (3, 3, 3), points, 5), feats)


def test_features_equal_histograms_of_skimage_codes():
  volume = np.random.default_rng(3).integers(0, 256, (9, 20, 21), dtype=np.uint8)
  radii, points, grid, mapping = (1, 2, 3), 4, (5, 4), "nri_uniform"
  bins = lbp_top.num_bins(points, mapping)
  feats = lbp_top.features(volume, radii, points, grid, mapping).reshape(*grid, 3, bins)

  def sk(image, radius):
    return local_binary_pattern(image, points, radius, method=mapping)

  planes = [
      np.stack([sk(volume[t], radii[0]) for t in range(9)]),
      np.stack([sk(volume[:, y, :], radii[1]) for y in range(20)], axis=1),
      np.stack([sk(volume[:, :, x], radii[2]) for x in range(21)], axis=2),
  ]
  mt, my, mx = 3, 3, 2                                  # ceil of the radii each axis sees
  # Block i of n over a side of s interior pixels starts at ceil(i * s / n) (blocks.py).
  ys = my + -(-np.arange(grid[0] + 1) * (20 - 2 * my) // grid[0])
  xs = mx + -(-np.arange(grid[1] + 1) * (21 - 2 * mx) // grid[1])
  for i in range(grid[0]):
    for j in range(grid[1]):
      for p, codes in enumerate(planes):
        block = codes[mt:9 - mt, ys[i]:ys[i + 1], xs[j]:xs[j + 1]]
        hist, _ = np.histogram(block, bins=np.arange(bins + 1))
        np.testing.assert_allclose(feats[i, j, p], hist / block.size, rtol=1e-6)


def test_errors():
  volume = np.zeros((5, 20, 20), np.uint8)
  with pytest.raises(ValueError, match="5 frames is too short for temporal radius 3.*7 frames"):
    lbp_top.features(volume, (3, 3, 3))
  with pytest.raises(ValueError, match="interior 4 x 4 is smaller than the 5 x 5 grid"):
    lbp_top.features(np.zeros((9, 10, 10)), (3, 3, 3), grid=(5, 5))
  with pytest.raises(ValueError, match="mapping must be one of.*nri_uniform.*'ror'"):
    lbp_top.features(np.zeros((9, 20, 20)), mapping="ror")
  with pytest.raises(ValueError, match="volume must be a grey clip"):
    lbp_top.features(np.zeros((9, 20, 20, 3)))
  with pytest.raises(ValueError, match="points must be an integer >= 1"):
    lbp_top.plane_codes(np.zeros((5, 5)), 0, 1)
  with pytest.raises(ValueError, match="grid=.*expected a block count"):
    lbp_top.features(np.zeros((9, 20, 20)), grid=(0, 2))
  with pytest.raises(ValueError, match="radius must be > 0"):
    lbp_top.plane_codes(np.zeros((5, 5)), 4, 0)


def test_num_bins_cover_the_skimage_codes():
  assert lbp_top.num_bins(8, "nri_uniform") == 59
  assert lbp_top.num_bins(4, "nri_uniform") == 15
  assert lbp_top.num_bins(8, "uniform") == 10
  assert lbp_top.num_bins(8, "default") == 256
  rng = np.random.default_rng(4)
  for points, mapping in [(4, "nri_uniform"), (4, "uniform"), (4, "default"),
                          (8, "nri_uniform")]:
    seen = set()
    for _ in range(4):
      image = rng.integers(0, 256, (24, 24), dtype=np.uint8)
      seen |= set(local_binary_pattern(image, points, 1, method=mapping).astype(int).ravel())
    assert seen == set(range(lbp_top.num_bins(points, mapping)))
