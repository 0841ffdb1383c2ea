"""The train state of one fold; the loop stacks it over folds (leading axis F)."""

from __future__ import annotations

from typing import Any, Callable

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
                       example: jax.Array,
                       start_variables: Callable[[Any], Any] | None = None) -> TrainState:
  """Initialises one fold's state from `key` and an example input `[B, ...]`.

  `start_variables`, when given, maps the initialised variables
  (`{'params', 'batch_stats'}`) to the ones training starts from (e.g. with
  pretrained layers and their batch statistics copied in).
  """
  variables = dict(model.init({"params": key, "dropout": key}, example, train=False))
  if start_variables is not None:
    variables = start_variables(variables)
  params = variables["params"]
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    batch_stats=variables.get("batch_stats", {}),
                    opt_state=tx.init(params))
