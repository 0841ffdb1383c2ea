"""Per-fold model selection: early stopping on a leak-free monitor, or the last epoch.

Modes (config.train.selection):
  'val_loss': keep the epoch with the lowest loss on the validation subjects
    (drawn from the fold's training subjects); stop a fold after `patience`
    epochs without improvement. The default (design.md, decision 6).
  'last': the paper's fixed schedule; the last epoch is the model.
  'oracle': like 'val_loss' but monitors the TEST subject. Only for reproducing
    published numbers; every report it touches says so.
A fold whose training loss becomes NaN stops at once and keeps its best model.
"""

from __future__ import annotations

import dataclasses

from absl import logging
import numpy as np

MODES = ("val_loss", "last", "oracle")


@dataclasses.dataclass
class FoldSelection:
  """Early-stopping state of F folds (numpy, saved in every checkpoint)."""

  best_loss: np.ndarray   # [F] float32, inf before the first epoch
  best_epoch: np.ndarray  # [F] int32, -1 before the first epoch
  bad_epochs: np.ndarray  # [F] int32 epochs since the last improvement
  stopped: np.ndarray     # [F] bool; padding folds start stopped
  nan_epoch: np.ndarray   # [F] int32 epoch of a NaN training loss, -1 if none

  @classmethod
  def create(cls, real: np.ndarray) -> "FoldSelection":
    """Fresh state; `real[f]` is False for the padding folds of a short group."""
    f = len(real)
    return cls(np.full(f, np.inf, np.float32), np.full(f, -1, np.int32),
               np.zeros(f, np.int32), ~np.asarray(real, bool), np.full(f, -1, np.int32))

  def as_dict(self) -> dict[str, np.ndarray]:
    return dataclasses.asdict(self)

  @property
  def active(self) -> np.ndarray:
    return ~self.stopped

  def update(self, epoch: int, train_loss: np.ndarray, monitor_loss: np.ndarray | None,
             *, mode: str, patience: int, names: list[str]) -> np.ndarray:
    """Records one epoch; returns [F] bool: folds whose model is the new best."""
    was_active = self.active
    nan = was_active & ~np.isfinite(train_loss)
    for f in np.flatnonzero(nan):
      logging.warning("fold %s: training loss is %s at epoch %d; the fold stops and "
                      "keeps its best model so far", names[f], train_loss[f], epoch)
    self.nan_epoch[nan] = epoch
    self.stopped |= nan
    ok = was_active & ~nan
    loss = train_loss if mode == "last" else monitor_loss
    improved = ok if mode == "last" else ok & (loss < self.best_loss)
    self.best_loss[improved] = loss[improved]
    self.best_epoch[improved] = epoch
    self.bad_epochs[improved] = 0
    self.bad_epochs[ok & ~improved] += 1
    if mode != "last":  # As Keras' EarlyStopping: `patience` epochs with no improvement.
      self.stopped |= ok & ~improved & (self.bad_epochs >= patience)
    return improved
