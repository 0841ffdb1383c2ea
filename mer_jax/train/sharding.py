"""The ('fold', 'data') device mesh and the shardings the trainer uses.

Folds are the outer axis: a group of F folds is split over the 'fold' axis;
the devices left over form the 'data' axis, over which each fold's batch is
split. Axis types are Auto: jax 0.10's `make_mesh` defaults to Explicit axes,
which breaks `with_sharding_constraint` inside `vmap` (design.md, decision 2).
"""

from __future__ import annotations

import math

import jax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P


def make_mesh(folds_in_parallel: int, devices: list | None = None) -> Mesh:
  """A ('fold', 'data') mesh over all devices for groups of `folds_in_parallel` folds.

  The 'fold' axis is the largest divisor of the device count that also divides
  the group size, so every device holds whole folds; the rest is 'data'.
  """
  devices = devices if devices is not None else jax.devices()
  fold = math.gcd(folds_in_parallel, len(devices))
  return jax.make_mesh((fold, len(devices) // fold), ("fold", "data"),
                       axis_types=(AxisType.Auto, AxisType.Auto), devices=devices)


def fold_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (fold) axis split over 'fold'; the rest replicated."""
  return NamedSharding(mesh, P("fold"))


def replicated(mesh: Mesh) -> NamedSharding:
  """The same full array on every device (the device-resident dataset)."""
  return NamedSharding(mesh, P())


def batch_constraint(mesh: Mesh, batch_size: int):
  """A function that splits a per-fold batch `[B, ...]` over 'data', if B allows it.

  Used inside `vmap(..., spmd_axis_name='fold')`, so the fold axis is added by
  vmap; returns None when the batch does not divide evenly (then XLA decides).
  """
  data = mesh.shape["data"]
  if data == 1 or batch_size % data:
    return None
  sharding = NamedSharding(mesh, P("data"))
  return lambda x: jax.lax.with_sharding_constraint(x, sharding)
