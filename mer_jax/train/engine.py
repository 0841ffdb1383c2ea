"""The fold-parallel engine: per-fold steps vmapped over folds and jitted on the mesh.

The train state carries a leading fold axis `[F, ...]` sharded over the mesh's
'fold' axis; the dataset (`{'inputs': {name: [N, ...]}, 'label': [N]}`) is
replicated on every device; each fold's batch is split over 'data'. Functions
are compiled once per run: every fold group has the same shapes (see fold_plan).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mer_jax import multihost
from mer_jax.train import augmentation, optim, sharding, steps
from mer_jax.train.state import TrainState, create_train_state


def model_view(state: TrainState) -> TrainState:
  """`state` without its optimiser state: what evaluation and selection need."""
  return state.replace(opt_state={})


class FoldEngine:
  """Compiled init / train-epoch / evaluate / select functions for groups of folds."""

  def __init__(self, model: nn.Module, tx: optax.GradientTransformation, mesh: jax.sharding.Mesh,
               data: Mapping[str, np.ndarray], *, batch_size: int, steps_per_epoch: int,
               eval_chunk: int, microbatches: int = 1,
               start_variables: Callable[[Any, Any], Any] | None = None,
               start_tree: Any = None, augment: augmentation.Augmentation | None = None):
    """Compiles the per-fold functions.

    Args:
      augment: stored inputs -> model input (train/augmentation.py); default none.
      start_variables: `start_variables(variables, start_tree)` gives the
        variables training starts from (pretrained layers and batch
        statistics placed into a fresh init);
        `start_tree` is passed to the compiled init as an argument, not baked
        into it as a constant.
    """
    fs, rep = sharding.fold_sharding(mesh), sharding.replicated(mesh)
    self.mesh = mesh
    self.data = multihost.put(dict(data), rep)
    self._start_tree = None if start_tree is None else multihost.put(start_tree, rep)
    augment = augment or augmentation.none()
    example = augmentation.example_input(augment, data["inputs"])

    def init(key, tree):
      start = (None if start_variables is None
               else functools.partial(start_variables, start_tree=tree))
      return create_train_state(key, model=model, tx=tx, example=example,
                                start_variables=start)

    # lax.map, not vmap: on XLA:CPU (jax 0.10.2) a vmapped orthogonal initialiser
    # becomes batched LAPACK QR kernels that split the batch over the intra-op
    # thread pool and block on it; two in flight on a 2-core machine deadlock
    # (LSTM(64)+LSTM(32), 2+ folds). One fold at a time runs unbatched QR.
    self._init = jax.jit(lambda keys, tree: jax.lax.map(lambda k: init(k, tree), keys),
                         out_shardings=fs)
    self._steps_per_epoch = steps_per_epoch
    self._steps_per_call = steps.steps_per_call(steps_per_epoch)
    epoch = functools.partial(
        steps.train_epoch, model=model, tx=tx, batch_size=batch_size,
        steps=self._steps_per_call, microbatches=microbatches,
        constrain=sharding.batch_constraint(mesh, batch_size), augment=augment)
    self._train = jax.jit(
        jax.vmap(epoch, in_axes=(0, 0, None, 0, 0, None), spmd_axis_name="fold"),
        in_shardings=(fs, fs, rep, fs, fs, rep), out_shardings=(fs, fs), donate_argnums=0)
    evaluate = functools.partial(steps.evaluate, model=model, chunk=eval_chunk,
                                 augment=augment)
    self._evaluate = jax.jit(
        jax.vmap(evaluate, in_axes=(0, 0, 0, None), spmd_axis_name="fold"),
        in_shardings=(fs, fs, fs, rep), out_shardings=(fs, fs))
    self._select = jax.jit(
        jax.vmap(lambda take, new, old: steps.select_tree(take, model_view(new), old)),
        in_shardings=(fs, fs, fs), out_shardings=fs, donate_argnums=2)
    # A copy, not a view: the states it is taken from are donated to the next epoch.
    self._first_selection = jax.jit(lambda state: jax.tree.map(jnp.copy, model_view(state)),
                                    in_shardings=fs, out_shardings=fs)
    self._set_lr_scale = jax.jit(
        jax.vmap(lambda state, scale: state.replace(
            opt_state=optim.set_lr_scale(state.opt_state, scale))),
        in_shardings=(fs, fs), out_shardings=fs, donate_argnums=0)
    self._fs = fs

  def init(self, keys: jax.Array) -> TrainState:
    """Fresh states `[F, ...]`, one per key."""
    return self._init(keys, self._start_tree)

  def put(self, tree: Any) -> Any:
    """Places host arrays with a leading fold axis on the mesh (of every process)."""
    return multihost.put(tree, self._fs)

  def train_epoch(self, states: TrainState, folds: Mapping[str, jax.Array], keys: jax.Array,
                  active: np.ndarray) -> tuple[TrainState, dict[str, np.ndarray]]:
    """One epoch for every fold; returns states and per-fold [F] loss / accuracy.

    The epoch runs as `steps_per_epoch / steps_per_call` compiled calls (one
    on accelerators; one per step on the CPU, see `steps.steps_per_call`).
    """
    active, m = self.put(np.asarray(active)), None
    for first in range(0, self._steps_per_epoch, self._steps_per_call):
      states, part = self._train(states, folds, self.data, keys, active, np.int32(first))
      m = part if m is None else jax.tree.map(jnp.add, m, part)
    m = multihost.to_host(m)
    count = np.maximum(m["count"], 1.0)
    return states, {"loss": m["loss_sum"] / count, "accuracy": m["correct"] / count}

  def evaluate(self, states: TrainState, idx: jax.Array, n: jax.Array
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per-fold mean loss [F] and logits [F, M, C] on the index sets `idx` [F, M]."""
    loss, logits = self._evaluate(states, idx, n, self.data)
    return multihost.to_host(loss), multihost.to_host(logits)

  def set_lr_scale(self, states: TrainState, scale: np.ndarray) -> TrainState:
    """States with each fold's learning-rate multiplier (epoch factor x plateau) at `scale[f]`.

    The loop sets it at the start of every epoch (optim.py, plateau.py).
    """
    return self._set_lr_scale(states, self.put(np.asarray(scale, np.float32)))

  def select(self, take_new: np.ndarray, new: TrainState, old: TrainState | None = None
             ) -> TrainState:
    """Per fold: the model of `new` where `take_new[f]`, else `old` (which is consumed).

    The selected models keep parameters and batch statistics only (no
    optimiser state: a third of Adam's memory); `old=None` starts them from `new`.
    """
    if old is None:
      return self._first_selection(new)
    return self._select(self.put(np.asarray(take_new)), new, old)
