"""Temporal jittering: imresize kernels along time, 48 variants, reproducible keys."""

import math

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


def test_name_pairs_coincide_as_in_imresize():
  """Without antialiasing 5 kernels (at most 30 variants); with it 6 (at most 36)."""
  frames = clip(45)
  for a, b in [("nearest", "box"), ("bilinear", "triangle"), ("bicubic", "cubic")]:
    np.testing.assert_array_equal(jitter.resample(frames, 30, a), jitter.resample(frames, 30, b))
  for a, b in [("bilinear", "triangle"), ("bicubic", "cubic")]:  # the same kernel in imresize
    np.testing.assert_array_equal(jitter.resample(frames, 30, a, antialias=True),
                                  jitter.resample(frames, 30, b, antialias=True))
  # imresize's default antialiasing: 'box' averages when shrinking, 'nearest' never does.
  near = jitter.resample(frames, 30, "nearest", antialias=True)
  box = jitter.resample(frames, 30, "box", antialias=True)
  assert np.abs(near - box).max() > 1e-3
  np.testing.assert_array_equal(near, jitter.resample(frames, 30, "nearest"))
  distinct = {jitter.resample(frames, 30, k, antialias=True).tobytes() for k in jitter.KERNELS}
  assert len(distinct) == 6


def test_bad_arguments():
  with pytest.raises(ValueError):
    jitter.jitter(clip(), jax.random.key(0), 0.0, "cubic")
  with pytest.raises(ValueError):
    jitter.jitter(clip(), jax.random.key(0), 0.5, "spline")


# --- Device (JAX) path: padded clips, traced lengths, kernels and variants. ---

MAX_IN = 64   # covers numpy's float64 ties in 'box' at (36 -> 30) and (58 -> 7)


def padded(lengths, trailing=(3, 2), seed=0, fill=0.0, dtype=np.float32):
  """`[B, MAX_IN, *trailing]` clips with data in [0, 1) and `fill` past each length."""
  data = np.random.default_rng(seed).uniform(size=(len(lengths), MAX_IN) + trailing)
  for clip_, n in zip(data, lengths):
    clip_[n:] = fill
  return data.astype(dtype)


@pytest.mark.parametrize("out_length", [30, 7])
def test_device_resize_weights_match_numpy(out_length):
  lengths = jnp.arange(1, MAX_IN + 1)
  static = np.asarray(jax.jit(jax.vmap(lambda n: jnp.stack([
      jitter.device_resize_weights(n, MAX_IN, out_length, k) for k in jitter.KERNELS]),
      out_axes=1))(lengths))                                       # [K, N, L, MAX_IN]
  traced = jax.jit(jax.vmap(jax.vmap(
      lambda n, k: jitter.device_resize_weights(n, MAX_IN, out_length, k),
      (0, None)), (None, 0)))(lengths, jnp.arange(len(jitter.KERNELS)))
  np.testing.assert_allclose(static, traced, atol=3e-7)      # same weights, fused differently
  assert static.shape == (8, MAX_IN, out_length, MAX_IN) and static.dtype == np.float32
  for k, kernel in enumerate(jitter.KERNELS):
    for n in range(1, MAX_IN + 1):
      want = jitter.resize_weights(n, out_length, kernel)
      got = static[k, n - 1]
      atol = 0 if kernel in ("nearest", "box") else 2e-6   # box ties: numpy's exact picks
      np.testing.assert_allclose(got[:, :n], want, atol=atol, err_msg=f"{kernel} {n}")
      assert not got[:, n:].any(), (kernel, n)
  np.testing.assert_allclose(static.sum(-1), 1, atol=2e-6)


def test_device_resize_weights_rejects_unknown_kernel():
  with pytest.raises(ValueError):
    jitter.device_resize_weights(5, 8, 30, "spline")


