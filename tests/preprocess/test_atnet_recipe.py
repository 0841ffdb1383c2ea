"""The ATNet (Peng et al. 2019) recipe: apex image and ADM features, against OpenCV.

The reference ADM is computed here from scratch (cv2 grey + resize, OpenCV's
DualTVL1 on the window's frame pairs, numpy arctan2 / hypot block means), not
through `adm` or `flow`. Clips are smooth textures that translate by a known
sub-pixel step per frame, so the flow is known too.
"""

import cv2
import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.preprocess import recipes

RECIPE = {"name": "atnet", "image_size": 24, "flow_size": 32, "window": 9, "grid": 4,
          "pad": "front", "layout": "interleaved", "flow": "opencv_tvl1"}
STEP = (0.8, 0.4)  # (x, y) pixels per frame; y points down


def _moving_clip(t, size, step=STEP, seed=0):
  """uint8 RGB `[t, size, size, 3]`: a smooth random texture moved by `step` per frame."""
  rng = np.random.default_rng(seed)
  freq, phase = rng.normal(0.0, 0.06, (40, 2)), rng.uniform(0, 2 * np.pi, 40)
  amp = rng.normal(size=40)
  y, x = np.mgrid[0:size, 0:size].astype(np.float64)
  frames = []
  for i in range(t):  # frame i shows the texture at (x - i * dx, y - i * dy)
    arg = 2 * np.pi * (freq[:, :1, None] * (x - i * step[0]) +
                       freq[:, 1:, None] * (y - i * step[1]))
    frames.append(np.einsum("k,khw->hw", amp, np.cos(arg + phase[:, None, None])))
  f = np.stack(frames)
  f = (f - f.min()) / (f.max() - f.min()) * 200 + 28
  return np.repeat(np.round(f).astype(np.uint8)[..., None], 3, axis=-1)


def _reference_adm(clip, index, size, grid):
  """ADM `[len(index) - 1, 2 * grid^2]` straight from cv2 and numpy (interleaved)."""
  grey = [cv2.resize(cv2.cvtColor(clip[i], cv2.COLOR_RGB2GRAY), (size, size),
                     interpolation=cv2.INTER_AREA).astype(np.float32) / 255 for i in index]
  tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
  b = size // grid
  rows = []
  for a, c in zip(grey[:-1], grey[1:]):
    f = tvl1.calc(a, c, None).astype(np.float64)                      # [S, S, 2]
    theta, rho = np.arctan2(f[..., 1], f[..., 0]), np.hypot(f[..., 0], f[..., 1])
    rows.append([m[r * b:(r + 1) * b, k * b:(k + 1) * b].mean()
                 for r in range(grid) for k in range(grid) for m in (theta, rho)])
  return np.array(rows)


def _interior(features, grid=4):
  """(direction, magnitude) of the blocks away from the border: `[T, grid-2, grid-2]` each."""
  blocks = features.reshape(len(features), grid, grid, 2)[:, 1:-1, 1:-1]
  return blocks[..., 0], blocks[..., 1]


