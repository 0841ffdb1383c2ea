"""The baselines' SVMs: scikit-learn's, standardised on the training fold only."""

import numpy as np
import pytest
from sklearn import preprocessing, svm as sk_svm

from mer_jax.baselines import svm
from mer_jax.errors import ConfigError


def blobs(n_per_class: int, num_classes: int, dim: int = 6, seed: int = 0):
  rng = np.random.default_rng(seed)
  centres = rng.normal(0, 3, (num_classes, dim))
  y = np.repeat(np.arange(num_classes), n_per_class)
  return centres[y] + rng.normal(0, 1.5, (len(y), dim)), y


@pytest.mark.parametrize("kernel", ["linear", "poly"])
def test_scores_argmax_is_an_svm_fitted_on_standardised_training_features(kernel):
  x, y = blobs(20, 3)
  x_train, y_train, x_test = x[::2], y[::2], x[1::2] * 1.5 + 4.0  # a shifted test fold
  cfg = svm.default_config(kernel)
  scores = svm.fit_scores(cfg, x_train, y_train, x_test, num_classes=3)
  scaler = preprocessing.StandardScaler().fit(x_train)   # never sees the test fold
  ref = sk_svm.SVC(kernel=kernel, C=cfg["C"], degree=2, gamma=1.0 / x.shape[1], coef0=0.0,
                   break_ties=True).fit(scaler.transform(x_train), y_train)
  np.testing.assert_array_equal(scores.argmax(1), ref.predict(scaler.transform(x_test)))
  assert cfg["C"] == (1e4 if kernel == "linear" else 1.0)


def test_classes_missing_from_the_training_fold_are_never_predicted():
  x, y = blobs(10, 4)
  keep = y != 2
  scores = svm.fit_scores(svm.default_config(), x[keep], y[keep], x, num_classes=4)
  assert scores.shape == (40, 4)
  assert np.all(scores[:, 2] == svm.ABSENT_CLASS_SCORE)
  assert 2 not in scores.argmax(1)


def test_two_and_one_class_training_folds():
  x, y = blobs(10, 2)
  scores = svm.fit_scores(svm.default_config("linear"), x, y + 1, x, num_classes=3)
  ref = sk_svm.SVC(kernel="linear", C=1e4).fit(preprocessing.StandardScaler().fit_transform(x),
                                               y + 1)
  np.testing.assert_array_equal(scores.argmax(1),
                                ref.predict(preprocessing.StandardScaler().fit(x).transform(x)))
  one = svm.fit_scores(svm.default_config(), x[:5], np.full(5, 1), x, num_classes=3)
  assert np.all(one.argmax(1) == 1)


def test_unknown_kernel_is_a_config_error():
  with pytest.raises(ConfigError, match="config.classifier.kernel='sigmoidal'"):
    svm.make_classifier({**svm.default_config(), "kernel": "sigmoidal"})