def test_device_keep_counts_match_numpy():
  # Short clips, the float64 ties below, CASME II-like lengths and the padded maximum
  # (numpy's keep_indices runs eagerly, ~0.1 s a call: not every length up to MAX_IN).
  lengths = np.array([1, 2, 3, 4, 7, 10, 11, 24, 25, 36, 45, 58, 63, MAX_IN])
  keep = jax.jit(jax.vmap(lambda n, r: jitter.device_keep(jax.random.key(0), n, MAX_IN, r)[1],
                          (0, None)))
  for index, r in enumerate(jitter.RATIOS):
    want = [jitter.keep_indices(jax.random.key(0), int(n), r).size for n in lengths]
    np.testing.assert_array_equal(keep(lengths, jnp.int32(index)), want, err_msg=f"traced {r}")
    static = [int(jitter.device_keep(jax.random.key(0), n, MAX_IN, index)[1])
              for n in (1, 7, 25, 45, MAX_IN)]
    assert static == [want[list(lengths).index(n)] for n in (1, 7, 25, 45, MAX_IN)]
  # float64 ties, as numpy's keep_indices rounds them: 0.7 * 45 -> 31, 0.9 * 25 -> 23.
  for n, r in [(45, 0.7), (25, 0.9)]:
    assert int(keep(jnp.array([n]), jnp.int32(jitter.RATIOS.index(r)))[0]) == (
        31 if n == 45 else 23)


def test_device_keep_picks_random_valid_positions():
  length, keys = 10, jax.random.split(jax.random.key(1), 300)
  half = jitter.RATIOS.index(0.5)
  order, kept = jax.jit(jax.vmap(lambda k: jitter.device_keep(k, length, 16, half)))(keys)
  order, kept = np.asarray(order), np.asarray(kept)
  assert order.dtype == np.int32 and (kept == 5).all()
  np.testing.assert_array_equal(np.sort(order, axis=1), np.tile(np.arange(16), (300, 1)))
  chosen = order[:, :5]
  assert (np.diff(chosen, axis=1) > 0).all() and chosen.max() < length
  counts = np.bincount(chosen.ravel(), minlength=16)
  assert (counts[:length] > 100).all() and not counts[length:].any()   # ~150 expected
  assert len({tuple(c) for c in chosen}) > 100


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_device_jitter_matches_host_resample_of_kept_frames(dtype):
  lengths = np.array([1, 2, 9, 20, 30, 45, 58, MAX_IN])
  variants = np.array([0, 7, 13, 18, 29, 36, 42, 47])          # 1.0 ... 0.5, all kernels
  keys = jax.random.split(jax.random.key(2), len(lengths))
  scale = 255 if dtype == np.uint8 else 1
  clips = padded(lengths, fill=0) * scale
  clips = clips.astype(dtype)
  run = jax.jit(jax.vmap(jitter.device_jitter))
  out = np.asarray(run(keys, clips, lengths, variants))
  assert out.shape == (8, 30, 3, 2) and out.dtype == np.float32
  orders, kepts = jax.jit(jax.vmap(lambda k, n, r: jitter.device_keep(k, n, MAX_IN, r)))(
      keys, lengths, variants // len(jitter.KERNELS))
  for b, (n, v) in enumerate(zip(lengths, variants)):
    ratio, kernel = jitter.variants()[v]
    positions = np.asarray(orders[b])[:int(kepts[b])]
    assert positions.size == max(1, math.floor(ratio * n + 0.5))
    if ratio == 1.0:
      np.testing.assert_array_equal(positions, np.arange(n))
    want = jitter.resample(clips[b, :n][positions], 30, kernel)
    np.testing.assert_allclose(out[b], want, atol=1e-5 * scale, err_msg=f"{n} {v}")
  # Padding never contributes, however large (or non-finite).
  big = np.where(np.arange(MAX_IN)[None, :, None, None] < lengths[:, None, None, None],
                 clips, np.asarray(255 if dtype == np.uint8 else 1e30, dtype))
  np.testing.assert_array_equal(run(keys, big, lengths, variants), out)
  if dtype == np.float32:
    nan = np.where(big == 1e30, np.nan, big).astype(np.float32)
    np.testing.assert_array_equal(run(keys, nan, lengths, variants), out)


@pytest.mark.parametrize("kernel", jitter.KERNELS)
def test_device_resample_matches_numpy(kernel):
  lengths = np.array([1, 5, 30, 37, MAX_IN])
  clips = padded(lengths, trailing=(4,), seed=3, fill=1e30)
  for out_length in (30, 7):
    run = jax.jit(jax.vmap(lambda s, n, o=out_length: jitter.device_resample(s, n, o, kernel)))
    out = np.asarray(run(clips, lengths))
    assert out.shape == (5, out_length, 4) and out.dtype == np.float32
    for b, n in enumerate(lengths):
      np.testing.assert_allclose(out[b], jitter.resample(clips[b, :n], out_length, kernel),
                                 atol=1e-5, err_msg=f"{kernel} {n} {out_length}")