def test_shapes_dtypes_and_the_apex_image():
  clip = _moving_clip(12, 40)
  got = recipes.run(clip, RECIPE, apex_index=5)
  assert sorted(got) == ["adm", "apex"]
  assert got["apex"].shape == (24, 24, 1) and got["apex"].dtype == np.uint8
  assert got["adm"].shape == (8, 32) and got["adm"].dtype == np.float32
  want = cv2.resize(cv2.cvtColor(clip[5], cv2.COLOR_RGB2GRAY), (24, 24),
                    interpolation=cv2.INTER_AREA)
  np.testing.assert_array_equal(got["apex"][..., 0], want)
  middle = recipes.atnet(clip, RECIPE, apex_index=None)["apex"]     # no apex: T // 2 = 6
  np.testing.assert_array_equal(middle[..., 0], cv2.resize(
      cv2.cvtColor(clip[6], cv2.COLOR_RGB2GRAY), (24, 24), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("pad, apex, index", [
    ("front", 3, [0, 0, 1, 2, 3, 4, 5, 6, 7]),          # window 3-4 .. 3+4; -1 is outside
    ("edge", 9, [5, 6, 7, 8, 9, 10, 11, 11, 11]),        # 12 and 13 are outside
])
def test_adm_equals_opencv_flows_and_numpy_block_means(pad, apex, index, monkeypatch):
  clip = _moving_clip(12, 40)
  calls = []
  real = recipes.flow.opencv_tvl1
  monkeypatch.setattr(recipes.flow, "opencv_tvl1",
                      lambda a, b, **kw: calls.append(1) or real(a, b, **kw))
  got = recipes.atnet(clip, dict(RECIPE, pad=pad), apex_index=apex)["adm"]
  want = _reference_adm(clip, index, 32, 4)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  same = np.diff(index) == 0
  assert len(calls) == np.count_nonzero(~same)           # padding pairs are not computed
  assert not got[same].any() and np.abs(got[~same]).max(axis=1).min() > 0
  if pad == "front":
    assert same[0] and not same[1:].any()                 # the zero row comes first


def test_split_layout_and_grid():
  clip = _moving_clip(12, 40)
  inter = recipes.atnet(clip, RECIPE, apex_index=5)["adm"]
  split = recipes.atnet(clip, dict(RECIPE, layout="split"), apex_index=5)["adm"]
  np.testing.assert_array_equal(split, np.concatenate([inter[:, 1::2], inter[:, 0::2]], 1))
  assert recipes.atnet(clip, dict(RECIPE, grid=2), apex_index=5)["adm"].shape == (8, 8)


def test_a_translation_gives_its_magnitude_and_direction():
  got = recipes.atnet(_moving_clip(9, 32), dict(RECIPE, flow_size=32), apex_index=4)["adm"]
  theta, rho = _interior(got)
  np.testing.assert_allclose(rho, np.hypot(*STEP), atol=0.06)
  np.testing.assert_allclose(theta, np.arctan2(STEP[1], STEP[0]), atol=0.08)
  theta_all, rho_all = got[:, 0::2], got[:, 1::2]        # the border blocks too, looser
  assert abs(rho_all.mean() - np.hypot(*STEP)) < 0.1
  assert abs(theta_all.mean() - np.arctan2(STEP[1], STEP[0])) < 0.1


def test_jax_tvl1_agrees_with_opencv_on_a_translation():
  clip = _moving_clip(9, 32)
  recipe = dict(RECIPE, flow_size=32)
  cv = recipes.atnet(clip, recipe, apex_index=4)["adm"]
  jx = recipes.atnet(clip, dict(recipe, flow="tvl1"), apex_index=4)["adm"]
  assert jx.shape == cv.shape == (8, 32) and jx.dtype == np.float32
  for a, b in zip(_interior(jx), _interior(cv)):       # the border differs (see flow.py)
    np.testing.assert_allclose(a, b, atol=0.06)
  np.testing.assert_allclose(_interior(jx)[1], np.hypot(*STEP), atol=0.06)


def test_jax_batches_only_distinct_pairs_padded_to_a_power_of_two(monkeypatch):
  sizes = []

  def fake(frames0, frames1):  # flow = (mean of frame0, mean of frame1) everywhere
    sizes.append(len(frames0))
    means = np.stack([frames0.mean((1, 2)), frames1.mean((1, 2))], -1)   # [N, 2]
    return np.broadcast_to(means[:, None, None], frames0.shape + (2,))
  monkeypatch.setattr(recipes.flow, "tvl1_batch", fake)
  clip = np.stack([np.full((8, 8, 3), 10 * i, np.uint8) for i in range(12)])
  got = recipes.atnet(clip, dict(RECIPE, flow="tvl1", flow_size=8, window=13, grid=1),
                      apex_index=1)["adm"]          # window -5..7: 5 zero pairs, then 7
  assert sizes == [8]                                # 7 distinct pairs padded to 8
  assert not got[:5].any()
  u, v = np.arange(7) * 10 / 255, np.arange(1, 8) * 10 / 255   # pairs (a, a + 1)
  np.testing.assert_allclose(got[5:, 1], np.hypot(u, v), rtol=1e-5)
  np.testing.assert_allclose(got[5:, 0], np.arctan2(v, u), rtol=1e-5)


@pytest.mark.parametrize("field, value", [("flow", "farneback"), ("pad", "mirror"),
                                          ("layout", "rows")])
def test_unknown_fields_are_config_errors(field, value):
  with pytest.raises(ConfigError, match=f"recipe.{field}={value!r}"):
    recipes.atnet(_moving_clip(3, 8), dict(RECIPE, **{field: value}), apex_index=1)


def test_apex_outside_the_clip_is_an_error():
  with pytest.raises(ValueError, match="outside"):
    recipes.atnet(_moving_clip(3, 8), RECIPE, apex_index=3)
