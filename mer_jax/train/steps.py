"""Pure per-fold training and evaluation functions.

Everything here is written for ONE fold; `mer_jax.train.fold_fns` vmaps it over
the fold axis. The dataset lives on the device (`data`: 'inputs', the recipe's
named arrays `[N, ...]`, and 'label' `[N]`); a fold is a set of padded index
arrays into it, so batches are drawn on the device with `jax.random` and the
host never feeds the loop. An `Augmentation` (train/augmentation.py) turns a
gathered batch into the model's input: augmented in training, as stored (or
deterministically resampled) in evaluation.
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from mer_jax.train import augmentation as augmentation_lib
from mer_jax.train.state import TrainState

Data = Mapping[str, Any]


def steps_per_call(steps_per_epoch: int) -> int:
  """How many of an epoch's steps one compiled call runs: all on accelerators, 1 on the CPU.

  XLA:CPU runs convolutions inside a while loop 6-14x slower than the same
  convolutions outside one (jax 0.10.2, measured on a VGG and on MER-RCNN;
  BUILD_NOTES.md), and unrolling a whole epoch instead makes compile times
  grow with its step count (minutes for 50 MER-RCNN steps). So on the CPU
  the loop calls a one-step function `steps_per_epoch` times (`train_epoch`
  with steps=1 runs its step without any scan): the same keys and batches,
  with float rounding that may differ from a whole-epoch call. The microbatch
  and evaluation loops stay loops everywhere: unrolled, XLA may keep all their
  activations alive at once, spending the memory those loops exist to save.
  """
  return 1 if jax.default_backend() == "cpu" else steps_per_epoch


def apply_model(model: nn.Module, state: TrainState, params: Any, x: jax.Array, *,
                train: bool, key: jax.Array) -> tuple[jax.Array, Any]:
  """Runs the model; returns (logits, updated batch_stats)."""
  variables = {"params": params}
  if state.batch_stats:
    variables["batch_stats"] = state.batch_stats
  mutable = ["batch_stats"] if (train and state.batch_stats) else False
  out = model.apply(variables, x, train=train, rngs={"dropout": key}, mutable=mutable)
  if mutable:
    (logits, _), updates = out
    return logits, updates["batch_stats"]
  logits, _ = out
  return logits, state.batch_stats


def masked_cross_entropy(logits: jax.Array, labels: jax.Array, mask: jax.Array
                         ) -> tuple[jax.Array, jax.Array]:
  """Mean softmax cross-entropy over the rows where `mask`; returns (mean, sum)."""
  ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)
  total = jnp.sum(ce * mask)
  return total / jnp.maximum(jnp.sum(mask), 1.0), total


def gather(data: Data, idx: jax.Array) -> dict[str, jax.Array]:
  """The stored inputs of the samples `idx`: name -> `[len(idx), ...]`."""
  return {name: x[idx] for name, x in data["inputs"].items()}


def train_step(state: TrainState, x: Any, labels: jax.Array, mask: jax.Array,
               key: jax.Array, *, model: nn.Module, tx: optax.GradientTransformation,
               microbatches: int = 1) -> tuple[TrainState, dict[str, jax.Array]]:
  """One optimiser step on a (masked) batch; a batch with no valid row is a no-op.

  With `microbatches` > 1 the batch is split into that many equal parts whose
  gradients are summed before the one update (gradient accumulation): the
  same step as the whole batch at once for models without batch norm, with a
  fraction of the activation memory. `x` is the model input: an array or a
  dict of arrays, each with the batch axis first.
  """

  def loss_fn(params, batch_stats, x, labels, mask, key):
    logits, batch_stats = apply_model(model, state.replace(batch_stats=batch_stats), params,
                                      x, train=True, key=key)
    _, total = masked_cross_entropy(logits, labels, mask)
    return total, (logits, batch_stats)

  grad_fn = jax.grad(loss_fn, has_aux=True)

  def accumulate(carry, part):
    grads, batch_stats = carry
    g, (logits, batch_stats) = grad_fn(state.params, batch_stats, *part)
    return (jax.tree.map(jnp.add, grads, g), batch_stats), logits

  if microbatches == 1:
    grads, (logits, batch_stats) = grad_fn(state.params, state.batch_stats, x, labels, mask,
                                           key)
  else:
    split = lambda a: a.reshape((microbatches, -1) + a.shape[1:])
    zeros = jax.tree.map(jnp.zeros_like, state.params)
    (grads, batch_stats), logits = jax.lax.scan(
        accumulate, (zeros, state.batch_stats),
        (jax.tree.map(split, x), split(labels), split(mask),
         jax.random.split(key, microbatches)))
    logits = logits.reshape((-1,) + logits.shape[2:])
  count = jnp.sum(mask)
  grads = jax.tree.map(lambda g: g / jnp.maximum(count, 1.0), grads)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  new = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                      batch_stats=batch_stats, opt_state=opt_state)
  new = select_tree(jnp.any(mask > 0), new, state)
  _, total = masked_cross_entropy(logits, labels, mask)
  correct = jnp.sum((jnp.argmax(logits, -1) == labels) * mask)
  return new, {"loss_sum": total, "correct": correct, "count": count}


def select_tree(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
  """`on_true` where the scalar `pred` holds, else `on_false`, leaf by leaf."""
  return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def epoch_order(key: jax.Array, n: jax.Array, size: int) -> jax.Array:
  """A random order of the positions `0..n-1`, then the padding positions `n..size-1`."""
  noise = jax.random.uniform(key, (size,))
  return jnp.argsort(jnp.where(jnp.arange(size) < n, noise, 2.0))


def weighted_order(key: jax.Array, fold: Mapping[str, jax.Array], copies: int) -> jax.Array:
  """The epoch's positions drawn with replacement by `fold['train_weight']` (a weighted sampler).

  Position v = variant * n + i (see `batch_rows`) weighs as training clip i;
  padding positions weigh 0, so `n * copies` draws come from real pairs only.
  """
  size = fold["train"].shape[0] * copies
  n = jnp.maximum(fold["n_train"], 1)
  v = jnp.arange(size)
  p = jnp.where(v < fold["n_train"] * copies, fold["train_weight"][v % n], 0.0)
  return jax.random.choice(key, size, (size,), replace=True, p=p / jnp.maximum(p.sum(), 1e-12))


def batch_rows(fold: Mapping[str, jax.Array], order: jax.Array, step: jax.Array,
               batch_size: int, copies: int) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(sample indices, variant numbers, mask) of batch `step` of an epoch, each `[batch_size]`.

  The epoch's positions are the fold's (sample, variant) pairs, v = variant *
  n + i for the i-th of its n training samples, in the random `order`
  (`epoch_order`); positions past n * copies wrap around onto real pairs and
  are masked out.
  """
  n = fold["n_train"]
  total = n * copies
  pos = step * batch_size + jnp.arange(batch_size)
  v = order[pos % jnp.maximum(total, 1)]
  idx, copy = fold["train"][v % jnp.maximum(n, 1)], v // jnp.maximum(n, 1)
  return idx, copy, (pos < total).astype(jnp.float32)


