"""What a finished fold leaves behind: its test predictions, selected epoch and curves.

One JSON file per fold in `workdir/folds/`, written atomically when the fold's
group finishes. A resumed run skips every fold that has one.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from mer_jax import multihost


@dataclasses.dataclass
class FoldOutcome:
  """The result of training and testing one fold."""

  name: str
  test_indices: list[int]      # sample indices of the test set
  logits: list[list[float]]    # [n_test, C] logits of the selected model
  best_epoch: int              # epoch of the selected model (0-based)
  epochs_trained: int
  nan_epoch: int               # epoch whose training loss was NaN, -1 if none
  history: dict[str, list[float]]  # 'train_loss', 'train_accuracy', 'monitor_loss'

  @property
  def predictions(self) -> np.ndarray:
    return np.argmax(np.asarray(self.logits), axis=-1)

  def summary(self) -> dict:
    """The per-fold entries of results.json."""
    return {"best_epoch": self.best_epoch, "epochs_trained": self.epochs_trained,
            "stopped_on_nan_loss": self.nan_epoch >= 0}


def path_of(workdir: str, name: str) -> str:
  return os.path.join(workdir, "folds", name.replace("/", "__") + ".json")


def save(workdir: str, outcome: FoldOutcome) -> None:
  """Writes the outcome atomically (a killed run never leaves half a file).

  Process 0 writes; the other processes of a multi-host run hold the same outcome.
  """
  if not multihost.is_primary():
    return
  path = path_of(workdir, outcome.name)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path + ".tmp", "w") as f:
    json.dump(dataclasses.asdict(outcome), f)
  os.replace(path + ".tmp", path)


def load_all(workdir: str, names: list[str]) -> dict[str, FoldOutcome]:
  """The outcomes already on disk for the folds `names`."""
  found = {}
  for name in names:
    path = path_of(workdir, name)
    if os.path.exists(path):
      with open(path) as f:
        found[name] = FoldOutcome(**json.load(f))
  return found
