"""Tests for mer_jax.preprocess.augment: geometry against numpy/OpenCV, gating, jit + vmap."""

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax.preprocess import augment


def _smooth_clip(t=3, h=24, w=24, c=2, seed=0):
  """float32 [T, H, W, C] with smooth content (bilinear sampling errors stay small)."""
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((t, h, w, c)).astype(np.float32)
  x = np.stack([cv2.GaussianBlur(f, (0, 0), 2.0).reshape(h, w, c) for f in x])
  return 100.0 * x / x.std() + 128.0


def test_zero_angle_and_shift_return_the_input_exactly():
  clip = _smooth_clip()
  np.testing.assert_array_equal(augment.rotate_shift(clip, 0.0, (0, 0)), clip)
  out = augment.random_rotate_shift(jax.random.key(0), clip, 0.0, 0, 1.0)
  np.testing.assert_array_equal(out, clip)


def test_rotation_by_90_degrees_equals_rot90():
  clip = _smooth_clip(h=16, w=16)
  out = np.asarray(augment.rotate(clip, 90.0))
  ref = np.rot90(clip, k=1, axes=(1, 2))  # counter-clockwise as displayed
  np.testing.assert_allclose(out[:, 1:-1, 1:-1], ref[:, 1:-1, 1:-1], atol=1e-2)
  # 270 is the other way: catches a sign error that 180 would not.
  out = np.asarray(augment.rotate(clip, -90.0))
  np.testing.assert_allclose(out[:, 1:-1, 1:-1], np.rot90(clip, k=-1, axes=(1, 2))[:, 1:-1, 1:-1],
                             atol=1e-2)


@pytest.mark.parametrize("degrees, shift", [(5.0, (0, 0)), (-8.0, (2.5, -3.0))])
def test_small_rotation_and_shift_match_opencv(degrees, shift):
  """Independent reference: cv2.getRotationMatrix2D (positive = counter-clockwise)."""
  clip = _smooth_clip(t=1, h=32, w=40, c=1)
  m = cv2.getRotationMatrix2D((39 / 2, 31 / 2), degrees, 1.0)
  m[:, 2] += (shift[1], shift[0])  # (dx, dy) after the rotation
  ref = cv2.warpAffine(clip[0, ..., 0], m, (40, 32), flags=cv2.INTER_LINEAR)
  out = np.asarray(augment.rotate_shift(clip, degrees, shift))[0, ..., 0]
  # OpenCV interpolates with 5-bit fixed-point weights: ~1/64 of a local step.
  np.testing.assert_allclose(out[6:-6, 6:-6], ref[6:-6, 6:-6], atol=1.5)


def test_integer_shift_equals_roll_in_the_interior():
  clip = _smooth_clip()
  dy, dx = 3, -5
  out = np.asarray(augment.rotate_shift(clip, 0.0, (dy, dx)))
  ref = np.roll(clip, (dy, dx), axis=(1, 2))
  np.testing.assert_allclose(out[:, 3:, :-5], ref[:, 3:, :-5], atol=1e-4)
  assert np.all(out[:, :3] == 0) and np.all(out[:, :, -5:] == 0)  # mode='constant'
  near = np.asarray(augment.rotate_shift(clip, 0.0, (dy, dx), mode="nearest"))
  np.testing.assert_allclose(near[:, :3, 10], np.repeat(clip[:, :1, 15], 3, axis=1), atol=1e-4)


def test_uint8_clip_keeps_its_dtype():
  clip = np.clip(_smooth_clip(), 0, 255).astype(np.uint8)
  out = augment.rotate_shift(clip, 3.0, (1.5, 0.0))
  assert out.dtype == jnp.uint8 and out.shape == clip.shape


def test_vertical_flip_is_upside_down_and_horizontal_is_mirror():
  clip = _smooth_clip()
  key = jax.random.key(1)
  np.testing.assert_array_equal(augment.random_vertical_flip(key, clip, 1.0), clip[:, ::-1])
  np.testing.assert_array_equal(augment.random_horizontal_flip(key, clip, 1.0),
                                clip[:, :, ::-1])


RANDOM_AUGMENTS = {
    "rotate_shift": functools.partial(augment.random_rotate_shift, max_degrees=5.0,
                                      max_shift_px=10),
    "rotate": functools.partial(augment.random_rotate, max_degrees=8.0),
    "vertical_flip": augment.random_vertical_flip,
    "horizontal_flip": augment.random_horizontal_flip,
}


@pytest.mark.parametrize("name", sorted(RANDOM_AUGMENTS))
def test_probability_zero_never_and_one_always_changes(name):
  fn, clip = RANDOM_AUGMENTS[name], _smooth_clip()
  for i in range(5):
    key = jax.random.key(i)
    np.testing.assert_array_equal(fn(key, clip, prob=0.0), clip)
    assert not np.allclose(fn(key, clip, prob=1.0), clip)


@pytest.mark.parametrize("name", sorted(RANDOM_AUGMENTS))
def test_same_key_same_result_and_one_transform_per_clip(name):
  fn = RANDOM_AUGMENTS[name]
  clip = np.repeat(_smooth_clip(t=1), 4, axis=0)  # four identical frames
  a, b = fn(jax.random.key(7), clip, prob=1.0), fn(jax.random.key(7), clip, prob=1.0)
  np.testing.assert_array_equal(a, b)
  for t in range(1, 4):  # every frame got the same transform
    np.testing.assert_array_equal(a[t], a[0])


def test_different_keys_draw_different_transforms():
  clip = _smooth_clip()
  outs = [augment.random_rotate_shift(jax.random.key(i), clip, 5.0, 10, 1.0) for i in range(3)]
  assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])


def test_probability_half_changes_about_half_of_a_batch():
  batch = np.repeat(_smooth_clip(t=1, h=8, w=8)[None], 200, axis=0)  # [B, T, H, W, C]
  keys = jax.random.split(jax.random.key(3), len(batch))
  out = jax.vmap(lambda k, c: augment.random_vertical_flip(k, c, 0.5))(keys, batch)
  changed = np.any(np.asarray(out) != batch, axis=(1, 2, 3, 4))
  assert 70 < changed.sum() < 130


def test_jit_and_vmap_over_a_batch_match_clip_by_clip():
  batch = np.stack([_smooth_clip(seed=s) for s in range(3)])  # [B, T, H, W, C]
  keys = jax.random.split(jax.random.key(0), 3)

  @jax.jit
  def augment_batch(keys, batch):
    step = lambda k, c: augment.random_rotate(
        k, augment.random_rotate_shift(k, c, 5.0, 10, 0.5), 8.0, 0.5)
    return jax.vmap(step)(keys, batch)

  out = np.asarray(augment_batch(keys, batch))
  for i in range(3):
    one = augment.random_rotate(keys[i], augment.random_rotate_shift(
        keys[i], batch[i], 5.0, 10, 0.5), 8.0, 0.5)
    np.testing.assert_allclose(out[i], one, atol=1e-3)


def test_unknown_border_mode_is_rejected():
  with pytest.raises(ValueError, match="wrap"):
    augment.rotate(_smooth_clip(), 5.0, mode="wrap")
