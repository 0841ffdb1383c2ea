"""Micro-expression recognition metrics on integer labels and predictions.

All metrics are computed ONCE on the predictions of all folds concatenated
(pooled), as the MEGC 2019 protocol defines UF1 and UAR; averaging per-fold
scores gives different (and, with LOSO's tiny folds, unstable) numbers.

Definitions (C = num_classes, TP/FP/FN per class from the pooled confusion):
  accuracy (WAR): correct / total.
  UAR: mean over classes with at least one true sample of TP / (TP + FN).
  UF1: mean over classes occurring in labels or preds of 2TP / (2TP + FP + FN).
  legacy_elrcn_f1: 2PR / (P + R) with P, R the macro precision and recall
    over all C classes (0 for a 0/0 class) - the ELRCN authors' "F1".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike


def _validate(labels: ArrayLike, preds: ArrayLike,
              num_classes: int) -> tuple[np.ndarray, np.ndarray]:
  """Checks and converts inputs to 1-D int64 arrays."""
  labels = np.asarray(labels)
  preds = np.asarray(preds)
  if labels.ndim != 1 or preds.ndim != 1:
    raise ValueError(f"labels and preds must be 1-D, got shapes {labels.shape} "
                     f"and {preds.shape}")
  if labels.shape != preds.shape:
    raise ValueError(f"labels and preds differ in length: {labels.size} labels, "
                     f"{preds.size} preds")
  if labels.size == 0:
    raise ValueError("cannot compute metrics on empty labels/preds")
  if num_classes < 1:
    raise ValueError(f"num_classes must be >= 1, got {num_classes}")
  for name, arr in (("labels", labels), ("preds", preds)):
    if not np.issubdtype(arr.dtype, np.integer):
      raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= num_classes:
      raise ValueError(f"{name} must lie in [0, {num_classes}), got values in "
                       f"[{arr.min()}, {arr.max()}]")
  return labels.astype(np.int64), preds.astype(np.int64)


def confusion_matrix(labels: ArrayLike, preds: ArrayLike,
                     num_classes: int) -> np.ndarray:
  """Counts of (true class, predicted class) pairs.

  Args:
    labels: true class per sample, ints in [0, num_classes).
    preds: predicted class per sample, ints in [0, num_classes).
    num_classes: number of classes C.

  Returns:
    [C, C] int64 array; rows are the true class, columns the prediction.
  """
  labels, preds = _validate(labels, preds, num_classes)
  flat = np.bincount(labels * num_classes + preds, minlength=num_classes**2)
  return flat.reshape(num_classes, num_classes)


def _class_counts(labels: ArrayLike, preds: ArrayLike,
                  num_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Per-class TP, FP, FN from the confusion matrix."""
  cm = confusion_matrix(labels, preds, num_classes)
  tp = np.diag(cm)
  return tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp


def accuracy(labels: ArrayLike, preds: ArrayLike, num_classes: int) -> float:
  """Accuracy, a.k.a. weighted average recall (WAR): correct / total."""
  labels, preds = _validate(labels, preds, num_classes)
  return float(np.mean(labels == preds))


def uar(labels: ArrayLike, preds: ArrayLike, num_classes: int) -> float:
  """Unweighted average recall: mean per-class recall.

  Classes with no true sample have no recall and are left out of the mean
  (as scikit-learn's `balanced_accuracy_score` does).
  """
  tp, _, fn = _class_counts(labels, preds, num_classes)
  support = tp + fn
  present = support > 0
  return float(np.mean(tp[present] / support[present]))


def uf1(labels: ArrayLike, preds: ArrayLike, num_classes: int) -> float:
  """Unweighted F1 (MEGC 2019): mean of per-class 2TP / (2TP + FP + FN).

  Call it on the concatenated predictions of all folds: TP/FP/FN are pooled
  over folds, not averaged per fold. Classes that occur neither in labels
  nor in preds are left out (their F1 is 0/0), as scikit-learn's
  `f1_score(average='macro')` does.
  """
  tp, fp, fn = _class_counts(labels, preds, num_classes)
  denom = 2 * tp + fp + fn
  present = denom > 0
  return float(np.mean(2 * tp[present] / denom[present]))


def legacy_elrcn_f1(labels: ArrayLike, preds: ArrayLike,
                    num_classes: int) -> float:
  """The ELRCN authors' "F1": harmonic mean of macro precision and recall.

  This is NOT UF1 (the mean of per-class F1 scores) and is offered only
  under this name, to compare with numbers produced by the ELRCN authors'
  public code (Khor et al., FG 2018). As there, precision and recall are
  averaged over all `num_classes` classes and a class with a 0/0 ratio
  counts as 0; the result is 0 when both averages are 0.
  """
  tp, fp, fn = _class_counts(labels, preds, num_classes)
  precision = np.mean(_safe_ratio(tp, tp + fp))
  recall = np.mean(_safe_ratio(tp, tp + fn))
  if precision + recall == 0:
    return 0.0
  return float(2 * precision * recall / (precision + recall))


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
  return np.divide(num, den, out=np.zeros(num.shape, np.float64), where=den > 0)


def summarize(labels: ArrayLike, preds: ArrayLike,
              num_classes: int) -> dict[str, float]:
  """The headline metrics: {'uf1', 'uar', 'accuracy'} as Python floats."""
  return {"uf1": uf1(labels, preds, num_classes),
          "uar": uar(labels, preds, num_classes),
          "accuracy": accuracy(labels, preds, num_classes)}


def per_dataset(datasets: Sequence[str], labels: ArrayLike, preds: ArrayLike,
                num_classes: int) -> dict[str, dict[str, float]]:
  """Headline metrics per corpus of a composite evaluation.

  Args:
    datasets: corpus name of each sample.
    labels: true class per sample.
    preds: predicted class per sample.
    num_classes: number of classes.

  Returns:
    {dataset: summarize(...) on that dataset's samples}, sorted by name.
  """
  labels, preds = _validate(labels, preds, num_classes)
  datasets = np.asarray(datasets, dtype=object)
  if datasets.shape != labels.shape:
    raise ValueError(f"got {datasets.size} dataset names for {labels.size} "
                     "labels; expected one per sample")
  return {str(d): summarize(labels[datasets == d], preds[datasets == d], num_classes)
          for d in sorted(set(datasets.tolist()))}


def mean_over_folds(fold_names: Sequence[str], labels: ArrayLike, preds: ArrayLike,
                    num_classes: int) -> dict[str, float]:
  """Each metric computed per fold, then averaged over the folds.

  The holdout-database evaluation (MEGC 2018 HDE, ELRCN Table III) reports
  this mean of the two folds instead of pooling their predictions. Includes
  `legacy_elrcn_f1`.
  """
  labels, preds = _validate(labels, preds, num_classes)
  names = np.asarray(fold_names, dtype=object)
  if names.shape != labels.shape:
    raise ValueError(f"got {names.size} fold names for {labels.size} labels; "
                     "expected one per sample")
  rows = []
  for fold in sorted(set(names.tolist())):
    y, p = labels[names == fold], preds[names == fold]
    rows.append({**summarize(y, p, num_classes),
                 "legacy_elrcn_f1": legacy_elrcn_f1(y, p, num_classes)})
  return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
