"""One writer for scalars and text: TensorBoard event files, from process 0 only.

Keys look like 'test_casme2_sub05/train_loss': a fold is named by what it
tests (`fold_tags`), so the curves of a LOSO run read by subject. Each fold
writes per epoch 'train_loss', 'train_accuracy', 'lr' (the learning rate its
optimiser applies in that epoch's first step) and, when the loop monitors
one, 'val_loss' (the validation subjects' mean loss) or, under oracle
selection, 'test_loss'. The run's config is written once, as text under
'config', when the event file is opened. TensorBoard (and TensorFlow under
it) is imported on first use, so runs that never write pay nothing.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping, Sequence

from mer_jax import multihost

CONFIG_TAG = "config"


def safe_tag(text: str) -> str:
  """`text` with every run of characters other than letters, digits, '.', '-' as one '_'."""
  return re.sub(r"[^A-Za-z0-9.\-]+", "_", text).strip("_")


def fold_tag(fold: Any) -> str:
  """The TensorBoard name of one fold (a `protocols.Fold`), by its test subjects.

  One subject: 'test_casme2_sub05' (LOSO); several subjects in a fold named
  after what it tests (leave one dataset out): 'test_samm'; several subjects
  in a k-fold's 'foldNN': its name, the first subject and the count of the
  others ('fold03_test_synthetic_s01_and_4_more'); none: the fold's name.
  """
  subjects, name = list(fold.test_subjects), safe_tag(fold.name)
  if len(subjects) == 1:
    return "test_" + safe_tag(subjects[0])
  if not subjects:
    return name
  if not re.fullmatch(r"fold\d+", fold.name):
    return "test_" + name
  return f"{name}_test_{safe_tag(subjects[0])}_and_{len(subjects) - 1}_more"


def fold_tags(folds: Sequence[Any]) -> list[str]:
  """`fold_tag` of every fold; a name two folds share is prefixed by each fold's own name."""
  tags = [fold_tag(f) for f in folds]
  return [t if tags.count(t) == 1 or t.startswith(safe_tag(f.name)) else
          f"{safe_tag(f.name)}_{t}" for f, t in zip(folds, tags)]


def config_text(config: Mapping[str, Any]) -> str:
  """The config as indented JSON in a Markdown code block (TensorBoard renders Markdown)."""
  body = json.dumps(config, indent=2, sort_keys=True, default=str)
  return "```\n" + body + "\n```"


class MetricWriter:
  """Writes to `workdir/tensorboard` from process 0; a no-op elsewhere.

  `config`: the run's config, written once as text when the event file opens.
  """

  def __init__(self, workdir: str, enabled: bool = True,
               config: Mapping[str, Any] | None = None):
    self._dir = os.path.join(workdir, "tensorboard")
    self._enabled = enabled and multihost.is_primary()
    self._config = config
    self._writer = None

  def _open(self):
    if self._writer is None:
      from flax.metrics import tensorboard  # Heavy (TensorFlow): import on first use.
      self._writer = tensorboard.SummaryWriter(self._dir)
      if self._config is not None:
        self._writer.text(CONFIG_TAG, config_text(self._config), 0)
    return self._writer

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self._enabled:
      return
    writer = self._open()
    for key, value in scalars.items():
      writer.scalar(key, value, step)

  def close(self) -> None:
    if self._writer is not None:
      self._writer.flush()
      self._writer.close()
