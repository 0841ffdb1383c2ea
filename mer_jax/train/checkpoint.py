"""Orbax checkpoints of one fold group; a restarted run resumes by itself.

A checkpoint holds everything the loop needs to continue bit-for-bit: the
stacked train states, the best states so far, the early-stopping state and
the learning-curve history. Random numbers are derived from (seed, fold,
epoch), so they need no saving.
"""

from __future__ import annotations

from typing import Any

import orbax.checkpoint as ocp


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
