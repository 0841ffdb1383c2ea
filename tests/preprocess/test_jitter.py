"""Temporal jittering: imresize kernels along time, 48 variants, reproducible keys."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax.preprocess import jitter


def clip(num_frames=20, seed=0):
  return np.random.default_rng(seed).uniform(size=(num_frames, 3, 4, 2)).astype(np.float32)


def test_48_distinct_variants():
  variants = jitter.variants()
  assert len(variants) == 48 and len(set(variants)) == 48
  assert {r for r, _ in variants} == {1.0, 0.9, 0.8, 0.7, 0.6, 0.5}
  assert len({k for _, k in variants}) == 8


@pytest.mark.parametrize("kernel", jitter.KERNELS)
def test_full_ratio_same_length_returns_the_input(kernel):
  frames = clip()
  out = jitter.jitter(frames, jax.random.key(0), 1.0, kernel, length=20)
  np.testing.assert_allclose(out, frames, atol=1e-6)


@pytest.mark.parametrize("kernel", jitter.KERNELS)
@pytest.mark.parametrize("sizes", [(7, 30), (24, 30), (45, 30)])
def test_weights_are_normalised_and_shapes_fixed(kernel, sizes):
  weights = jitter.resize_weights(*sizes, kernel)
  assert weights.shape == sizes[::-1]
  np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-12)
  out = jitter.jitter(clip(sizes[0]), jax.random.key(1), 0.8, kernel)
  assert out.shape == (30, 3, 4, 2) and out.dtype == np.float32


@pytest.mark.parametrize("ours, theirs", [("bilinear", "linear"), ("bicubic", "cubic"),
                                          ("lanczos3", "lanczos3")])
@pytest.mark.parametrize("antialias", [False, True])
def test_interior_weights_match_jax_image_resize(ours, theirs, antialias):
  # Edges differ (imresize mirrors, jax renormalises), the interior must not.
  for n_in, n_out in [(10, 30), (45, 15)]:
    got = jitter.resize_weights(n_in, n_out, ours, antialias)
    want = np.asarray(jax.image.resize(jnp.eye(n_in), (n_out, n_in), theirs,
                                       antialias=antialias))
    inner = slice(n_out // 3, n_out - n_out // 3)
    np.testing.assert_allclose(got[inner], want[inner], atol=2e-6)


def test_same_key_same_output_and_keys_differ():
  frames = clip(40)
  a = jitter.jitter(frames, jax.random.key(3), 0.6, "cubic")
  b = jitter.jitter(frames, jax.random.key(3), 0.6, "cubic")
  np.testing.assert_array_equal(a, b)
  picks = {tuple(jitter.keep_indices(jax.random.key(s), 40, 0.6)) for s in range(5)}
  assert len(picks) > 1


def test_kept_frames_are_sorted_unique_and_rounded_half_up():
  kept = jitter.keep_indices(jax.random.key(0), 25, 0.9)
  assert kept.size == 23                      # round(22.5) = 23, as MATLAB rounds
  assert np.all(np.diff(kept) > 0) and kept.min() >= 0 and kept.max() < 25
  assert jitter.keep_indices(jax.random.key(0), 1, 0.5).size == 1


@pytest.mark.parametrize("length", [12, 30, 50])
def test_nearest_returns_only_kept_frames(length):
  frames = np.arange(24, dtype=np.float32)[:, None] * np.ones((1, 5), np.float32)
  kept = jitter.keep_indices(jax.random.key(7), 24, 0.7)
  out = jitter.jitter(frames, jax.random.key(7), 0.7, "nearest", length=length)
  assert set(out[:, 0].tolist()) <= set(kept.tolist())
  np.testing.assert_array_equal(out, frames[out[:, 0].astype(int)])


def test_name_pairs_coincide_without_antialiasing_only():
  frames = clip(45)
  for a, b in [("nearest", "box"), ("bilinear", "triangle"), ("bicubic", "cubic")]:
    np.testing.assert_array_equal(jitter.resample(frames, 30, a), jitter.resample(frames, 30, b))
  # imresize's default antialiasing: 'box' averages when shrinking, 'nearest' never does.
  near = jitter.resample(frames, 30, "nearest", antialias=True)
  box = jitter.resample(frames, 30, "box", antialias=True)
  assert np.abs(near - box).max() > 1e-3
  np.testing.assert_array_equal(near, jitter.resample(frames, 30, "nearest"))


def test_bad_arguments():
  with pytest.raises(ValueError):
    jitter.jitter(clip(), jax.random.key(0), 0.0, "cubic")
  with pytest.raises(ValueError):
    jitter.jitter(clip(), jax.random.key(0), 0.5, "spline")
