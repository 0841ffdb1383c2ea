"""The train state of one fold; the loop stacks it over folds (leading axis F)."""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  """Parameters, batch statistics (empty dict if none) and optimiser state."""

  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def create_train_state(key: jax.Array, model: nn.Module, tx: optax.GradientTransformation,
                       example: jax.Array) -> TrainState:
  """Initialises one fold's state from `key` and an example input `[B, ...]`."""
  variables = model.init({"params": key, "dropout": key}, example, train=False)
  params = variables["params"]
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    batch_stats=variables.get("batch_stats", {}),
                    opt_state=tx.init(params))
