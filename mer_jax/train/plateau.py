"""Reduce-on-plateau per fold: a smaller learning rate when the monitored loss stalls.

`config.schedule.plateau = dict(patience=5, factor=0.1, threshold=1e-4,
min_scale=0.0)` (Islam et al.: "patience 5 for equal validation loss in five
consecutive epochs"), as PyTorch's `ReduceLROnPlateau` in its default 'rel'
mode: an epoch improves when its monitored loss is below best * (1 -
threshold); after more than `patience` epochs without improvement the fold's
learning rate is multiplied by `factor` (not below `min_scale` times the
schedule's) and the count starts again. It watches the same loss as model
selection (`train.selection`: the validation subjects for 'val_loss'), or
the training loss with 'last'.

The multiplier lives in the optimiser state (`optim.make_optimizer` appends
an injected `scale` when the schedule has a plateau section), so each fold of
a vmapped group has its own: at the start of every epoch the loop sets it to
this multiplier times the schedule's epoch factor (`optim.epoch_scale`). This
host-side state is saved in every checkpoint with the rest of the group's
bookkeeping.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np


@dataclasses.dataclass
class FoldPlateau:
  """Plateau state of F folds (numpy)."""

  best: np.ndarray        # [F] float32 best monitored loss, inf at first
  bad_epochs: np.ndarray  # [F] int32 epochs without improvement since the last change
  scale: np.ndarray       # [F] float32 learning-rate multiplier

  @classmethod
  def create(cls, folds: int) -> "FoldPlateau":
    return cls(np.full(folds, np.inf, np.float32), np.zeros(folds, np.int32),
               np.ones(folds, np.float32))

  def as_dict(self) -> dict[str, np.ndarray]:
    return dataclasses.asdict(self)

  def update(self, loss: np.ndarray, active: np.ndarray, cfg: Mapping) -> None:
    """Records one epoch's monitored loss of the `active` folds, lowering stalled folds' scale."""
    finite = active & np.isfinite(loss)
    better = finite & (loss < self.best * (1.0 - cfg.get("threshold", 1e-4)))
    self.best[better] = loss[better]
    self.bad_epochs[better] = 0
    self.bad_epochs[finite & ~better] += 1
    reduce = finite & (self.bad_epochs > cfg["patience"])
    self.scale[reduce] = np.maximum(self.scale[reduce] * cfg.get("factor", 0.1),
                                    cfg.get("min_scale", 0.0))
    self.bad_epochs[reduce] = 0
