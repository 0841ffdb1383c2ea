"""Optimisers and schedules as the papers state them."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mer_jax.errors import ConfigError
from mer_jax.train import optim


def test_inverse_time_is_keras_legacy_decay():
  lr = optim.make_schedule({"kind": "inverse_time", "base_lr": 1e-5, "decay": 1e-6}, 10)
  for step in (0, 1, 1000, 10**6):
    assert float(lr(step)) == pytest.approx(1e-5 / (1 + 1e-6 * step), rel=1e-6)


def test_step_schedule_counts_epochs():
  lr = optim.make_schedule({"kind": "step", "base_lr": 0.01, "factor": 0.1,
                            "every_epochs": 10}, steps_per_epoch=7)
  assert float(lr(0)) == pytest.approx(0.01)
  assert float(lr(10 * 7 - 1)) == pytest.approx(0.01)
  assert float(lr(10 * 7)) == pytest.approx(0.001)
  assert float(lr(25 * 7)) == pytest.approx(0.0001)


def test_sgd_weight_decay_is_an_l2_gradient_term():
  tx = optim.make_optimizer({"name": "sgd", "momentum": 0.0, "weight_decay": 0.5},
                            {"kind": "constant", "base_lr": 0.1}, 1)
  params = {"w": jnp.array([2.0])}
  updates, _ = tx.update({"w": jnp.array([1.0])}, tx.init(params), params)
  np.testing.assert_allclose(updates["w"], [-0.1 * (1.0 + 0.5 * 2.0)])


def test_adam_matches_optax_adam():
  tx = optim.make_optimizer({"name": "adam", "eps": 1e-7}, {"kind": "constant",
                                                             "base_lr": 1e-3}, 1)
  ref = optax.adam(1e-3, eps=1e-7)
  params, grads = {"w": jnp.array([1.0, -2.0])}, {"w": jnp.array([0.3, 0.1])}
  u, _ = tx.update(grads, tx.init(params), params)
  r, _ = ref.update(grads, ref.init(params), params)
  np.testing.assert_allclose(u["w"], r["w"])


def test_unknown_names_are_config_errors():
  with pytest.raises(ConfigError, match="optim.name='rmsprop'"):
    optim.make_optimizer({"name": "rmsprop"}, {"kind": "constant", "base_lr": 1.0}, 1)
  with pytest.raises(ConfigError, match="schedule.kind='cosine'"):
    optim.make_schedule({"kind": "cosine", "base_lr": 1.0}, 1)
