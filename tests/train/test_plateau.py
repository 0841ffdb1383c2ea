"""Reduce-on-plateau per fold (train/plateau.py) against PyTorch's ReduceLROnPlateau."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

from mer_jax.train import optim
from mer_jax.train.plateau import FoldPlateau

CFG = {"patience": 2, "factor": 0.1, "threshold": 1e-4, "min_scale": 0.0}


def _torch_scales(losses, patience=2):
  p = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([p], lr=1.0)
  sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=patience, factor=0.1,
                                                     threshold=1e-4)
  out = []
  for loss in losses:
    sched.step(loss)
    out.append(opt.param_groups[0]["lr"])
  return out


def test_scales_follow_pytorchs_reduce_lr_on_plateau_per_fold():
  rng = np.random.default_rng(0)
  runs = [[1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7],
          list(rng.uniform(0.5, 1.0, 11)),
          [1.0, 0.99995, 0.99995, 0.99995, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3]]
  state = FoldPlateau.create(3)
  for epoch in range(11):
    state.update(np.asarray([r[epoch] for r in runs], np.float32), np.ones(3, bool), CFG)
    for f, run in enumerate(runs):
      np.testing.assert_allclose(state.scale[f], _torch_scales(run[:epoch + 1])[-1],
                                 rtol=1e-6)


def test_inactive_folds_keep_their_state_and_min_scale_holds():
  state = FoldPlateau.create(2)
  active = np.asarray([True, False])
  for _ in range(12):
    state.update(np.asarray([1.0, 1.0], np.float32), active, {**CFG, "min_scale": 0.01})
  assert state.scale[1] == 1.0 and state.bad_epochs[1] == 0
  np.testing.assert_allclose(state.scale[0], 0.01)


def test_the_multiplier_scales_the_optimisers_step():
  tx = optim.make_optimizer({"name": "adam"},
                            {"kind": "constant", "base_lr": 0.1, "plateau": CFG})
  params = {"w": jnp.ones(3)}
  grads = {"w": jnp.asarray([1.0, -2.0, 0.5])}
  state = tx.init(params)
  full, _ = tx.update(grads, state, params)
  half, _ = tx.update(grads, optim.set_lr_scale(state, jnp.asarray(0.5)), params)
  np.testing.assert_allclose(half["w"], 0.5 * np.asarray(full["w"]), rtol=1e-6)
  plain = optim.make_optimizer({"name": "adam"}, {"kind": "constant", "base_lr": 0.1})
  same, _ = plain.update(grads, plain.init(params), params)
  np.testing.assert_allclose(full["w"], same["w"], rtol=1e-6)
  assert jax.tree.leaves(optax.tree_utils.tree_get(state, "step_size")) == [1.0]


def test_fold_fns_set_each_folds_multiplier():
  from mer_jax import models
  from mer_jax.train import fold_fns, loop, sharding
  model = models.get("elrcn_temporal_only", num_classes=2, lstm_features=(4,))
  tx = optim.make_optimizer({"name": "sgd", "momentum": 0.0},
                            {"kind": "constant", "base_lr": 0.5, "plateau": CFG})
  data = {"inputs": {"frames": np.random.default_rng(0).normal(size=(6, 3, 2, 2, 1))
                     .astype(np.float32)}, "label": np.asarray([0, 1, 0, 1, 0, 1], np.int32)}
  fns = fold_fns.make_fold_fns(model, tx, sharding.make_mesh(2), data, batch_size=4,
                               steps_per_epoch=2, eval_chunk=2)
  states = fns.init(fns.put(jax.random.split(jax.random.key(0), 2)))
  start = np.asarray(states.params["fc"]["kernel"])
  states = fns.set_lr_scale(states, fns.put(np.asarray([1.0, 0.0], np.float32)))
  folds = fns.put({"train": np.tile(np.arange(6, dtype=np.int32), (2, 1)),
                   "n_train": np.asarray([6, 6], np.int32)})
  states, _ = loop.train_steps(fns, states, folds, fns.put(jax.random.split(
      jax.random.key(1), 2)), np.ones(2, bool), 2)
  after = np.asarray(states.params["fc"]["kernel"])
  assert not np.allclose(after[0], start[0])
  np.testing.assert_array_equal(after[1], start[1])  # multiplier 0: no step at all
