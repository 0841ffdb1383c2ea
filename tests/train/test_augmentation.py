"""Tests for train/augmentation.py and the epoch's (sample, variant) positions in steps.py."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.preprocess import jitter
from mer_jax.train import augmentation, loop, steps


def _host(sequence, n, length, kernel):
  """The independent host path: numpy imresize weights, clipped as uint8, [P, length, 3]."""
  out = jitter.resample(sequence[:n].astype(np.float64), length, kernel)
  return np.swapaxes(np.clip(out, 0, 255) / 255, 0, 1)


def _stored(lengths=(12, 7, 20), max_frames=20, pixels=6, seed=0):
  """MER-RCNN-style stored inputs: uint8 'sequence' [N, max_frames, P, 3], 'length' [N]."""
  rng = np.random.default_rng(seed)
  seq = rng.integers(0, 256, (len(lengths), max_frames, pixels, 3), dtype=np.uint8)
  for row, n in enumerate(lengths):
    seq[row, n:] = 0
  return {"sequence": seq, "length": np.asarray(lengths, np.int32)}


def test_model_input_is_the_frames_array_or_the_dict():
  frames = jnp.ones((2, 3))
  assert augmentation.model_input({"frames": frames}) is frames
  both = augmentation.model_input({"frames": frames, "adm": frames})
  assert isinstance(both, dict) and sorted(both) == ["adm", "frames"]
  none = augmentation.make(None)
  assert none.copies == 1 and none.evaluate({"frames": frames}) is frames


def test_paper_jitter_has_48_variants_in_the_order_of_jitter_variants():
  aug = augmentation.make({"name": "temporal_jitter"})
  assert aug.copies == 48 == len(jitter.variants())
  batch = _stored(lengths=(20,) * 48)
  out = aug.train(jax.random.key(0), batch, jnp.arange(48))
  assert out.shape == (48, 6, 30, 3) and out.dtype == jnp.float32
  assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
  # Variant 0 (all frames, nearest) and 5 (all frames, cubic) keep every frame:
  for copy, kernel in ((0, "nearest"), (5, "cubic")):
    np.testing.assert_allclose(out[copy], _host(batch["sequence"][copy], 20, 30, kernel),
                               atol=1e-5)


def test_a_chosen_subset_maps_copies_to_its_own_pairs():
  aug = augmentation.make({"name": "temporal_jitter", "num_frames": 9, "ratios": [1.0],
                           "kernels": ["box", "lanczos3"]})
  assert aug.copies == 2
  batch = _stored()
  out = aug.train(jax.random.key(1), batch, jnp.asarray([1, 0, 1]))
  for row, kernel in enumerate(("lanczos3", "box", "lanczos3")):
    want = _host(batch["sequence"][row], batch["length"][row], 9, kernel)
    np.testing.assert_allclose(out[row], want, atol=1e-5)


def test_evaluation_resamples_every_frame_with_the_eval_kernel():
  aug = augmentation.make({"name": "temporal_jitter"})
  batch = _stored()
  out = jax.jit(aug.evaluate)(batch)
  for row, n in enumerate(batch["length"]):
    np.testing.assert_allclose(out[row], _host(batch["sequence"][row], n, 30, "bicubic"),
                               atol=1e-5)
  example = augmentation.example_input(aug, batch)
  assert example.shape == (1, 6, 30, 3) and not example.any()


@pytest.mark.parametrize("cfg, message", [
    ({"name": "mixup"}, "expected one of"),
    ({"name": "temporal_jitter", "kernels": ["gaussian"]}, "must come from"),
    ({"name": "temporal_jitter", "ratios": [0.75]}, "must come from"),
    ({"name": "temporal_jitter", "eval_kernel": "spline"}, "must come from"),
    ({"name": "temporal_jitter", "frames": 30}, "temporal_jitter"),
])
def test_bad_augment_config_is_a_config_error(cfg, message):
  with pytest.raises(ConfigError, match=message):
    augmentation.make(cfg)


def test_jitter_on_a_recipe_without_a_sequence_says_which_recipe():
  aug = augmentation.make({"name": "temporal_jitter"})
  with pytest.raises(ConfigError, match="recipe 'mer_rcnn'"):
    augmentation.example_input(aug, {"frames": np.zeros((2, 4, 8, 8, 1), np.float32)})


@pytest.mark.parametrize("copies, batch_size", [(1, 4), (3, 4), (48, 64)])
def test_an_epoch_visits_every_sample_variant_pair_once(copies, batch_size):
  n, padded = 5, 7
  fold = {"train": jnp.asarray([10, 11, 12, 13, 14, 0, 0]), "n_train": jnp.asarray(n)}
  order = steps.epoch_order(jax.random.key(3), n * copies, padded * copies)
  num_steps = -(-padded * copies // batch_size)
  seen = []
  for s in range(num_steps):
    idx, copy, mask = steps.batch_rows(fold, order, jnp.asarray(s), batch_size, copies)
    seen += [(int(i), int(c)) for i, c, m in zip(idx, copy, mask) if m]
    assert all(10 <= int(i) <= 14 for i in idx)  # padding rows wrap onto real samples
  assert sorted(seen) == [(i, c) for i in range(10, 15) for c in range(copies)]


def test_an_epoch_has_the_steps_of_one_pass_over_every_variant():
  plan = types.SimpleNamespace(sizes={"train": 205})  # CASME II, 4 of 5 folds
  assert loop.epoch_steps(plan, augmentation.make({"name": "temporal_jitter"}), 64) == 154
  assert loop.epoch_steps(plan, augmentation.none(), 64) == 4


def test_rotate_shift_transforms_only_the_named_images_in_training():
  rng = np.random.default_rng(3)
  batch = {"apex": rng.integers(0, 256, (8, 16, 16, 1), dtype=np.uint8),
           "adm": rng.normal(size=(8, 4, 6)).astype(np.float32)}
  aug = augmentation.make({"name": "rotate_shift", "inputs": ("apex",), "max_degrees": 5.0,
                           "max_shift_px": 3, "prob": 1.0})
  out = aug.train(jax.random.key(0), batch, jnp.zeros(8, jnp.int32))
  np.testing.assert_array_equal(out["adm"], batch["adm"])
  assert out["apex"].dtype == jnp.uint8 and out["apex"].shape == batch["apex"].shape
  changed = [not np.array_equal(np.asarray(out["apex"][i]), batch["apex"][i]) for i in range(8)]
  assert all(changed)  # prob 1: every image moved (angle and shift are continuous/random)
  evaluated = aug.evaluate(batch)
  np.testing.assert_array_equal(evaluated["apex"], batch["apex"])


def test_rotate_shift_with_probability_zero_is_the_identity_and_one_matches_augment():
  from mer_jax.preprocess import augment
  rng = np.random.default_rng(4)
  batch = {"apex": rng.integers(0, 256, (3, 12, 12, 1), dtype=np.uint8)}
  off = augmentation.make({"name": "rotate_shift", "prob": 0.0})
  out = off.train(jax.random.key(1), batch, jnp.zeros(3, jnp.int32))
  np.testing.assert_array_equal(out["apex"], batch["apex"])
  on = augmentation.make({"name": "rotate_shift", "prob": 1.0, "max_shift_px": 2})
  key = jax.random.key(2)
  out = on.train(key, batch, jnp.zeros(3, jnp.int32))
  keys = jax.random.split(jax.random.fold_in(key, 0), 3)
  for i in range(3):  # The same draw as preprocess/augment's function on a 1-frame clip.
    want = augment.random_rotate_shift(keys[i], batch["apex"][i][None], 5.0, 2, 1.0)[0]
    np.testing.assert_array_equal(out["apex"][i], want)


@pytest.mark.parametrize("cfg, message", [
    ({"name": "rotate_shift", "prob": 1.5}, "prob 1.5"),
    ({"name": "rotate_shift", "inputs": ()}, "non-empty"),
    ({"name": "rotate_shift", "mode": "wrap"}, "mode='wrap'"),
])
def test_bad_rotate_shift_config_is_a_config_error(cfg, message):
  with pytest.raises(ConfigError, match=message):
    augmentation.make(cfg)


def test_rotate_shift_on_a_recipe_without_an_apex_says_which_recipe():
  aug = augmentation.make({"name": "rotate_shift"})
  with pytest.raises(ConfigError, match="recipe 'atnet'"):
    aug.train(jax.random.key(0), {"frames": jnp.zeros((2, 4, 4, 1))}, jnp.zeros(2, jnp.int32))


def test_flip_rotate_gives_the_clip_its_upside_down_copy_and_its_rotation():
  from mer_jax.preprocess import augment
  rng = np.random.default_rng(5)
  clips = rng.uniform(size=(3, 2, 10, 10, 3)).astype(np.float32)
  aug = augmentation.make({"name": "flip_rotate", "degrees": 8.0})
  assert aug.copies == 3
  out = np.asarray(aug.train(jax.random.key(0), {"frames": clips}, jnp.asarray([0, 1, 2])))
  np.testing.assert_array_equal(out[0], clips[0])
  np.testing.assert_array_equal(out[1], clips[1][:, ::-1])          # rows reversed
  np.testing.assert_allclose(out[2], augment.rotate(clips[2], 8.0), atol=1e-6)
  assert not np.allclose(out[2], clips[2])
  np.testing.assert_array_equal(aug.evaluate({"frames": clips}), clips)
