"""Tests for mer_jax.eval.metrics against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mer_jax.eval import metrics


def random_cases(n_cases: int = 200):
  """Random label/pred arrays, many with classes missing from labels or preds."""
  rng = np.random.default_rng(0)
  for _ in range(n_cases):
    c = int(rng.integers(2, 7))
    n = int(rng.integers(1, 40))
    # Restrict each side to a random subset of classes now and then.
    label_classes = rng.choice(c, size=int(rng.integers(1, c + 1)), replace=False)
    pred_classes = rng.choice(c, size=int(rng.integers(1, c + 1)), replace=False)
    labels = rng.choice(label_classes, n)
    preds = np.where(rng.random(n) < 0.4, labels, rng.choice(pred_classes, n))
    yield labels, preds, c


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_against_sklearn_on_random_cases():
  for labels, preds, c in random_cases():
    np.testing.assert_array_equal(
        metrics.confusion_matrix(labels, preds, c),
        skm.confusion_matrix(labels, preds, labels=np.arange(c)))
    assert metrics.accuracy(labels, preds, c) == pytest.approx(
        skm.accuracy_score(labels, preds))
    assert metrics.uar(labels, preds, c) == pytest.approx(
        skm.balanced_accuracy_score(labels, preds))
    assert metrics.uf1(labels, preds, c) == pytest.approx(
        skm.f1_score(labels, preds, average="macro", zero_division=0))


def test_legacy_elrcn_f1_against_sklearn():
  for labels, preds, c in random_cases():
    kw = dict(labels=np.arange(c), average="macro", zero_division=0)
    p = skm.precision_score(labels, preds, **kw)
    r = skm.recall_score(labels, preds, **kw)
    expected = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    assert metrics.legacy_elrcn_f1(labels, preds, c) == pytest.approx(expected)


def test_hand_computed_case():
  # Class 0: TP=2 FN=1 FP=1; class 1: TP=1 FN=2 FP=1; class 2: TP=0 FN=0 FP=1;
  # class 3 never occurs.
  labels = np.array([0, 0, 0, 1, 1, 1])
  preds = np.array([0, 0, 1, 1, 0, 2])
  expected_cm = [[2, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
  np.testing.assert_array_equal(metrics.confusion_matrix(labels, preds, 4),
                                expected_cm)
  assert metrics.accuracy(labels, preds, 4) == pytest.approx(3 / 6)
  assert metrics.uar(labels, preds, 4) == pytest.approx((2 / 3 + 1 / 3) / 2)
  # F1: class0 4/(4+1+1)=2/3, class1 2/(2+1+2)=2/5, class2 0/(0+1+0)=0.
  assert metrics.uf1(labels, preds, 4) == pytest.approx((2 / 3 + 2 / 5 + 0) / 3)
  # Legacy: P over 4 classes (2/3, 1/2, 0, 0)/4, R (2/3, 1/3, 0, 0)/4.
  p, r = (2 / 3 + 1 / 2) / 4, (2 / 3 + 1 / 3) / 4
  assert metrics.legacy_elrcn_f1(labels, preds, 4) == pytest.approx(
      2 * p * r / (p + r))
  assert metrics.summarize(labels, preds, 4) == {
      "uf1": pytest.approx(16 / 45), "uar": pytest.approx(0.5),
      "accuracy": pytest.approx(0.5)}


def test_pooled_uf1_differs_from_mean_of_fold_f1():
  # Two LOSO folds: fold A has only class 0 samples, fold B only class 1.
  fold_a = (np.array([0, 0, 0, 0]), np.array([0, 0, 0, 1]))
  fold_b = (np.array([1, 1]), np.array([1, 0]))
  per_fold = [metrics.uf1(y, p, 2) for y, p in (fold_a, fold_b)]
  labels = np.concatenate([fold_a[0], fold_b[0]])
  preds = np.concatenate([fold_a[1], fold_b[1]])
  pooled = metrics.uf1(labels, preds, 2)
  # Pooled: class0 TP=3 FP=1 FN=1 -> 0.75; class1 TP=1 FP=1 FN=1 -> 0.5.
  assert pooled == pytest.approx(0.625)
  # Per fold: A: class0 6/7, class1 0 -> 3/7; B: class1 2/3, class0 0 -> 1/3.
  assert np.mean(per_fold) == pytest.approx((3 / 7 + 1 / 3) / 2)
  assert abs(pooled - np.mean(per_fold)) > 0.2
  assert pooled == pytest.approx(skm.f1_score(labels, preds, average="macro"))


def test_legacy_f1_is_not_uf1():
  labels = np.array([0, 0, 0, 0, 1, 2])
  preds = np.array([0, 0, 0, 1, 1, 1])
  assert metrics.legacy_elrcn_f1(labels, preds, 3) != pytest.approx(
      metrics.uf1(labels, preds, 3))


def test_per_dataset():
  datasets = ["samm", "casme2", "samm", "casme2", "casme2"]
  labels = np.array([0, 1, 1, 2, 2])
  preds = np.array([0, 1, 0, 2, 1])
  out = metrics.per_dataset(datasets, labels, preds, 3)
  assert list(out) == ["casme2", "samm"]
  assert out["casme2"] == metrics.summarize(labels[[1, 3, 4]], preds[[1, 3, 4]], 3)
  assert out["samm"]["accuracy"] == pytest.approx(0.5)
  with pytest.raises(ValueError, match="one per sample"):
    metrics.per_dataset(["samm"], labels, preds, 3)


@pytest.mark.parametrize("fn", [metrics.confusion_matrix, metrics.accuracy,
                                metrics.uar, metrics.uf1, metrics.legacy_elrcn_f1,
                                metrics.summarize])
def test_invalid_input(fn):
  with pytest.raises(ValueError, match="differ in length"):
    fn(np.array([0, 1]), np.array([0]), 2)
  with pytest.raises(ValueError, match="empty"):
    fn(np.array([], np.int64), np.array([], np.int64), 2)
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
    fn(np.array([0, 2]), np.array([0, 1]), 2)
  with pytest.raises(ValueError, match=r"preds must lie in \[0, 2\)"):
    fn(np.array([0, 1]), np.array([-1, 1]), 2)
  with pytest.raises(ValueError, match="integers"):
    fn(np.array([0.0, 1.0]), np.array([0, 1]), 2)


def test_mean_over_folds_averages_per_fold_metrics():
  labels = np.array([0, 1, 2, 0, 1, 2, 2])
  preds = np.array([0, 1, 1, 0, 0, 2, 2])
  folds = ["a", "a", "a", "b", "b", "b", "b"]
  out = metrics.mean_over_folds(folds, labels, preds, 3)
  a, b = slice(0, 3), slice(3, 7)
  for key, fn in (("uf1", metrics.uf1), ("uar", metrics.uar), ("accuracy", metrics.accuracy),
                  ("legacy_elrcn_f1", metrics.legacy_elrcn_f1)):
    expected = (fn(labels[a], preds[a], 3) + fn(labels[b], preds[b], 3)) / 2
    assert out[key] == pytest.approx(expected)
  # Pooled and averaged differ here: the folds have different sizes.
  assert out["accuracy"] != pytest.approx(metrics.accuracy(labels, preds, 3))
  with pytest.raises(ValueError, match="fold names"):
    metrics.mean_over_folds(folds[:-1], labels, preds, 3)
