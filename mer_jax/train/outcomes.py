"""What a finished fold leaves behind: its test predictions, selected epoch and curves.

One JSON file per fold in `workdir/folds/`, written atomically when the fold's
group finishes. A resumed run skips every fold that has one; a damaged one is
an error that names it (deleting it makes that fold's result again).

Two ways a fold can end without a model worth reporting are flagged here: no
epoch was ever selected (`trained` False: the loss was not finite from the
first epoch, so the fold holds its untrained initial weights), and the
training loss ended far above where it started (`diverged`).
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from mer_jax import multihost
from mer_jax.errors import DataError

# A fold whose last training loss is this many times its first epoch's diverged.
DIVERGENCE_FACTOR = 10.0


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

  @property
  def trained(self) -> bool:
    """False when no epoch was selected: the model is the untrained initial one."""
    return self.best_epoch >= 0

  @property
  def diverged(self) -> bool:
    """The last finite training loss is DIVERGENCE_FACTOR x the first epoch's, or more."""
    losses = [x for x in self.history.get("train_loss", []) if np.isfinite(x)]
    return len(losses) > 1 and losses[-1] > DIVERGENCE_FACTOR * max(losses[0], 1e-3)

  def summary(self) -> dict:
    """The per-fold entries of results.json."""
    return {"best_epoch": self.best_epoch, "epochs_trained": self.epochs_trained,
            "stopped_on_nan_loss": self.nan_epoch >= 0, "trained": self.trained,
            "diverged": self.diverged}


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
      found[name] = _load(path)
  return found


def _load(path: str) -> FoldOutcome:
  """One fold's file; a truncated, empty or incomplete one is a DataError naming it."""
  try:
    with open(path) as f:
      outcome = FoldOutcome(**json.load(f))
    np.asarray(outcome.logits, np.float32).reshape(len(outcome.test_indices), -1)
  except (ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
    raise DataError(
        f"{path} is damaged ({type(e).__name__}: {e}); delete it and run the same "
        "command again: that fold's result is made again from its group's checkpoint "
        "(or by training it again where there is none); the other folds are kept") from e
  return outcome
