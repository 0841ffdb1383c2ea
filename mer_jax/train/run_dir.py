"""The run directory: checked writable, holds the resolved config, refuses a foreign run.

`load_config` reads that config back for the tools that use a finished run
(`mer_jax.gradcam`, `mer_jax.predict`).

Re-running a command with the same `--workdir` resumes it; re-running with a
different experiment in a used workdir would silently mix two runs, so it is
an error that names the fields that differ. Fields that only change how fast
the run goes (listed in `RESUMABLE_FIELDS`) may change between attempts.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Mapping

import ml_collections

from mer_jax import multihost
from mer_jax.errors import ConfigError
from mer_jax.eval.report import write_atomic

# Speed and memory only: remat recomputes the same values; microbatches give the
# same update up to float rounding; compare_runs only adds rows to the report.
RESUMABLE_FIELDS = ("protocol.folds_in_parallel", "train.checkpoint_every_epochs",
                    "train.progress_bar", "train.microbatches", "model.remat",
                    "eval.compare_runs")


def prepare(workdir: str, config: Mapping[str, Any]) -> None:
  """Creates `workdir`, checks it is writable and holds no other run's config."""
  try:
    os.makedirs(workdir, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=workdir):
      pass
  except OSError as e:
    raise ConfigError(f"--workdir={workdir} is not a writable directory: {e}") from e
  path = os.path.join(workdir, "config.json")
  resolved = json.loads(json.dumps(config, default=str))
  if os.path.exists(path):
    with open(path) as f:
      previous = json.load(f)
    differing = [k for k in diff_keys(previous, resolved) if k not in RESUMABLE_FIELDS]
    if differing:
      raise ConfigError(
          f"--workdir={workdir} holds a run with a different config (fields "
          f"{', '.join(differing)}); use a new --workdir, or delete this one to start over")
  if multihost.is_primary():  # Every process checks; one writes (the same config).
    write_atomic(path, json.dumps(resolved, indent=2, sort_keys=True).encode("utf-8"))


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The resolved config a run saved in `workdir/config.json`."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise ConfigError(f"{path} does not exist; --workdir must be a directory that "
                      "`python -m mer_jax.main` has run in")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def diff_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
  """Dotted paths of the fields where nested dicts `a` and `b` differ."""
  if not (isinstance(a, dict) and isinstance(b, dict)):
    return [] if a == b else [prefix or "<root>"]
  out = []
  for key in sorted(set(a) | set(b)):
    path = f"{prefix}.{key}" if prefix else key
    if key not in a or key not in b:
      out.append(path)
    else:
      out += diff_keys(a[key], b[key], path)
  return out
