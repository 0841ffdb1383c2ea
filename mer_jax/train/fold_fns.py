"""The compiled functions of a fold group: steps.py's one-fold functions over all its folds.

The train state carries a leading fold axis `[F, ...]` sharded over the mesh's
'fold' axis; the dataset (`{'inputs': {name: [N, ...]}, 'label': [N]}`) is
replicated on every device; each fold's batch is split over 'data'. Every
function takes the states and a dict of per-fold arrays (leading axis F);
what all folds share (the dataset, the step number) goes in by keyword
(`over_folds`), so no positional `in_axes` tuple says which is which. The
functions compile once per run: every fold group has the same shapes
(fold_plan.py). The training and evaluation steps run the folds batched
('vmap') or one after another inside the program ('map';
train/fold_strategy.py).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mer_jax import multihost
from mer_jax.train import augmentation, optim, pretrained, sharding, steps
from mer_jax.train.state import TrainState, create_train_state


class StartWeights(NamedTuple):
  """Variables every fold starts from: `tree` placed into the submodules `into` of a fresh init
  (`pretrained.place_variables`), leaving out the layers `skip`."""

  tree: Any
  into: tuple[str, ...]
  skip: tuple[str, ...] = ()


class FoldFns(NamedTuple):
  """The jitted functions of one run, each over all the folds of a group at once.

  init(keys [F]) -> fresh states, each from `start` when the run has one.
  train_steps(states, {'fold', 'key', 'active'}, first_step) -> (states,
    per-fold metric sums): `steps_per_call` optimiser steps from `first_step`.
  evaluate(states, {'idx', 'n'}) -> (mean loss [F], logits [F, M, C]).
  select_best(take [F], new, best) -> per fold the model of `new` where
    `take`, else `best` (which is donated).
  copy_models(states) -> the models (no optimiser state) as a new copy.
  set_lr_scale(states, scale [F]) -> states whose learning-rate multiplier is `scale`.
  put(host tree with a leading fold axis) -> the tree on the mesh.
  """

  init: Callable[[jax.Array], TrainState]
  train_steps: Callable[..., tuple[TrainState, dict[str, jax.Array]]]
  evaluate: Callable[..., tuple[jax.Array, jax.Array]]
  select_best: Callable[..., TrainState]
  copy_models: Callable[[TrainState], TrainState]
  set_lr_scale: Callable[[TrainState, jax.Array], TrainState]
  put: Callable[[Any], Any]
  steps_per_call: int


def model_view(state: TrainState) -> TrainState:
  """`state` without its optimiser state: what evaluation and selection need."""
  return state.replace(opt_state={})


def over_folds(fn: Callable[..., Any], *, shared: bool = False, strategy: str = "vmap",
               fold_devices: int = 1) -> Callable[..., Any]:
  """`fn` of one fold, run for every fold: its positional arguments carry the fold axis.

  With `shared`, the last positional argument is a dict of arguments that
  every fold shares (no fold axis), passed to `fn` by keyword. `strategy`
  (train/fold_strategy.py): 'vmap' batches the folds; 'map' runs the folds of
  each of the `fold_devices` devices on the mesh's 'fold' axis one after
  another (a `lax.scan` over them), the devices side by side. On the CPU
  backend that scan is unrolled: XLA:CPU runs convolutions inside a loop
  several times slower than outside one (BUILD_NOTES, "XLA:CPU runs
  convolutions in loops slowly"), and an unrolled scan is still one program.
  """
  unroll = jax.default_backend() == "cpu"

  def run(*args):
    folded, common = (args[:-1], args[-1]) if shared else (args, {})
    one = lambda *f: fn(*f, **common)  # noqa: E731
    if strategy == "vmap":
      return jax.vmap(one, spmd_axis_name="fold")(*folded)
    in_turn = lambda *f: jax.lax.scan(  # noqa: E731
        lambda carry, g: (carry, one(*g)), None, f, unroll=unroll)[1]
    if fold_devices == 1:
      return in_turn(*folded)
    split = lambda x: x.reshape((fold_devices, -1) + x.shape[1:])  # noqa: E731
    out = jax.vmap(in_turn, spmd_axis_name="fold")(*jax.tree.map(split, folded))
    return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), out)
  return run


def make_fold_fns(model: nn.Module, tx: optax.GradientTransformation, mesh: jax.sharding.Mesh,
                  data: Mapping[str, np.ndarray], *, batch_size: int, steps_per_epoch: int,
                  eval_chunk: int, microbatches: int = 1, start: StartWeights | None = None,
                  augment: augmentation.Augmentation | None = None,
                  strategy: str = "vmap") -> FoldFns:
  """Compiles the per-fold functions of a run on `mesh` over the dataset `data`.

  Args:
    steps_per_epoch: optimiser steps in an epoch; one call of `train_steps`
      runs all of them on accelerators, one on the CPU (`steps.steps_per_call`).
    augment: stored inputs -> model input (train/augmentation.py); default none.
    start: pretrained variables for every fold, passed to the compiled init
      as an argument, not baked into it as a constant.
    strategy: 'vmap' or 'map' (train/fold_strategy.py `resolve`): how the
      training and evaluation steps run the folds of a device.
  """
  fs, rep = sharding.fold_sharding(mesh), sharding.replicated(mesh)
  data = multihost.put(dict(data), rep)
  augment = augment or augmentation.none()
  per_call = steps.steps_per_call(steps_per_epoch)
  folds = functools.partial(over_folds, shared=True, strategy=strategy,
                            fold_devices=mesh.shape["fold"])
  epoch = functools.partial(
      steps.train_epoch, model=model, tx=tx, batch_size=batch_size, steps=per_call,
      microbatches=microbatches, constrain=sharding.batch_constraint(mesh, batch_size),
      augment=augment)
  train = jax.jit(folds(lambda state, f, *, data, first_step: epoch(
      state, f["fold"], data, f["key"], f["active"], first_step)),
                  in_shardings=(fs, fs, rep), out_shardings=(fs, fs), donate_argnums=0)
  evaluate_one = functools.partial(steps.evaluate, model=model, chunk=eval_chunk,
                                   augment=augment)
  evaluate = jax.jit(folds(lambda state, f, *, data: evaluate_one(state, f["idx"], f["n"],
                                                                  data)),
                     in_shardings=(fs, fs, rep), out_shardings=(fs, fs))
  select_best = jax.jit(
      over_folds(lambda take, new, best: steps.select_tree(take, model_view(new), best)),
      in_shardings=(fs, fs, fs), out_shardings=fs, donate_argnums=2)
  # A copy, not a view: the states it is taken from are donated to the next epoch.
  copy_models = jax.jit(lambda state: jax.tree.map(jnp.copy, model_view(state)),
                        in_shardings=fs, out_shardings=fs)
  set_lr_scale = jax.jit(over_folds(lambda state, scale: state.replace(
      opt_state=optim.set_lr_scale(state.opt_state, scale))),
                         in_shardings=(fs, fs), out_shardings=fs, donate_argnums=0)
  return FoldFns(init=make_init(model, tx, augment, data, start, fs),
                 train_steps=lambda states, folded, first_step: train(
                     states, folded, {"data": data, "first_step": np.int32(first_step)}),
                 evaluate=lambda states, folded: evaluate(states, folded, {"data": data}),
                 select_best=select_best, copy_models=copy_models,
                 set_lr_scale=set_lr_scale, put=lambda tree: multihost.put(tree, fs),
                 steps_per_call=per_call)


def make_init(model: nn.Module, tx: optax.GradientTransformation,
              augment: augmentation.Augmentation, data: Mapping[str, Any],
              start: StartWeights | None, fs: jax.sharding.Sharding
              ) -> Callable[[jax.Array], TrainState]:
  """keys [F] -> fresh states `[F, ...]`, with `start` placed into each fold's init."""
  example = augmentation.example_input(augment, data["inputs"])
  tree = None if start is None else multihost.put(start.tree, sharding.replicated(fs.mesh))

  def init(key, tree):
    place = (None if start is None else
             lambda v: pretrained.place_variables(v, tree, start.into, start.skip))
    return create_train_state(key, model=model, tx=tx, example=example, start_variables=place)

  # lax.map, not vmap: on XLA:CPU (jax 0.10.2) a vmapped orthogonal initialiser
  # becomes batched LAPACK QR kernels that split the batch over the intra-op
  # thread pool and block on it; two in flight on a 2-core machine deadlock
  # (LSTM(64)+LSTM(32), 2+ folds). One fold at a time runs unbatched QR.
  compiled = jax.jit(lambda keys, tree: jax.lax.map(lambda k: init(k, tree), keys),
                     out_shardings=fs)
  return lambda keys: compiled(keys, tree)
