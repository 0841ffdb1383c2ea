"""The SVM classifiers of the baselines (scikit-learn), fitted per fold.

`config.classifier` names the kernel and its parameters:
  kernel 'linear' with C = 1e4: ELRCN's baseline (Khor et al. 2018, IV-A);
  kernel 'poly' with degree 2: ATNet's (Peng et al. 2019, IV-A: "polynomial
    SVM (N=2)"). Its other parameters are LIBSVM's defaults (C 1,
    gamma 1 / n_features, coef0 0), which scikit-learn's `SVC` wraps:
    gamma='auto' is that 1 / n_features.
Features are standardised on the training fold only (`standardise`), the
scaler being part of the fitted pipeline, so the test fold never informs it.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from sklearn import pipeline, preprocessing, svm

from mer_jax.errors import ConfigError

KERNELS = ("linear", "poly", "rbf")
# Stands in for the score of a class the training fold has no clip of.
ABSENT_CLASS_SCORE = -1e9


def default_config(kernel: str = "poly") -> dict:
  """`config.classifier` for `kernel` at the papers' settings."""
  if kernel == "linear":
    return dict(kernel="linear", C=1e4, degree=3, gamma="auto", coef0=0.0, standardise=True,
                class_weight="")
  return dict(kernel=kernel, C=1.0, degree=2, gamma="auto", coef0=0.0, standardise=True,
              class_weight="")


def make_classifier(cfg: Mapping) -> pipeline.Pipeline:
  """(StandardScaler ->) SVC with `cfg`'s kernel; `predict` breaks ties by the scores."""
  if cfg["kernel"] not in KERNELS:
    raise ConfigError(f"config.classifier.kernel={cfg['kernel']!r}; expected one of {KERNELS}")
  if cfg["class_weight"] not in ("", "balanced"):
    raise ConfigError(f"config.classifier.class_weight={cfg['class_weight']!r}; expected '' "
                      "or 'balanced'")
  model = svm.SVC(kernel=cfg["kernel"], C=float(cfg["C"]), degree=int(cfg["degree"]),
                  gamma=cfg["gamma"], coef0=float(cfg["coef0"]),
                  class_weight=cfg["class_weight"] or None,
                  decision_function_shape="ovr", break_ties=True)
  steps = [("standardise", preprocessing.StandardScaler())] if cfg["standardise"] else []
  return pipeline.Pipeline(steps + [("svm", model)])


def fit_scores(cfg: Mapping, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
               num_classes: int) -> np.ndarray:
  """Fits on the training fold; returns test scores `[n_test, num_classes]`.

  The argmax of a row is the SVM's prediction (one-vs-one votes, ties broken
  by confidence). Classes the training fold lacks score `ABSENT_CLASS_SCORE`;
  a training fold of one class predicts that class.
  """
  present = np.unique(y_train)
  scores = np.full((len(x_test), num_classes), ABSENT_CLASS_SCORE)
  if len(present) == 1:
    scores[:, present[0]] = 0.0
    return scores
  model = make_classifier(cfg).fit(x_train, y_train)
  decision = model.decision_function(x_test)
  if len(present) == 2:  # One column: positive means the second class.
    decision = np.stack([-decision, decision], axis=1)
  scores[:, present] = decision
  return scores
