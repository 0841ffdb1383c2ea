"""Where a run's numbers came from: the 'provenance' object of results.json.

  timer = provenance.StageTimer()
  with timer.stage("data"):
    data = pipeline.load_experiment_data(config.data)
  ...
  results["provenance"] = provenance.gather(data.caches, timer.seconds)

The object holds:
  mer_jax_version   `mer_jax.__version__`.
  git               {'commit': HEAD of the checkout holding the mer_jax package,
                    'dirty': whether files under mer_jax/ differ from it (tracked
                    changes or untracked, not ignored, files)}; each null when
                    the package is not a git checkout (an installed wheel) or
                    git is missing. Never fails the run.
  packages          versions of jax, jaxlib, flax, optax and orbax-checkpoint
                    (null for one that is not installed).
  backend, device_kind, process_count, device_count
                    `jax.default_backend()`, `jax.devices()[0].device_kind`, ...
  data_caches       per dataset, the preprocessing cache it was read from: the
                    builder config and format version
                    ('casme2-pixels-<recipe hash>-<source hash>/1.2.0',
                    data/builders.py), whose hashes cover the recipe, the
                    corpus' data fingerprint and the preprocessing code
                    version; null for data preprocessed at start (no cache).
  stage_seconds     wall time (time.monotonic) of this invocation's stages:
                    'data' (load, preprocess, folds), 'pretrain' (when the
                    config has the stage), 'train' (every fold, its test
                    predictions included; the baselines' SVM fits; a resumed
                    run counts only what it ran), 'report' (pooling and
                    metrics, until results.json is written). Data handed in
                    by a sweep was loaded before its runs: not counted.
Wall times and the machine differ between runs of one config; compare the
rest of results.json without them.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import subprocess
import time
from typing import Any, Iterator, Mapping

import jax

import mer_jax

PACKAGES = ("jaxlib", "flax", "optax", "orbax-checkpoint")  # and jax: `jax.__version__`
GIT_TIMEOUT_S = 10


class StageTimer:
  """Wall seconds per named stage; a stage entered twice adds up."""

  def __init__(self):
    self.seconds: dict[str, float] = {}

  @contextlib.contextmanager
  def stage(self, name: str) -> Iterator[None]:
    start = time.monotonic()
    try:
      yield
    finally:
      self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start


def package_version(name: str) -> str | None:
  """The installed version of distribution `name`, or None."""
  try:
    return importlib.metadata.version(name)
  except importlib.metadata.PackageNotFoundError:
    return None


def run_git(*args: str) -> str | None:
  """`git -C <mer_jax package dir> args...`'s stdout, or None when git fails or is missing."""
  package_dir = os.path.dirname(os.path.abspath(mer_jax.__file__))
  try:
    out = subprocess.run(["git", "-C", package_dir, *args], capture_output=True, text=True,
                         timeout=GIT_TIMEOUT_S, check=False)
  except (OSError, subprocess.SubprocessError):
    return None
  return out.stdout if out.returncode == 0 else None


def git_state() -> dict[str, Any]:
  """{'commit', 'dirty'} of the mer_jax source tree; both None outside a git checkout.

  The package must be tracked by the checkout git finds: a wheel installed
  in a virtual environment inside some repository is not that repository's code.
  """
  if run_git("ls-files", "--error-unmatch", "__init__.py") is None:
    return {"commit": None, "dirty": None}
  commit, status = run_git("rev-parse", "HEAD"), run_git("status", "--porcelain", "--", ".")
  return {"commit": commit.strip() if commit else None,
          "dirty": None if status is None else bool(status.strip())}


def gather(caches: Mapping[str, str | None], stage_seconds: Mapping[str, float]
           ) -> dict[str, Any]:
  """The provenance object (see the module docstring).

  Args:
    caches: per dataset, its cache name (`pipeline.ExperimentData.caches`).
    stage_seconds: wall seconds per stage (`StageTimer.seconds`).
  """
  return {"mer_jax_version": mer_jax.__version__,
          "git": git_state(),
          "packages": {"jax": jax.__version__,
                       **{name: package_version(name) for name in PACKAGES}},
          "backend": jax.default_backend(),
          "device_kind": jax.devices()[0].device_kind,
          "process_count": jax.process_count(),
          "device_count": jax.device_count(),
          "data_caches": dict(caches),
          "stage_seconds": dict(stage_seconds)}
