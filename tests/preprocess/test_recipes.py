"""Temporal resampling and the pixel recipe against independent references."""

import cv2
import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.preprocess import face, recipes, tim


def test_linear_resampling_equals_numpy_interp_per_pixel():
  rng = np.random.default_rng(0)
  clip = rng.uniform(size=(7, 3, 4, 2))
  for length in (1, 4, 10, 13):
    got = tim.resample_linear(clip, length)
    pos = np.linspace(0, 6, length)
    want = np.apply_along_axis(lambda v: np.interp(pos, np.arange(7), v), 0, clip)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_single_frame_is_repeated_and_empty_clip_is_an_error():
  frame = np.ones((1, 2, 2, 1))
  assert tim.resample_linear(frame, 3).shape == (3, 2, 2, 1)
  with pytest.raises(ValueError):
    tim.resample_linear(frame[:0], 3)


def test_pixels_recipe_equals_opencv_steps():
  rng = np.random.default_rng(1)
  clip = rng.integers(0, 256, size=(6, 20, 24, 3), dtype=np.uint8)
  recipe = {"name": "pixels", "image_size": 8, "num_frames": 6, "grayscale": True,
            "temporal": "linear", "subtract_onset": False}
  got = recipes.pixels(clip, recipe)
  want = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (8, 8),
                              interpolation=cv2.INTER_AREA) for f in clip]) / 255.0
  np.testing.assert_allclose(got[..., 0], want, atol=1e-6)


def test_unknown_recipe_or_resampling_is_a_config_error():
  with pytest.raises(ConfigError, match="not a recipe"):
    recipes.get_recipe("magic")
  with pytest.raises(ConfigError, match="temporal='cubic'; expected 'tim' or 'linear'"):
    recipes.resample(np.zeros((2, 1, 1, 1)), 3, "cubic")


def test_tim_recipe_keeps_the_frames_at_the_input_length():
  rng = np.random.default_rng(2)
  clip = rng.integers(0, 256, size=(7, 8, 8, 3), dtype=np.uint8)
  recipe = {"name": "pixels", "image_size": 8, "num_frames": 7, "grayscale": True,
            "temporal": "tim", "subtract_onset": False}
  linear = dict(recipe, temporal="linear")
  np.testing.assert_allclose(recipes.pixels(clip, recipe), recipes.pixels(clip, linear),
                             atol=1e-5)


def test_elrcn_stack_is_flow_image_strain_and_grey_of_successive_tim_frames():
  from mer_jax.data import synthetic
  from mer_jax.preprocess import flow, strain
  clip = synthetic.generate(synthetic.SyntheticSpec(num_subjects=1, clips_per_subject=1,
                                                    image_size=32)).videos[0]
  recipe = {"name": "elrcn_stack", "image_size": 24, "num_frames": 3, "temporal": "tim",
            "channels": ("flow", "strain", "gray")}
  x = recipes.elrcn_stack(clip, recipe)
  assert x.shape == (3, 24, 24, 5) and x.dtype == np.float32
  grey = recipes.resize(recipes.to_gray(clip), 24)[..., 0] / 255.0
  grey = tim.interpolate(grey.astype(np.float32), 4)  # num_frames + 1
  flows = np.asarray(flow.tvl1_batch(grey[:-1], grey[1:]))
  np.testing.assert_allclose(x[..., :3], flow.flow_image(flows), atol=1e-5)
  np.testing.assert_allclose(x[..., 3], strain.magnitude(flows), atol=1e-5)
  np.testing.assert_allclose(x[..., 4], grey[1:], atol=1e-6)
  only_flow = recipes.elrcn_stack(clip, dict(recipe, channels=("flow",)))
  np.testing.assert_array_equal(only_flow, x[..., :3])
  with pytest.raises(ConfigError, match="channels"):
    recipes.elrcn_stack(clip, dict(recipe, channels=("depth",)))
  # The face step: the frames cut to the box at image_size first; an official crop as is.
  box = face.FaceBox((4, 6, 20, 20), None, "haar")
  cut = recipes.elrcn_stack(clip, dict(recipe, face="haar"), face=box)
  np.testing.assert_array_equal(
      cut, recipes.elrcn_stack(face.crop_to_face(clip, box, 24), recipe))
  whole = recipes.run(clip, dict(recipe, face="haar"),
                      face=face.FaceBox(None, None, "official_crop"))["frames"]
  np.testing.assert_array_equal(whole, x)