def train_epoch(state: TrainState, fold: Mapping[str, jax.Array], data: Data,
                key: jax.Array, active: jax.Array, first_step: jax.Array | int = 0, *,
                model: nn.Module, tx: optax.GradientTransformation, batch_size: int,
                steps: int, microbatches: int = 1, constrain: Any = None,
                augment: augmentation_lib.Augmentation | None = None
                ) -> tuple[TrainState, dict[str, jax.Array]]:
  """Steps `first_step`..`first_step + steps - 1` of one pass over the (augmented) training set.

  Called once with the whole epoch's `steps`, or once per step (see
  `steps_per_call`); the epoch's order and every step's keys derive from
  `key` and the step number alone, so both draw the same batches and keys
  (separately compiled steps may round floats differently).

  Args:
    fold: 'train' [Nmax] padded sample indices, 'n_train' their count;
      optionally 'train_weight' [Nmax] (draw the epoch with replacement by
      these weights: `weighted_order`) and 'loss_weight' [C] (weigh each
      row's loss by its class; fold_plan.py).
    active: False for a fold that has stopped (or is padding): no updates.
    first_step: the epoch's step this call starts at.
    microbatches: gradient-accumulation parts per batch (see train_step).
    constrain: optional function that adds a sharding constraint to a batch.
    augment: turns stored inputs into model inputs (default: none); each of
      its `copies` variants of every training sample is seen once an epoch.

  Positions past the fold's own count (the folds of a run share one step
  count) wrap around onto real samples, so batch-norm statistics only see
  training data, and are masked out of the loss.
  """
  augment = augment or augmentation_lib.none()
  order_key, step_key = jax.random.split(key)
  if "train_weight" in fold:
    order = weighted_order(order_key, fold, augment.copies)
  else:
    order = epoch_order(order_key, fold["n_train"] * augment.copies,
                        fold["train"].shape[0] * augment.copies)

  def body(state, i):
    s = first_step + i
    idx, copy, mask = batch_rows(fold, order, s, batch_size, augment.copies)
    mask = mask * active
    if "loss_weight" in fold:  # class-weighted loss: the mask carries each row's weight
      mask = mask * fold["loss_weight"][data["label"][idx]]
    x = augment.train(jax.random.fold_in(order_key, s), gather(data, idx), copy)
    x = jax.tree.map(constrain, x) if constrain else x
    return train_step(state, x, data["label"][idx], mask, jax.random.fold_in(step_key, s),
                      model=model, tx=tx, microbatches=microbatches)

  if steps == 1:  # The CPU's one-step calls: no scan at all (a length-1 scan ran 4x slower).
    return body(state, jnp.int32(0))
  state, metrics = jax.lax.scan(body, state, jnp.arange(steps))
  return state, jax.tree.map(jnp.sum, metrics)


def predict(state: TrainState, idx: jax.Array, data: Data, *, model: nn.Module,
            chunk: int, augment: augmentation_lib.Augmentation | None = None) -> jax.Array:
  """Logits `[M, C]` for the samples `idx` `[M]` (M a multiple of `chunk`)."""
  augment = augment or augmentation_lib.none()

  def run(chunk_idx):
    x = augment.evaluate(gather(data, chunk_idx))
    logits, _ = apply_model(model, state, state.params, x, train=False, key=jax.random.key(0))
    return logits.astype(jnp.float32)

  logits = jax.lax.map(run, idx.reshape(-1, chunk))
  return logits.reshape(idx.shape[0], -1)


def evaluate(state: TrainState, idx: jax.Array, n: jax.Array, data: Data, *,
             model: nn.Module, chunk: int,
             augment: augmentation_lib.Augmentation | None = None
             ) -> tuple[jax.Array, jax.Array]:
  """(mean cross-entropy over the first `n` of `idx`, logits `[M, C]`)."""
  logits = predict(state, idx, data, model=model, chunk=chunk, augment=augment)
  mask = (jnp.arange(idx.shape[0]) < n).astype(jnp.float32)
  loss, _ = masked_cross_entropy(logits, data["label"][idx], mask)
  return loss, logits
