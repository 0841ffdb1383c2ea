"""One writer for scalars: TensorBoard event files, from process 0 only.

Keys look like 'fold03/train_loss'. TensorBoard (and TensorFlow under it) is
imported on first use, so runs that never write pay nothing.
"""

from __future__ import annotations

import os
from typing import Mapping

from mer_jax import multihost


class MetricWriter:
  """Writes scalars to `workdir/tensorboard` from process 0; a no-op elsewhere."""

  def __init__(self, workdir: str, enabled: bool = True):
    self._dir = os.path.join(workdir, "tensorboard")
    self._enabled = enabled and multihost.is_primary()
    self._writer = None

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self._enabled:
      return
    if self._writer is None:
      from flax.metrics import tensorboard  # Heavy (TensorFlow): import on first use.
      self._writer = tensorboard.SummaryWriter(self._dir)
    for key, value in scalars.items():
      self._writer.scalar(key, value, step)

  def close(self) -> None:
    if self._writer is not None:
      self._writer.flush()
      self._writer.close()
