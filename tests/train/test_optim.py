"""Optimisers and schedules as the papers state them."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mer_jax.errors import ConfigError
from mer_jax.train import optim


def test_inverse_time_is_keras_legacy_decay():
  lr = optim.make_schedule({"kind": "inverse_time", "base_lr": 1e-5, "decay": 1e-6})
  for step in (0, 1, 1000, 10**6):
    assert float(lr(step)) == pytest.approx(1e-5 / (1 + 1e-6 * step), rel=1e-6)


def test_step_schedule_counts_epochs():
  cfg = {"kind": "step", "base_lr": 0.01, "factor": 0.1, "every_epochs": 10}
  lr = optim.make_schedule(cfg)
  assert float(lr(0)) == float(lr(10**4)) == pytest.approx(0.01)  # the epoch factor does the rest
  assert optim.is_scaled(cfg)
  for epoch, factor in ((0, 1.0), (9, 1.0), (10, 0.1), (25, 0.01)):
    assert optim.epoch_scale(cfg, epoch) == pytest.approx(factor)
  assert optim.epoch_scale({"kind": "constant", "base_lr": 1.0}, 30) == 1.0
  assert not optim.is_scaled({"kind": "inverse_time", "base_lr": 1.0, "decay": 0.1})


def test_sgd_weight_decay_is_an_l2_gradient_term():
  tx = optim.make_optimizer({"name": "sgd", "momentum": 0.0, "weight_decay": 0.5},
                            {"kind": "constant", "base_lr": 0.1})
  params = {"w": jnp.array([2.0])}
  updates, _ = tx.update({"w": jnp.array([1.0])}, tx.init(params), params)
  np.testing.assert_allclose(updates["w"], [-0.1 * (1.0 + 0.5 * 2.0)])


def test_adam_matches_optax_adam():
  tx = optim.make_optimizer({"name": "adam", "eps": 1e-7}, {"kind": "constant",
                                                             "base_lr": 1e-3})
  ref = optax.adam(1e-3, eps=1e-7)
  params, grads = {"w": jnp.array([1.0, -2.0])}, {"w": jnp.array([0.3, 0.1])}
  state, ref_state = tx.init(params), ref.init(params)
  for _ in range(3):  # bit for bit, not only close
    u, state = tx.update(grads, state, params)
    r, ref_state = ref.update(grads, ref_state, params)
    np.testing.assert_array_equal(u["w"], r["w"])


def test_unknown_names_are_config_errors():
  with pytest.raises(ConfigError, match="optim.name='rmsprop'"):
    optim.make_optimizer({"name": "rmsprop"}, {"kind": "constant", "base_lr": 1.0})
  with pytest.raises(ConfigError, match="schedule.kind='cosine'"):
    optim.make_schedule({"kind": "cosine", "base_lr": 1.0})


def test_step_schedule_drops_at_the_same_epoch_for_folds_of_10_and_40_clips(tmp_path,
                                                                          monkeypatch):
  """Padded no-op steps of the smaller fold must not delay its epoch-based drops."""
  from mer_jax import models
  from mer_jax.data.protocols import Fold
  from mer_jax.train import fold_fns, loop, metric_writer, sharding
  from mer_jax.train.fold_plan import FoldPlan

  rng = np.random.default_rng(0)
  data = {"inputs": {"frames": rng.normal(size=(44, 2, 2, 2, 1)).astype(np.float32)},
          "label": (np.arange(44) % 2).astype(np.int32)}
  small, large, test = np.arange(10), np.arange(40), np.arange(40, 44)
  plan = FoldPlan([Fold("small", small, test, ()), Fold("large", large, test, ())],
                  [small, large], [small[:0], large[:0]], {"train": 40, "monitor": 2, "test": 4})
  # lr x 0 from epoch 2: both folds train in epochs 0 and 1 only, although the
  # 10-clip fold makes 1 real step per epoch and the 40-clip fold 4.
  schedule = {"kind": "step", "base_lr": 0.5, "factor": 0.0, "every_epochs": 2}
  model = models.get("elrcn_temporal_only", num_classes=2, lstm_features=(3,))
  fns = fold_fns.make_fold_fns(
      model, optim.make_optimizer({"name": "sgd", "momentum": 0.0}, schedule),
      sharding.make_mesh(2), data, batch_size=10, steps_per_epoch=4, eval_chunk=2)
  kernels = []
  train_epoch = loop.train_epoch
  def recording(*args):
    group, m = train_epoch(*args)
    kernels.append(np.asarray(group.states.params["fc"]["kernel"]))
    return group, m
  monkeypatch.setattr(loop, "train_epoch", recording)
  settings = loop.EpochSettings(seed=0, num_epochs=5, steps_per_epoch=4, selection="last",
                                patience=0, checkpoint_every_epochs=5, schedule=schedule,
                                progress_bar=False)
  loop.train_group(fns, plan, [0, 1], settings, str(tmp_path),
                   metric_writer.MetricWriter(str(tmp_path), enabled=False))
  for f in range(2):
    assert not np.allclose(kernels[0][f], kernels[1][f])   # epoch 1 still learns
    for later in kernels[2:]:
      np.testing.assert_array_equal(later[f], kernels[1][f])  # from epoch 2, no step


def test_adam_moments_in_bfloat16_halve_their_bytes_and_stay_close():
  params = {"w": jnp.linspace(-1.0, 1.0, 64)}
  ref = optax.adam(1e-3, eps=1e-7)
  low = optim.make_optimizer({"name": "adam", "eps": 1e-7, "moments_dtype": "bfloat16"},
                             {"kind": "constant", "base_lr": 1e-3})
  r_state, l_state = ref.init(params), low.init(params)
  rng = np.random.default_rng(0)
  for _ in range(20):
    grads = {"w": jnp.asarray(rng.normal(size=64), jnp.float32)}
    r, r_state = ref.update(grads, r_state, params)
    u, l_state = low.update(grads, l_state, params)
    np.testing.assert_allclose(u["w"], r["w"], rtol=0.02, atol=1e-5)  # 1 % of the lr
  moments = optax.tree_utils.tree_get(l_state, "nu")
  assert moments["w"].dtype == jnp.bfloat16
  with pytest.raises(ConfigError, match="moments_dtype='float16'"):
    optim.make_optimizer({"name": "adam", "moments_dtype": "float16"},
                         {"kind": "constant", "base_lr": 1.0})
