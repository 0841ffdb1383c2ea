"""Class-balanced training lists (ATNet's oversampling) in train/fold_plan.py."""

import numpy as np
import pytest

from mer_jax.data import protocols
from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError
from mer_jax.train import fold_plan


def _samples(subjects):
  return [Sample(dataset="synthetic", subject=s, clip=f"c{i}", emotion="x", onset=0, apex=1,
                 offset=2, apex_source="annotated") for i, s in enumerate(subjects)]


def test_oversampling_gives_every_class_the_largest_count_from_its_own_clips():
  rng = np.random.default_rng(0)
  labels = np.asarray([0] * 10 + [1] * 4 + [2] * 2)
  train = np.arange(16)
  out = fold_plan.oversample(train, labels, rng)
  counts = np.bincount(labels[out])
  np.testing.assert_array_equal(counts, [10, 10, 10])
  assert set(out.tolist()) == set(train.tolist())  # every clip kept, repeats drawn from it
  assert np.all(np.diff(out) >= 0)


def test_plan_balances_each_fold_after_its_split_and_is_seeded():
  subjects = ["a"] * 6 + ["b"] * 6 + ["c"] * 6
  samples = _samples(subjects)
  labels = np.asarray([0, 0, 0, 0, 1, 2] * 3)
  folds = protocols.loso(samples)
  kwargs = dict(selection="last", val_fraction=0.0, seed=3, eval_chunk=2,
                balance="oversample", labels=labels)
  plan = fold_plan.make_fold_plan(samples, folds, **kwargs)
  for fold, train in zip(folds, plan.train):
    assert not set(train.tolist()) & set(fold.test.tolist())
    np.testing.assert_array_equal(np.bincount(labels[train]), [8, 8, 8])
  assert plan.sizes["train"] == 24
  again = fold_plan.make_fold_plan(samples, folds, **kwargs)
  for a, b in zip(plan.train, again.train):
    np.testing.assert_array_equal(a, b)
  plain = fold_plan.make_fold_plan(samples, folds, selection="last", val_fraction=0.0, seed=3,
                                   eval_chunk=2)
  assert plain.sizes["train"] == 12


def test_unknown_balance_mode_is_a_config_error():
  samples = _samples(["a", "b"])
  with pytest.raises(ConfigError, match="config.train.balance='smote'"):
    fold_plan.make_fold_plan(samples, protocols.loso(samples), selection="last",
                             val_fraction=0.0, seed=0, eval_chunk=1, balance="smote",
                             labels=np.zeros(2, int))


def test_balanced_class_weights_equal_scikit_learns():
  from sklearn.utils.class_weight import compute_class_weight
  labels = np.asarray([0] * 7 + [1] * 2 + [2] * 3)
  want = compute_class_weight("balanced", classes=np.arange(3), y=labels)
  np.testing.assert_allclose(fold_plan.balanced_class_weights(labels, 3), want)
  absent = fold_plan.balanced_class_weights(np.asarray([0, 0, 2]), 3)
  np.testing.assert_allclose(absent, [0.75, 0.0, 1.5])  # n / (present classes * n_c)


def test_sampler_and_loss_weights_reach_the_group_arrays_padded():
  samples = _samples(["a"] * 5 + ["b"] * 3)
  labels = np.asarray([0, 0, 0, 1, 2, 0, 1, 1])
  folds = protocols.loso(samples)
  plan = fold_plan.make_fold_plan(samples, folds, selection="last", val_fraction=0.0, seed=0,
                                  eval_chunk=1, balance="sampler", class_weights="balanced",
                                  labels=labels, num_classes=3)
  arrays = plan.group_arrays([0, 1, -1])
  # Fold 0 tests subject a: trains on b (labels 0, 1, 1), padded to 5 positions.
  np.testing.assert_allclose(arrays["train_weight"][0], [1.0, 0.5, 0.5, 0, 0])
  np.testing.assert_allclose(arrays["loss_weight"][0], [1.5, 0.75, 0.0])
  assert arrays["train_weight"][2].sum() == 0 and np.all(arrays["loss_weight"][2] == 1)
  assert plan.sizes["train"] == 5  # the sampler keeps the list as it is


def test_weighted_order_draws_real_pairs_in_balanced_proportions():
  import jax
  import jax.numpy as jnp
  from mer_jax.train import steps
  labels = np.asarray([0] * 8 + [1] * 2)
  weights = fold_plan.inverse_class_frequency(labels)
  fold = {"train": jnp.arange(12), "n_train": jnp.asarray(10),
          "train_weight": jnp.asarray(np.concatenate([weights, [0, 0]]), jnp.float32)}
  draws = np.concatenate([np.asarray(steps.weighted_order(jax.random.key(k), fold, 2))
                          for k in range(200)])
  assert draws.max() < 20  # positions v = copy * 10 + i; none past the 20 real pairs
  share = np.mean(labels[draws % 10] == 1)
  assert 0.45 < share < 0.55  # 2 of 10 clips, drawn half of the time
