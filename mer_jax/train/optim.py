"""Optax optimisers and learning-rate schedules, as the papers specify them.

`config.optim` names the optimiser and its arguments; `config.schedule` the
learning-rate schedule. Per-step schedules (Keras' `decay`) count the fold's
own optimiser steps; epoch-based ones (`step`) and reduce-on-plateau act
through a per-fold multiplier in the optimiser state that the training loop
sets at the start of every epoch (`epoch_scale`, `set_lr_scale`). So a fold
with fewer clips than the largest, whose padded steps are no-ops, still
drops its rate at the epochs the paper names, whatever group it runs in.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mer_jax.errors import ConfigError


KINDS = ("constant", "inverse_time", "step")


def check_schedule(cfg: Mapping) -> None:
  if cfg["kind"] not in KINDS:
    raise ConfigError(f"config.schedule.kind={cfg['kind']!r}; expected one of {KINDS}")


def make_schedule(cfg: Mapping) -> optax.Schedule:
  """The per-step part of `config.schedule`'s learning rate.

  Kinds:
    constant: `base_lr`.
    inverse_time: Keras' legacy `decay`: base_lr / (1 + decay * step), per
      step of the fold (ELRCN's "learning rate 1e-5, decay 1e-6").
    step: base_lr here; `epoch_scale` multiplies it by factor ** (epoch //
      every_epochs) (ATNet: / 10 every 10 epochs; MER-RCNN: x 0.5 every epoch).
  Any kind may add `plateau` (reduce-on-plateau per fold, train/plateau.py):
  the rate times a multiplier the loop lowers when the monitored loss stalls.
  """
  check_schedule(cfg)
  kind, lr = cfg["kind"], cfg["base_lr"]
  if kind == "inverse_time":
    decay = cfg["decay"]
    return lambda step: lr / (1.0 + decay * step)
  return optax.constant_schedule(lr)


def is_scaled(cfg: Mapping) -> bool:
  """Whether the schedule acts through the per-fold epoch multiplier (`step`, `plateau`)."""
  return cfg["kind"] == "step" or bool(cfg.get("plateau"))


def epoch_scale(cfg: Mapping, epoch: int) -> float:
  """The epoch-based factor of the rate in epoch `epoch` (0-based): factor ** (epoch // every)."""
  if cfg["kind"] != "step":
    return 1.0
  return float(cfg["factor"]) ** (epoch // cfg["every_epochs"])


def learning_rate(cfg: Mapping, steps: np.ndarray, scale: np.ndarray | float = 1.0
                  ) -> np.ndarray:
  """The rate each fold's next step applies: `make_schedule` at the fold's step count x `scale`.

  Args:
    cfg: `config.schedule`.
    steps: `[F]` optimiser steps each fold has taken.
    scale: `[F]` multiplier the states carry (`set_lr_scale`; 1 when unscaled).
  """
  per_step = make_schedule(cfg)(np.asarray(steps, np.float64))
  return np.broadcast_to(np.asarray(per_step, np.float64) * scale, np.shape(steps))


MOMENT_DTYPES = ("float32", "bfloat16")


def scale_by_adam_stored_as(dtype: Any, *, b1: float, b2: float, eps: float
                            ) -> optax.GradientTransformation:
  """optax's `scale_by_adam` with both moments stored in `dtype`, computed in float32.

  float32 is optax's Adam exactly. bfloat16 halves the moments' memory (for
  ELRCN-TE's 586 M parameters, 4.4 -> 2.2 GiB; BUILD_NOTES.md) at the price of
  rounding them to 8 significant bits after every step: a memory lever that
  changes the update slightly, off in every paper config.
  """

  def init(params):
    zeros = lambda p: jnp.zeros(p.shape, dtype)  # noqa: E731
    return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32),
                                  mu=jax.tree.map(zeros, params),
                                  nu=jax.tree.map(zeros, params))

  def update(updates, state, params=None):
    del params  # optax's scale_by_adam, step for step, on the moments widened to float32
    wide = lambda t: jax.tree.map(lambda a: a.astype(jnp.float32), t)  # noqa: E731
    mu = optax.tree_utils.tree_update_moment(updates, wide(state.mu), b1, 1)
    nu = optax.tree_utils.tree_update_moment_per_elem_norm(updates, wide(state.nu), b2, 2)
    count = optax.safe_increment(state.count)
    mu_hat = optax.tree_utils.tree_bias_correction(mu, b1, count)
    nu_hat = optax.tree_utils.tree_bias_correction(nu, b2, count)
    out = jax.tree.map(lambda m, v: m / (jnp.sqrt(v) + eps), mu_hat, nu_hat)
    store = lambda t: jax.tree.map(lambda a: a.astype(dtype), t)  # noqa: E731
    return out, optax.ScaleByAdamState(count=count, mu=store(mu), nu=store(nu))

  return optax.GradientTransformation(init, update)


def make_optimizer(optim_cfg: Mapping, schedule_cfg: Mapping) -> optax.GradientTransformation:
  """Optimiser from `config.optim` ('adam' or 'sgd') and `config.schedule`.

  `weight_decay` is an L2 term added to the gradient before the update, as in
  Caffe, Keras and PyTorch's SGD (not decoupled AdamW decay). Adam's
  `moments_dtype` ('float32', or 'bfloat16' to halve their memory) is
  `scale_by_adam_stored_as`'s. With an epoch-based schedule or a plateau the
  chain ends in an injected `scale`, the per-fold multiplier that
  `set_lr_scale` sets.
  """
  lr = make_schedule(schedule_cfg)
  name = optim_cfg["name"]
  if name == "adam":
    moments = optim_cfg.get("moments_dtype", "float32")
    if moments not in MOMENT_DTYPES:
      raise ConfigError(f"config.optim.moments_dtype={moments!r}; expected one of "
                        f"{MOMENT_DTYPES}")
    core = optax.chain(
        scale_by_adam_stored_as(jnp.dtype(moments), b1=optim_cfg.get("b1", 0.9),
                                b2=optim_cfg.get("b2", 0.999), eps=optim_cfg.get("eps", 1e-7)),
        optax.scale_by_learning_rate(lr))
  elif name == "sgd":
    core = optax.sgd(lr, momentum=optim_cfg.get("momentum", 0.9) or None,
                     nesterov=optim_cfg.get("nesterov", False))
  else:
    raise ConfigError(f"config.optim.name={name!r}; expected 'adam' or 'sgd'")
  wd = optim_cfg.get("weight_decay", 0.0)
  tx = optax.chain(optax.add_decayed_weights(wd), core) if wd else core
  if is_scaled(schedule_cfg):  # a per-fold multiplier the loop sets each epoch
    tx = optax.chain(tx, optax.inject_hyperparams(optax.scale)(step_size=1.0))
  return tx


def set_lr_scale(opt_state, scale):
  """`opt_state` with the epoch multiplier set to `scale` (see `make_optimizer`)."""
  return optax.tree_utils.tree_set(opt_state, step_size=scale)
