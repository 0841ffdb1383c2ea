"""HOOF: uniform flows land in the right bin, magnitudes weigh the votes, blocks stay apart."""

import numpy as np
import pytest

from mer_jax.preprocess.descriptors import blocks, hoof


def uniform_flow(u: float, v: float, shape=(3, 10, 10)) -> np.ndarray:
  flows = np.zeros(shape + (2,), np.float32)
  flows[..., 0], flows[..., 1] = u, v
  return flows


# (u, v) with image y down -> the 'full' sector, N = 4 (right, up, left, down) and N = 8.
@pytest.mark.parametrize("u, v, bin4, bin8", [
    (1.0, 0.0, 0, 0), (0.0, -1.0, 1, 2), (-1.0, 0.0, 2, 4), (0.0, 1.0, 3, 6),
    (0.7, -0.7, None, 1), (-0.7, 0.7, None, 5), (0.9, 0.2, 0, 0)])
def test_uniform_flow_puts_all_mass_in_its_bin(u, v, bin4, bin8):
  for bins, expected in ((4, bin4), (8, bin8)):
    if expected is None:
      continue
    feats = hoof.features(uniform_flow(u, v), bins=bins, grid=(2, 2)).reshape(4, bins)
    want = np.zeros((4, bins), np.float32)
    want[:, expected] = 1.0
    np.testing.assert_array_equal(feats, want)


def test_mirror_binning_shares_a_bin_between_left_and_right():
  right_up = hoof.orientation_bins(np.array([[0.8, -0.3]]), 4, "mirror")
  left_up = hoof.orientation_bins(np.array([[-0.8, -0.3]]), 4, "mirror")
  down = hoof.orientation_bins(np.array([[0.0, 1.0]]), 4, "mirror")
  up = hoof.orientation_bins(np.array([[0.0, -1.0]]), 4, "mirror")
  assert right_up == left_up == 2 and down == 0 and up == 3


def test_votes_are_weighted_by_magnitude_and_blocks_are_separate():
  flows = np.zeros((2, 8, 8, 2), np.float32)
  flows[:, :4, :4, 0] = 1.0     # top-left block: rightwards, magnitude 1
  flows[0, :4, :4, 1] = 0.0
  flows[1, :4, 4:, 0] = -3.0    # top-right block: leftwards, magnitude 3 (frame 1) ...
  flows[0, :4, 4:, 1] = 1.0     # ... and downwards, magnitude 1 (frame 0)
  feats = hoof.features(flows, bins=4, grid=2).reshape(2, 2, 4)
  np.testing.assert_allclose(feats[0, 0], [1, 0, 0, 0])
  np.testing.assert_allclose(feats[0, 1], [0, 0, 0.75, 0.25])
  np.testing.assert_array_equal(feats[1], np.zeros((2, 4)))  # no motion: zeros, not NaN


def test_block_index_splits_like_atnet_blocks():
  index = blocks.block_index(7, 5, (2, 3))
  np.testing.assert_array_equal(index[:, 0], [0, 0, 0, 0, 3, 3, 3])  # floor(i * 2 / 7)
  np.testing.assert_array_equal(index[0], [0, 0, 1, 1, 2])          # floor(j * 3 / 5)
  with pytest.raises(ValueError, match="smaller than the 8 x 8 grid"):
    blocks.block_index(5, 5, 8)


def test_bad_arguments_say_what_was_expected():
  with pytest.raises(ValueError, match=r"\[T, H, W, 2\]"):
    hoof.features(np.zeros((4, 4, 2)))
  with pytest.raises(ValueError, match="binning"):
    hoof.features(uniform_flow(1, 0), binning="half")
