"""Orbax checkpoints of one fold group; a restarted run resumes by itself.

A checkpoint holds everything the loop needs to continue bit-for-bit: the
stacked train states, the selected models so far (parameters and batch
statistics, no optimiser state), the early-stopping state and
the learning-curve history. Random numbers are derived from (seed, fold,
epoch), so they need no saving.

A group's folder is named by its folds (`group_dir`: 'folds_004-007', or
'folds_003_005-006_of4' for folds 3, 5, 6 padded to 4), so a resumed run
reuses a checkpoint exactly when it trains the same folds side by side. A
checkpoint that cannot be read is a ConfigError naming its folder: deleting
the folder restarts only that group.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from mer_jax.errors import ConfigError

_GROUP_DIR = re.compile(r"folds_(\d{3}(?:-\d{3})?(?:_\d{3}(?:-\d{3})?)*)(?:_of(\d+))?$")


def group_dir(workdir: str, ids: list[int]) -> str:
  """Where the group of fold indices `ids` (-1 = padding) keeps its checkpoints.

  Runs of consecutive folds are 'AAA-BBB', others 'AAA', joined by '_'; a
  group that is not contiguous or has padding ends in '_of<group size>'
  ('folds_008-009_of4'). A contiguous, unpadded group keeps the name of
  earlier versions ('folds_000-003').
  """
  real = [i for i in ids if i >= 0]
  spans = []
  for i in real:
    if spans and i == spans[-1][1] + 1:
      spans[-1][1] = i
    else:
      spans.append([i, i])
  name = "_".join(f"{a:03d}" if a == b else f"{a:03d}-{b:03d}" for a, b in spans)
  if len(real) == 1:
    name = f"{real[0]:03d}-{real[0]:03d}"
  if len(spans) > 1 or len(real) < len(ids):
    name += f"_of{len(ids)}"
  return os.path.join(workdir, "checkpoints", f"folds_{name}")


def group_folds_of(name: str) -> list[int] | None:
  """The fold indices of a `group_dir` folder name, in order (no padding); None if not one."""
  m = _GROUP_DIR.match(name)
  if not m:
    return None
  folds = []
  for span in m.group(1).split("_"):
    a, _, b = span.partition("-")
    folds += range(int(a), int(b or a) + 1)
  return folds


def find_fold(workdir: str, fold_index: int) -> tuple[str, int]:
  """(checkpoint directory, position in its group) of fold `fold_index` of a run.

  When several groups hold the fold (a run resumed with another
  `folds_in_parallel` leaves the old group's checkpoint), the most recently
  written one is the group that finished it.
  """
  root = os.path.join(workdir, "checkpoints")
  names = sorted(os.listdir(root)) if os.path.isdir(root) else []
  found = [(os.path.getmtime(os.path.join(root, n)), n, folds.index(fold_index))
           for n in names if fold_index in (folds := group_folds_of(n) or [])]
  if not found:
    raise ConfigError(f"{root} has no checkpoint of fold {fold_index} (found "
                      f"{names or 'none'}); has this fold been trained?")
  _, name, position = max(found)
  return os.path.join(root, name), position


def _damaged(directory: str, error: Exception) -> ConfigError:
  """The one-line error for a checkpoint folder that orbax cannot read."""
  return ConfigError(
      f"{directory}: the checkpoint cannot be read ({type(error).__name__}: "
      f"{str(error).splitlines()[0] if str(error) else 'no detail'}); it is damaged (a run "
      "killed while writing it, or a copy that was cut short): delete that folder and run "
      "the same training command again; only this group of folds starts again, the "
      "finished folds are kept")


def restore_selected(directory: str) -> Any:
  """The selected ('best') params and batch statistics of every fold of a group checkpoint.

  Each leaf keeps the group's leading fold axis; `take_fold` picks one fold.
  The checkpoint is read as numpy arrays on the host, so a run trained on
  one set of devices (an accelerator mesh) is read on any other (a laptop's
  CPU); restoring with the saved shardings needs the same devices.
  """
  manager = ocp.CheckpointManager(directory, item_handlers=ocp.PyTreeCheckpointHandler())
  try:
    step = manager.latest_step()
    if step is None:
      raise ConfigError(f"{directory} holds no complete checkpoint")
    try:
      metadata = manager.item_metadata(step)
      metadata = getattr(metadata, "tree", metadata)  # orbax 0.12 wraps the tree, 0.11 not
      as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), metadata)
      tree = manager.restore(step, args=ocp.args.PyTreeRestore(restore_args=as_numpy))
      best = tree["best"]
    except Exception as e:  # pylint: disable=broad-except (orbax, tensorstore, json errors)
      raise _damaged(os.path.join(directory, str(step)), e) from e
  finally:
    manager.close()
  return {"params": best["params"], "batch_stats": best.get("batch_stats") or {}}


def take_fold(variables: Any, position: int) -> Any:
  """The variables of the fold at `position` of `restore_selected`'s stacked tree."""
  return {name: _take(tree, position) for name, tree in variables.items()}


def restore_selected_params(directory: str, position: int) -> Any:
  """The selected ('best') params of the fold at `position` of a group checkpoint."""
  return take_fold(restore_selected(directory), position)


def _take(tree: Any, position: int) -> Any:
  """Leaf `[position]` of every array of a fold-stacked tree."""
  if isinstance(tree, dict):
    return {k: _take(v, position) for k, v in tree.items()}
  return np.asarray(tree)[position]


class GroupCheckpointer:
  """Saves and restores the training of one fold group under `directory`."""

  def __init__(self, directory: str, *, keep: int = 1):
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    self.directory = directory
    self._manager = ocp.CheckpointManager(directory, options=options)

  def latest_epoch(self) -> int | None:
    """The epoch of the newest complete checkpoint, or None."""
    return self._manager.latest_step()

  def save(self, epoch: int, tree: Any) -> None:
    """Saves `tree` as the checkpoint of `epoch` (asynchronously)."""
    self._manager.save(epoch, args=ocp.args.StandardSave(tree))

  def restore(self, target: Any) -> Any:
    """Restores the newest checkpoint into a tree shaped (and sharded) like `target`."""
    step = self._manager.latest_step()
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(target))
    except Exception as e:  # pylint: disable=broad-except (orbax, tensorstore, json errors)
      raise _damaged(self.directory, e) from e

  def close(self) -> None:
    """Waits for pending saves to finish."""
    self._manager.wait_until_finished()
    self._manager.close()
