"""Which accelerator a command runs on, logged first; a warning when a real-corpus run gets a CPU.

`pip install -e .` gives JAX for the CPU; a GPU needs the `cuda12`/`cuda13`
extra and a TPU the `tpu` extra (README). A paper config on real corpora that
finds only a CPU would run for days, so it is said before anything else.
"""

from __future__ import annotations

from typing import Any, Sequence

from absl import logging
import jax


def describe() -> str:
  """'backend gpu, 1 x NVIDIA H100 80GB HBM3 (jax 0.11.0, process 0/1)'."""
  devices = jax.devices()
  kinds = sorted({d.device_kind for d in devices})
  return (f"backend {jax.default_backend()}, {len(devices)} x {', '.join(kinds)} "
          f"(jax {jax.__version__}, process {jax.process_index()}/{jax.process_count()})")


def cpu_warning(datasets: Sequence[str], backend: str) -> str | None:
  """The warning for a run on real corpora that found only a CPU, or None."""
  real = [name for name in datasets if name != "synthetic"]
  if backend != "cpu" or not real:
    return None
  return (f"running on the CPU: JAX found no GPU or TPU, and this config reads real corpora "
          f"({', '.join(real)}), where a paper protocol takes days on a CPU. For a GPU: pip "
          "install -e \".[cuda12]\" (README, 'Install'); check with python -c \"import jax; "
          "print(jax.devices())\"")


def log_backend(config: Any) -> None:
  """Logs the backend and device kind; warns when a real-corpus config runs on the CPU."""
  logging.info("%s", describe())
  if warning := cpu_warning(tuple(config.data.datasets), jax.default_backend()):
    logging.warning("%s", warning)
