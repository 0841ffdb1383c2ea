"""One run over several processes (hosts): start-up, who writes, host copies of results.

`python -m mer_jax.main --multihost` starts every process with
`initialize()`, which calls `jax.distributed.initialize()`: on Slurm and Cloud
TPU the coordinator, process count and process id are detected; elsewhere
they are passed (launch/local_multiprocess.sh does). After that `jax.devices()`
lists every process's devices, and the ('fold', 'data') mesh
(train/sharding.py) spans all of them: a group's folds and each fold's batch
are split over the hosts like over one host's devices.

The data are small (hundreds of clips) and replicated on every device
(design.md, decision 4), so every process reads the whole prepared dataset;
arrays with a fold axis are placed from host values that every process
computes alike, each process filling only its own devices (`put`). Every
process computes the same fold outcomes (`to_host` gathers what other hosts
hold); only process 0 writes files (`is_primary`), and the workdir must be one
directory that every process sees (a shared filesystem, as orbax's
multi-host checkpoints need).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from absl import logging
import jax
from jax.experimental import multihost_utils
import numpy as np

T = TypeVar("T")


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
  """Joins this process to the others of the run (`jax.distributed.initialize`).

  Must run before anything touches a device. Arguments left None are
  detected from the cluster environment (Slurm, Cloud TPU, MPI). CPU
  processes exchange data through gloo (XLA:CPU has no collectives across
  processes otherwise); accelerators use their own (NCCL, ICI).
  """
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id)
  logging.info("process %d of %d; %d local devices of %d", jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


def is_primary() -> bool:
  """Whether this process writes the run's files (process 0)."""
  return jax.process_index() == 0


def sync(name: str) -> None:
  """Waits until every process has reached the barrier `name` (nothing with one process)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def primary_first(name: str, fn: Callable[[], T]) -> T:
  """`fn()` on process 0, then on the others once it has finished.

  For work that may write a cache every process then reads (a dataset's
  preparation): the others find it done instead of writing it concurrently.
  """
  if jax.process_count() == 1:
    return fn()
  if is_primary():
    result = fn()
  sync(f"{name}: process 0 done")
  return result if is_primary() else fn()


def put(tree: Any, sharding: jax.sharding.Sharding) -> Any:
  """Places host values (the same on every process) with `sharding`.

  Each process fills only its own devices. Typed PRNG key arrays go as their
  raw key data, which `device_put` takes across processes where keys are refused.
  """
  def place(x):
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      data = np.asarray(jax.random.key_data(x))
      return jax.random.wrap_key_data(jax.device_put(data, sharding),
                                      impl=jax.random.key_impl(x))
    return jax.device_put(np.asarray(x) if isinstance(x, jax.Array) else x, sharding)
  return jax.tree.map(place, tree)


def to_host(tree: Any) -> Any:
  """Numpy copies of (possibly multi-host) arrays: the whole global value on every process."""
  def fetch(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(jax.device_get(x))
  return jax.tree.map(fetch, tree)


def check_same(value: Any, what: str) -> None:
  """Raises unless every process holds the same `value` (an array tree)."""
  if jax.process_count() > 1:
    multihost_utils.assert_equal(value, f"the processes disagree on {what}")
