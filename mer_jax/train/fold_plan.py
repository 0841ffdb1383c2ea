"""Turns protocol folds into the padded index arrays the fold-parallel engine uses.

Every fold gets train / monitor / test index sets. All folds of a run are
padded to the same lengths (the largest over ALL folds), so every fold group
has the same shapes: the step compiles once, and a fold trains identically
whether it runs alone or beside others. Groups shorter than
`folds_in_parallel` are filled with inactive padding folds.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from mer_jax.data import protocols
from mer_jax.data.sample import Sample


@dataclasses.dataclass(frozen=True)
class FoldPlan:
  """Index sets of every fold of a run, and their padded sizes."""

  folds: list[protocols.Fold]
  train: list[np.ndarray]    # per fold: training sample indices
  monitor: list[np.ndarray]  # per fold: what selection watches (val or test; may be empty)
  sizes: dict[str, int]      # padded lengths: 'train', 'monitor', 'test'

  @property
  def names(self) -> list[str]:
    return [f.name for f in self.folds]

  def num_groups(self, group_size: int) -> int:
    return math.ceil(len(self.folds) / group_size)

  def group_ids(self, g: int, group_size: int) -> list[int]:
    """Fold indices of group `g`, -1 for padding."""
    ids = list(range(g * group_size, min((g + 1) * group_size, len(self.folds))))
    return ids + [-1] * (group_size - len(ids))

  def group_arrays(self, ids: Sequence[int]) -> dict[str, np.ndarray]:
    """Stacked, padded arrays `[F, ...]` for the folds `ids` (-1 = padding)."""
    out = {}
    for key, sets in (("train", self.train), ("monitor", self.monitor),
                      ("test", [f.test for f in self.folds])):
      rows = [sets[i] if i >= 0 else np.zeros(0, np.int64) for i in ids]
      out[key] = np.stack([pad(r, self.sizes[key]) for r in rows]).astype(np.int32)
      out[f"n_{key}"] = np.asarray([len(r) for r in rows], np.int32)
    return out


def pad(idx: np.ndarray, size: int) -> np.ndarray:
  """Pads an index array with zeros (a valid index, masked by the count)."""
  return np.concatenate([idx, np.zeros(size - len(idx), idx.dtype)])


def round_up(n: int, multiple: int) -> int:
  return max(multiple, math.ceil(n / multiple) * multiple)


def make_fold_plan(samples: Sequence[Sample], folds: list[protocols.Fold], *,
                   selection: str, val_fraction: float, seed: int,
                   eval_chunk: int) -> FoldPlan:
  """Splits off validation subjects (for 'val_loss') and pads everything.

  Monitor and test lengths are rounded up to a multiple of `eval_chunk`, the
  number of clips evaluated at once.
  """
  train, monitor = [], []
  for fold in folds:
    if selection == "val_loss":
      tr, val = protocols.split_validation(samples, fold.train, val_fraction, seed, fold.name)
    else:
      tr, val = fold.train, (fold.test if selection == "oracle" else fold.train[:0])
    train.append(np.asarray(tr))
    monitor.append(np.asarray(val))
  sizes = {"train": max(len(t) for t in train),
           "monitor": round_up(max(len(m) for m in monitor), eval_chunk),
           "test": round_up(max(len(f.test) for f in folds), eval_chunk)}
  return FoldPlan(folds, train, monitor, sizes)
