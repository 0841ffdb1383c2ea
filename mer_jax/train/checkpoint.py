"""Orbax checkpoints of one fold group; a restarted run resumes by itself.

A checkpoint holds everything the loop needs to continue bit-for-bit: the
stacked train states, the selected models so far (parameters and batch
statistics, no optimiser state), the early-stopping state and
the learning-curve history. Random numbers are derived from (seed, fold,
epoch), so they need no saving.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from mer_jax.errors import ConfigError

_GROUP_DIR = re.compile(r"folds_(\d{3})-(\d{3})$")


def group_dir(workdir: str, ids: list[int]) -> str:
  """Where the group of fold indices `ids` (-1 = padding) keeps its checkpoints."""
  return os.path.join(workdir, "checkpoints", f"folds_{ids[0]:03d}-{max(ids):03d}")


def find_fold(workdir: str, fold_index: int) -> tuple[str, int]:
  """(checkpoint directory, position in its group) of fold `fold_index` of a run."""
  root = os.path.join(workdir, "checkpoints")
  names = sorted(os.listdir(root)) if os.path.isdir(root) else []
  for name in names:
    m = _GROUP_DIR.match(name)
    if m and int(m.group(1)) <= fold_index <= int(m.group(2)):
      return os.path.join(root, name), fold_index - int(m.group(1))
  raise ConfigError(f"{root} has no checkpoint of fold {fold_index} (found {names or 'none'}); "
                    "has this fold been trained?")


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
    metadata = manager.item_metadata(step)
    metadata = getattr(metadata, "tree", metadata)  # orbax 0.12 wraps the tree, 0.11 does not
    as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), metadata)
    tree = manager.restore(step, args=ocp.args.PyTreeRestore(restore_args=as_numpy))
  finally:
    manager.close()
  return {"params": tree["best"]["params"], "batch_stats": tree["best"].get("batch_stats") or {}}


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
    return self._manager.restore(step, args=ocp.args.StandardRestore(target))

  def close(self) -> None:
    """Waits for pending saves to finish."""
    self._manager.wait_until_finished()
    self._manager.close()
