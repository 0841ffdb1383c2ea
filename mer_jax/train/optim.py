"""Optax optimisers and learning-rate schedules, as the papers specify them.

`config.optim` names the optimiser and its arguments; `config.schedule` the
learning-rate schedule. Schedules count optimiser steps; epoch-based ones are
converted with `steps_per_epoch`.
"""

from __future__ import annotations

from typing import Mapping

import optax

from mer_jax.errors import ConfigError


def make_schedule(cfg: Mapping, steps_per_epoch: int) -> optax.Schedule:
  """Learning-rate schedule from `config.schedule`.

  Kinds:
    constant: `base_lr`.
    inverse_time: Keras' legacy `decay`: base_lr / (1 + decay * step), per step
      (ELRCN's "learning rate 1e-5, decay 1e-6").
    step: base_lr * factor ** (epoch // every_epochs) (ATNet: / 10 every 10
      epochs; MER-RCNN: x 0.5 every epoch).
  Any kind may add `plateau` (reduce-on-plateau per fold, train/plateau.py):
  the schedule's rate times a multiplier the loop lowers when the monitored
  loss stalls.
  """
  kind, lr = cfg["kind"], cfg["base_lr"]
  if kind == "constant":
    return optax.constant_schedule(lr)
  if kind == "inverse_time":
    decay = cfg["decay"]
    return lambda step: lr / (1.0 + decay * step)
  if kind == "step":
    return optax.exponential_decay(
        lr, transition_steps=cfg["every_epochs"] * steps_per_epoch,
        decay_rate=cfg["factor"], staircase=True)
  raise ConfigError(f"config.schedule.kind={kind!r}; expected 'constant', "
                    "'inverse_time' or 'step'")


def make_optimizer(optim_cfg: Mapping, schedule_cfg: Mapping,
                   steps_per_epoch: int) -> optax.GradientTransformation:
  """Optimiser from `config.optim` ('adam' or 'sgd') and `config.schedule`.

  `weight_decay` is an L2 term added to the gradient before the update, as in
  Caffe, Keras and PyTorch's SGD (not decoupled AdamW decay).
  """
  lr = make_schedule(schedule_cfg, steps_per_epoch)
  name = optim_cfg["name"]
  if name == "adam":
    core = optax.adam(lr, b1=optim_cfg.get("b1", 0.9), b2=optim_cfg.get("b2", 0.999),
                      eps=optim_cfg.get("eps", 1e-7))
  elif name == "sgd":
    core = optax.sgd(lr, momentum=optim_cfg.get("momentum", 0.9) or None,
                     nesterov=optim_cfg.get("nesterov", False))
  else:
    raise ConfigError(f"config.optim.name={name!r}; expected 'adam' or 'sgd'")
  wd = optim_cfg.get("weight_decay", 0.0)
  tx = optax.chain(optax.add_decayed_weights(wd), core) if wd else core
  if schedule_cfg.get("plateau"):  # a per-fold multiplier the loop lowers (train/plateau.py)
    tx = optax.chain(tx, optax.inject_hyperparams(optax.scale)(step_size=1.0))
  return tx


def set_lr_scale(opt_state, scale):
  """`opt_state` with the plateau multiplier set to `scale` (see `make_optimizer`)."""
  return optax.tree_utils.tree_set(opt_state, step_size=scale)
