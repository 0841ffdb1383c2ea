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

Disk stays bounded (`keep_selected_only`, `prune_finished`): once a group's
fold results are written, its checkpoint is rewritten without the training
state (`TRAINING_ITEMS`: parameters and Adam moments of the last epoch), which
nothing needs again; the selected models, selection and history stay for
predict, gradcam and a resume. Only the group in progress keeps everything.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any, Callable

from absl import logging
import jax
import numpy as np
import orbax.checkpoint as ocp

from mer_jax import multihost
from mer_jax.errors import ConfigError

# The items of a group checkpoint that only its training needs: a finished group drops them.
TRAINING_ITEMS = ("states",)
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


@contextlib.contextmanager
def _newest(directory: str):
  """(reader, step, {item: metadata}) of the newest checkpoint; step and items None if none."""
  manager = ocp.CheckpointManager(directory, item_handlers=ocp.PyTreeCheckpointHandler())
  try:
    step, items = manager.latest_step(), None
    if step is not None:
      try:
        items = manager.item_metadata(step)
        items = getattr(items, "tree", items)  # orbax 0.12 wraps the tree, 0.11 not
        if not isinstance(items, dict):
          raise ValueError(f"no item metadata ({type(items).__name__})")
      except Exception as e:  # pylint: disable=broad-except (orbax, tensorstore, json errors)
        raise _damaged(os.path.join(directory, str(step)), e) from e
    yield manager, step, items
  finally:
    manager.close()


def _read_on_host(directory: str, wanted: Callable[[str], bool]) -> tuple[int, dict]:
  """(step, the items named `wanted` as numpy arrays) of the newest checkpoint under `directory`.

  Numpy on the host: a run trained on one set of devices (an accelerator
  mesh) is read on any other (a laptop's CPU). Other items are not read.
  """
  with _newest(directory) as (manager, step, items):
    if step is None:
      raise ConfigError(f"{directory} holds no complete checkpoint")
    items = {k: v for k, v in items.items() if wanted(k)}
    as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), items)
    try:
      return step, manager.restore(step, args=ocp.args.PyTreeRestore(
          item=items, restore_args=as_numpy, partial_restore=True))
    except Exception as e:  # pylint: disable=broad-except (orbax, tensorstore, json errors)
      raise _damaged(os.path.join(directory, str(step)), e) from e


def restore_selected(directory: str) -> Any:
  """The selected ('best') params and batch statistics of every fold of a group checkpoint.

  Each leaf keeps the group's leading fold axis; `take_fold` picks one fold.
  Read as numpy arrays on the host (`_read_on_host`), from a full or a
  pruned (`keep_selected_only`) checkpoint alike.
  """
  _, tree = _read_on_host(directory, lambda item: item == "best")
  best = tree["best"]
  return {"params": best["params"], "batch_stats": best.get("batch_stats") or {}}


def holds_training_state(directory: str) -> bool:
  """Whether the newest checkpoint under `directory` still holds its `TRAINING_ITEMS`."""
  with _newest(directory) as (_, step, items):
    return step is not None and any(k in items for k in TRAINING_ITEMS)


def keep_selected_only(directory: str) -> bool:
  """Rewrites a finished group's checkpoint without its `TRAINING_ITEMS`; whether it changed.

  The other items are saved as the next step; orbax renames it into place
  once complete and only then deletes the full step (max_to_keep=1), so a
  kill at any moment leaves a checkpoint that restores. The folder keeps its
  modification time, which `find_fold` compares.
  """
  times = os.stat(directory)
  with _newest(directory) as (manager, step, items):
    if step is None:
      return False
    older = [s for s in manager.all_steps() if s != step]
    if not any(k in items for k in TRAINING_ITEMS):
      for s in older:  # A full step half deleted by a kill: nothing restores it.
        manager.delete(s)
      return bool(older)
  step, kept = _read_on_host(directory, lambda item: item not in TRAINING_ITEMS)
  ckpt = GroupCheckpointer(directory)
  ckpt.save(step + 1, kept)
  ckpt.close()
  multihost.sync(f"pruned {directory}")
  if multihost.is_primary():
    os.utime(directory, ns=(times.st_atime_ns, times.st_mtime_ns))
  return True


def prune_finished(workdir: str, finished: set[int]) -> list[str]:
  """`keep_selected_only` on each group folder whose folds are all `finished`; those changed.

  A folder that cannot be read stays as it is, with a warning: training needs it no more.
  """
  root = os.path.join(workdir, "checkpoints")
  pruned = []
  for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    folds = group_folds_of(name)
    if not folds or not set(folds) <= finished:
      continue
    try:
      if keep_selected_only(os.path.join(root, name)):
        pruned.append(name)
    except ConfigError as e:
      logging.warning("%s", e)
  return pruned


def tree_bytes(tree: Any) -> int:
  """Bytes of the arrays of `tree` (arrays or `jax.ShapeDtypeStruct`s), uncompressed."""
  return sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def describe_disk_use(training_bytes: int, selected_bytes: int, groups: int) -> str:
  """The line a run prints at its start: the most disk its checkpoints take.

  The group in progress keeps its training state (`training_bytes`; twice
  while orbax writes an epoch's checkpoint beside the last one); each of the
  other `groups - 1` keeps its selected models (`selected_bytes`).
  """
  most = 2 * training_bytes + (groups - 1) * selected_bytes
  return (f"checkpoints: about {_size(most)} at most (the in-progress group's training state "
          f"{_size(training_bytes)}, twice while an epoch is saved, + selected models "
          f"{_size(selected_bytes)} per finished group x {groups - 1} groups)")


def _size(n: int) -> str:
  """'1.23 GB', '45.6 MB' or '789 kB' (three significant digits)."""
  for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
    if n >= scale or unit == "kB":
      return f"{n / scale:.3g} {unit}"


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
    """Restores the newest checkpoint into a tree shaped (and sharded) like `target`.

    A finished group's checkpoint (`keep_selected_only`) has no
    `TRAINING_ITEMS`: the tree returned has none either.
    """
    step = self._manager.latest_step()
    if not holds_training_state(self.directory):
      target = {k: v for k, v in target.items() if k not in TRAINING_ITEMS}
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(target))
    except Exception as e:  # pylint: disable=broad-except (orbax, tensorstore, json errors)
      raise _damaged(self.directory, e) from e

  def close(self) -> None:
    """Waits for pending saves to finish."""
    self._manager.wait_until_finished()
    self._manager.close()
