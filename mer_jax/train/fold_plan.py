"""Turns protocol folds into the padded index arrays the fold functions (fold_fns.py) use.

Every fold gets train / monitor / test index sets. All folds of a run are
padded to the same lengths (the largest over ALL folds), so every fold group
has the same shapes: the step compiles once, and a fold trains identically
whether it runs alone or beside others. Groups shorter than
`folds_in_parallel` are filled with inactive padding folds.

With `balance='oversample'` every fold's training set is class-balanced by
drawing extra copies of the clips of the smaller classes (at random, with
replacement, seeded per fold) until each class has as many as the largest:
what ATNet's authors did to their training lists (`TrainBalance_Apex.txt`).
With `balance='sampler'` the list stays as it is and each clip gets a drawing
weight 1 / (its class' count): every epoch draws as many clips as the list
holds, with replacement, by those weights (PyTorch's `WeightedRandomSampler`,
as Islam et al. used). `class_weights='balanced'` weights each clip's loss by
n / (C * n_c) of its class c in the fold's training list (scikit-learn's
'balanced'; PyTorch's weighted cross-entropy then divides by the batch's sum
of weights, as `steps.masked_cross_entropy` does).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from mer_jax.data import protocols
from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class FoldPlan:
  """Index sets of every fold of a run, and their padded sizes."""

  folds: list[protocols.Fold]
  train: list[np.ndarray]    # per fold: training sample indices
  monitor: list[np.ndarray]  # per fold: what selection watches (val or test; may be empty)
  sizes: dict[str, int]      # padded lengths: 'train', 'monitor', 'test'
  train_weight: list[np.ndarray] | None = None  # per fold: drawing weight of each train position
  loss_weight: list[np.ndarray] | None = None   # per fold: [C] loss weight of each class

  @property
  def names(self) -> list[str]:
    return [f.name for f in self.folds]

  def group_arrays(self, ids: Sequence[int]) -> dict[str, np.ndarray]:
    """Stacked, padded arrays `[F, ...]` for the folds `ids` (-1 = padding)."""
    out = {}
    for key, sets in (("train", self.train), ("monitor", self.monitor),
                      ("test", [f.test for f in self.folds])):
      rows = [sets[i] if i >= 0 else np.zeros(0, np.int64) for i in ids]
      out[key] = np.stack([pad(r, self.sizes[key]) for r in rows]).astype(np.int32)
      out[f"n_{key}"] = np.asarray([len(r) for r in rows], np.int32)
    if self.train_weight is not None:  # padding positions (and padding folds) weigh 0
      rows = [self.train_weight[i] if i >= 0 else np.zeros(0) for i in ids]
      out["train_weight"] = np.stack([np.concatenate([r, np.zeros(self.sizes["train"] - len(r))])
                                      for r in rows]).astype(np.float32)
    if self.loss_weight is not None:
      width = len(self.loss_weight[0])
      out["loss_weight"] = np.stack([self.loss_weight[i] if i >= 0 else np.ones(width)
                                     for i in ids]).astype(np.float32)
    return out


def group_folds(folds: Sequence[int], group_size: int) -> list[list[int]]:
  """The fold indices `folds`, in order, in groups of `group_size`; -1 pads the last.

  The loop groups only the folds still to train, so a resumed run never trains
  a finished fold again, whatever `folds_in_parallel` it resumes with.
  """
  groups = [list(folds[i:i + group_size]) for i in range(0, len(folds), group_size)]
  return [g + [-1] * (group_size - len(g)) for g in groups]


def pad(idx: np.ndarray, size: int) -> np.ndarray:
  """Pads an index array with zeros (a valid index, masked by the count)."""
  return np.concatenate([idx, np.zeros(size - len(idx), idx.dtype)])


def round_up(n: int, multiple: int) -> int:
  return max(multiple, math.ceil(n / multiple) * multiple)


BALANCE_MODES = ("", "oversample", "sampler")
CLASS_WEIGHTS = ("", "balanced")


def oversample(train: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """`train` plus random repeats of its smaller classes' clips, up to the largest class' count.

  Returns the sorted indices (repeats included).
  """
  classes, counts = np.unique(labels[train], return_counts=True)
  extra = [rng.choice(train[labels[train] == c], counts.max() - n, replace=True)
           for c, n in zip(classes, counts)]
  return np.sort(np.concatenate([train, *extra]))


def inverse_class_frequency(labels: np.ndarray) -> np.ndarray:
  """1 / (count of its class) for each label: a class-balanced drawing weight."""
  _, where, counts = np.unique(labels, return_inverse=True, return_counts=True)
  return 1.0 / counts[where]


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
  """n / (C * n_c) per class c (scikit-learn's 'balanced'); 0 for a class absent here."""
  counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
  present = counts > 0
  return np.where(present, len(labels) / (present.sum() * np.maximum(counts, 1)), 0.0)


def make_fold_plan(samples: Sequence[Sample], folds: list[protocols.Fold], *,
                   selection: str, val_fraction: float, seed: int,
                   eval_chunk: int, balance: str = "", class_weights: str = "",
                   labels: np.ndarray | None = None, num_classes: int = 0) -> FoldPlan:
  """Splits off validation subjects (for 'val_loss'), balances classes, pads everything.

  Monitor and test lengths are rounded up to a multiple of `eval_chunk`, the
  number of clips evaluated at once. `balance` and `class_weights` (both need
  `labels`; the weights also `num_classes`) act on each fold's training clips
  after the validation split (see the module docstring).
  """
  if balance not in BALANCE_MODES or (balance and labels is None):
    raise ConfigError(f"config.train.balance={balance!r}; expected one of {BALANCE_MODES}")
  if class_weights not in CLASS_WEIGHTS or (class_weights and labels is None):
    raise ConfigError(f"config.train.class_weights={class_weights!r}; expected one of "
                      f"{CLASS_WEIGHTS}")
  train, monitor = [], []
  for fold in folds:
    if selection == "val_loss":
      tr, val = protocols.split_validation(samples, fold.train, val_fraction, seed, fold.name)
    else:
      tr, val = fold.train, (fold.test if selection == "oracle" else fold.train[:0])
    tr = np.asarray(tr)
    if balance == "oversample":
      tr = oversample(tr, np.asarray(labels), np.random.default_rng([seed, len(train)]))
    train.append(tr)
    monitor.append(np.asarray(val))
  sizes = {"train": max(len(t) for t in train),
           "monitor": round_up(max(len(m) for m in monitor), eval_chunk),
           "test": round_up(max(len(f.test) for f in folds), eval_chunk)}
  labels = None if labels is None else np.asarray(labels)
  draw = ([inverse_class_frequency(labels[t]) for t in train] if balance == "sampler"
          else None)
  weigh = ([balanced_class_weights(labels[t], num_classes) for t in train]
           if class_weights else None)
  return FoldPlan(folds, train, monitor, sizes, draw, weigh)
