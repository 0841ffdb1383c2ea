"""ATNet's average direction-magnitude features and apex window."""

import numpy as np
import pytest

from mer_jax.preprocess import adm


def loop_features(flows: np.ndarray, grid: int) -> np.ndarray:
  """Direct per-block loop: (mean angle, mean magnitude) per block, row-major."""
  t, h, w, _ = flows.shape
  out = np.zeros((t, 2 * grid * grid))
  for i in range(t):
    for by in range(grid):
      for bx in range(grid):
        block = flows[i, by * h // grid:(by + 1) * h // grid,
                      bx * w // grid:(bx + 1) * w // grid].astype(np.float64)
        b = by * grid + bx
        out[i, 2 * b] = np.arctan2(block[..., 1], block[..., 0]).mean()
        out[i, 2 * b + 1] = np.hypot(block[..., 0], block[..., 1]).mean()
  return out


def test_shape_and_equality_with_a_direct_loop():
  flows = np.random.default_rng(0).normal(size=(64, 64, 64, 2)).astype(np.float32)
  got = adm.features(flows)
  assert got.shape == (64, 128) and got.dtype == np.float32
  np.testing.assert_allclose(got, loop_features(flows, 8), rtol=1e-5, atol=1e-5)


def test_uneven_sides_and_split_layout():
  flows = np.random.default_rng(1).normal(size=(3, 30, 45, 2))
  got = adm.features(flows, grid=4)
  np.testing.assert_allclose(got, loop_features(flows, 4), rtol=1e-5, atol=1e-5)
  split = adm.features(flows, grid=4, layout="split")
  np.testing.assert_array_equal(split[:, :16], got[:, 1::2])   # magnitudes first
  np.testing.assert_array_equal(split[:, 16:], got[:, 0::2])


@pytest.mark.parametrize("u, v", [(1.0, 0.0), (0.0, 2.0), (-1.5, -1.5), (0.3, -0.4)])
def test_uniform_flow(u, v):
  flows = np.broadcast_to(np.array([u, v], np.float32), (2, 48, 40, 2))
  got = adm.features(flows)
  np.testing.assert_allclose(got[:, 1::2], np.hypot(u, v), rtol=1e-6)
  np.testing.assert_allclose(got[:, 0::2], np.arctan2(v, u), rtol=1e-6)


def test_direction_is_the_mean_of_angles():
  # Half the block points at +170 degrees, half at -170: mean angle 0, not 180.
  flows = np.zeros((1, 8, 8, 2))
  ang = np.deg2rad(np.where(np.arange(8) % 2 == 0, 170.0, -170.0))
  flows[0, :, :, 0], flows[0, :, :, 1] = np.cos(ang)[None, :], np.sin(ang)[None, :]
  got = adm.features(flows, grid=1)
  np.testing.assert_allclose(got[0], [0.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("mode", ["front", "edge"])
@pytest.mark.parametrize("num_frames", [1, 10, 64, 65, 66, 150])
def test_window_length_and_centring(mode, num_frames):
  for apex in sorted({0, num_frames // 2, num_frames - 1, min(32, num_frames - 1)}):
    idx = adm.select_window(num_frames, apex, mode=mode)
    assert idx.shape == (65,)
    assert idx.min() >= 0 and idx.max() < num_frames and np.all(np.diff(idx) >= 0)
    assert apex in idx
    if 32 <= apex <= num_frames - 33:
      np.testing.assert_array_equal(idx, np.arange(apex - 32, apex + 33))


def test_window_padding_rules():
  # 'front': the in-clip frames right-aligned, copies of the first one before.
  idx = adm.select_window(40, 5)
  np.testing.assert_array_equal(idx, np.r_[np.zeros(27, int), np.arange(38)])
  assert np.count_nonzero(np.diff(idx)) == 37           # 37 real flows, 27 zero ones first
  idx = adm.select_window(100, 90)
  np.testing.assert_array_equal(idx, np.r_[np.full(23, 58), np.arange(58, 100)])
  # 'edge': clamped, apex always at position 32.
  idx = adm.select_window(40, 5, mode="edge")
  assert idx[32] == 5 and idx[0] == 0 and idx[-1] == 37
  with pytest.raises(ValueError):
    adm.select_window(10, 10)
