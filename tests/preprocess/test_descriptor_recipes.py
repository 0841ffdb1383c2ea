"""The baselines' recipes: which frames the descriptors read, and a real flow through HOOF."""

import cv2
import numpy as np
import pytest

from mer_jax.preprocess.descriptors import lbp_top
from mer_jax.errors import ConfigError
from mer_jax.preprocess import recipes

BASE = dict(face="none", image_size=16, window=0, num_frames=4, temporal="linear", grid=(2, 2))


def clip_of_levels(levels) -> np.ndarray:
  """Frames of one grey level each, `[T, 16, 16, 3]` uint8."""
  return np.repeat(np.asarray(levels, np.uint8)[:, None, None, None], 16 * 16 * 3
                   ).reshape(len(levels), 16, 16, 3)


def test_descriptor_clip_reads_the_whole_clip_or_the_window_around_the_apex():
  frames = clip_of_levels(np.arange(20) * 10)
  whole = recipes.descriptor_clip(frames, {**BASE, "num_frames": 20}, apex_index=12)
  np.testing.assert_array_equal(whole[:, 0, 0], np.arange(20) * 10)
  window = recipes.descriptor_clip(frames, {**BASE, "window": 5}, apex_index=12)
  # Frames 10..14 (apex in the middle) resampled to 4: levels 100 .. 140 evenly.
  np.testing.assert_array_equal(window[:, 0, 0], [100, 113, 127, 140])
  edge = recipes.descriptor_clip(frames, {**BASE, "window": 9}, apex_index=1)
  assert edge[0, 0, 0] == 0 and edge[-1, 0, 0] == 50  # only the frames the clip has: 0..5
  assert whole.dtype == np.uint8


def test_lbp_top_recipe_is_the_descriptor_of_that_clip():
  rng = np.random.default_rng(0)
  frames = rng.integers(0, 256, (9, 24, 24, 3), dtype=np.uint8)
  recipe = {**BASE, "name": "lbp_top", "num_frames": 9, "radii": (1, 1, 1), "points": 4,
            "mapping": "nri_uniform"}
  got = recipes.run(frames, recipe)["features"]
  grey = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (16, 16),
                              interpolation=cv2.INTER_AREA) for f in frames])
  np.testing.assert_array_equal(got, lbp_top.features(grey, (1, 1, 1), 4, (2, 2)))


def test_a_clip_too_short_for_the_radii_is_a_config_error():
  recipe = {**BASE, "name": "lbp_top", "radii": (3, 3, 3), "points": 4, "mapping": "nri_uniform"}
  with pytest.raises(ConfigError, match=r"config.data.recipe \(lbp_top\).*4 frames"):
    recipes.run(clip_of_levels(np.arange(6)), recipe)


def test_hoof_of_a_texture_moving_right_votes_for_rightward_motion():
  rng = np.random.default_rng(0)
  texture = cv2.GaussianBlur(rng.uniform(0, 255, (48, 80)), (0, 0), 2.0)
  frames = np.stack([np.repeat(texture[:, 16 - t:64 - t, None], 3, axis=2)
                     for t in range(6)]).astype(np.uint8)    # 1 px to the right per frame
  recipe = {**BASE, "name": "hoof", "image_size": 48, "num_frames": 6, "bins": 4,
            "binning": "full", "flow": "tvl1"}
  hist = recipes.run(frames, recipe)["features"].reshape(4, 4)
  assert np.all(hist.argmax(axis=1) == 0) and np.all(hist[:, 0] > 0.8)
