"""The run directory: checked writable, locked, holds the resolved config, refuses a foreign run.

`prepare` checks a workdir before any work (writable, no other process in it,
run_lock.py; no other run's config); `record` writes `config.json` once the
inputs have been validated (data read, weights found), so a command that
fails at the start leaves nothing that refuses its corrected retry.
`load_config` reads the config back for the tools that use a finished run
(`mer_jax.gradcam`, `mer_jax.predict`).

Re-running a command with the same `--workdir` resumes it; re-running with a
different experiment in a used workdir would silently mix two runs, so it is
an error that names the fields that differ. Fields that only change how fast
the run goes or how it is reported (`RESUMABLE_FIELDS`), and fields that only
locate its inputs (`LOCATING_FIELDS`: the corpus tree moved, another copy of
the weights file), may change between attempts; `config.json` then holds the
latest.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Mapping

import ml_collections

from mer_jax import multihost
from mer_jax.atomic_write import write_atomic
from mer_jax.errors import ConfigError
from mer_jax.train import run_lock

# Speed and memory only: remat recomputes the same values; microbatches give the
# same update up to float rounding; compare_runs only adds rows to the report.
RESUMABLE_FIELDS = ("protocol.folds_in_parallel", "protocol.fold_strategy",
                    "train.checkpoint_every_epochs", "train.progress_bar",
                    "train.microbatches", "model.remat", "model.conv3d", "eval.compare_runs",
                    "train.untrained_folds")
# Where the inputs are, not what they are (a field or a section of fields).
LOCATING_FIELDS = ("data.roots", "data.cache_dir", "pretrained.path", "eval.batch_size")


def prepare(workdir: str, config: Mapping[str, Any]) -> None:
  """Creates `workdir`, checks it is writable, locks it and checks it holds no other run."""
  try:
    os.makedirs(workdir, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=workdir):
      pass
  except OSError as e:
    raise ConfigError(f"--workdir={workdir} is not a writable directory: {e}") from e
  if multihost.is_primary():  # The other processes of a multi-host run share its workdir.
    run_lock.acquire(workdir)
  path = os.path.join(workdir, "config.json")
  if os.path.exists(path):
    differing = [k for k in diff_keys(_read(path), _resolved(config)) if not may_change(k)]
    if differing:
      raise ConfigError(
          f"--workdir={workdir} holds a run with a different config (fields "
          f"{', '.join(differing)}); use a new --workdir, or delete this one to start over")


def record(workdir: str, config: Mapping[str, Any]) -> None:
  """Writes `workdir/config.json` (after `prepare`, once the inputs are validated)."""
  if multihost.is_primary():  # Every process checks; one writes (the same config).
    write_atomic(os.path.join(workdir, "config.json"),
                 json.dumps(_resolved(config), indent=2, sort_keys=True).encode("utf-8"))


def may_change(field: str) -> bool:
  """Whether the dotted `field` may differ between attempts of one run."""
  return field in RESUMABLE_FIELDS or any(
      field == f or field.startswith(f + ".") for f in LOCATING_FIELDS)


def _resolved(config: Mapping[str, Any]) -> Any:
  return json.loads(json.dumps(config, default=str))


def _read(path: str) -> Any:
  """A saved config; a truncated or empty one is an error that says what to do."""
  try:
    with open(path) as f:
      return json.load(f)
  except ValueError as e:
    raise ConfigError(
        f"{path} is damaged ({e}); delete it and run the same command again (the folds "
        "already in folds/ are kept when the command's config is the run's)") from e


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The resolved config a run saved in `workdir/config.json`."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise ConfigError(f"{path} does not exist; --workdir must be a directory that "
                      "`python -m mer_jax.main` has run in")
  return ml_collections.ConfigDict(_read(path))


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
