"""The machine a benchmark ran on: devices, versions, CPU count (the JSON's `machine`)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

import jax


def version_of(package: str) -> str | None:
  """The installed version of `package`, or None when it is not installed."""
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return None


def torch_version() -> str | None:
  """torch's own version string (with its build tag, e.g. '2.13.0+cpu'), or None."""
  try:
    import torch  # noqa: PLC0415 (optional: the `bench` extra)
  except ImportError:
    return None
  return torch.__version__


def describe() -> dict:
  """{'platform', 'devices', 'device_kind', 'cpu_count', 'host', 'jax', 'jaxlib', 'flax',
  'torch', 'python', 'load_average', 'omp_wait_policy'} (see benchmarks/run.py)."""
  devices = jax.devices()
  return {
      "platform": jax.default_backend(),
      "devices": [str(d) for d in devices],
      "device_kind": devices[0].device_kind,
      "cpu_count": os.cpu_count() or 1,
      "host": platform.platform(),
      "jax": jax.__version__,
      "jaxlib": version_of("jaxlib"),
      "flax": version_of("flax"),
      "torch": torch_version(),
      "python": sys.version.split()[0],
      "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
  }
