"""Pure per-fold training and evaluation functions.

Everything here is written for ONE fold; `mer_jax.train.engine` vmaps it over
the fold axis. The dataset lives on the device (`data`: 'frames' [N, ...],
'label' [N]); a fold is a set of padded index arrays into it, so batches are
drawn on the device with `jax.random` and the host never feeds the loop.
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from mer_jax.train.state import TrainState

Data = Mapping[str, jax.Array]


def unroll_loops() -> bool:
  """Whether to unroll the epoch's loop over batches (True on CPU).

  XLA:CPU runs convolutions inside a while loop about 14x slower than the
  same convolutions unrolled (jax 0.10.2, measured on a VGG; BUILD_NOTES.md),
  so on the CPU the epoch's steps are unrolled (longer compiles, same numbers).
  Each step needs the parameters of the one before, so unrolled steps still
  run one after another. The microbatches and evaluation chunks are
  independent of each other: unrolled, XLA may keep all their activations
  alive at once, spending the memory those loops exist to save; they stay
  loops. Accelerators keep every loop.
  """
  return jax.default_backend() == "cpu"


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


def train_step(state: TrainState, x: jax.Array, labels: jax.Array, mask: jax.Array,
               key: jax.Array, *, model: nn.Module, tx: optax.GradientTransformation,
               microbatches: int = 1) -> tuple[TrainState, dict[str, jax.Array]]:
  """One optimiser step on a (masked) batch; a batch with no valid row is a no-op.

  With `microbatches` > 1 the batch is split into that many equal parts whose
  gradients are summed before the one update (gradient accumulation): the
  same step as the whole batch at once for models without batch norm, with a
  fraction of the activation memory.
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
        (split(x), split(labels), split(mask), jax.random.split(key, microbatches)))
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


def train_epoch(state: TrainState, fold: Mapping[str, jax.Array], data: Data,
                key: jax.Array, active: jax.Array, *, model: nn.Module,
                tx: optax.GradientTransformation, batch_size: int, steps: int,
                microbatches: int = 1, constrain: Any = None
                ) -> tuple[TrainState, dict[str, jax.Array]]:
  """One pass over the fold's training samples, in `steps` batches.

  Args:
    fold: 'train' [Nmax] padded sample indices, 'n_train' their count.
    active: False for a fold that has stopped (or is padding): no updates.
    microbatches: gradient-accumulation parts per batch (see train_step).
    constrain: optional function that adds a sharding constraint to a batch.

  Every training sample is seen once; positions past the fold's own count (the
  folds of a run share one step count) wrap around onto real samples so
  batch-norm statistics only see training data, and are masked out of the loss.
  """
  n = fold["n_train"]
  order_key, step_key = jax.random.split(key)
  order = epoch_order(order_key, n, fold["train"].shape[0])

  def body(state, s):
    pos = s * batch_size + jnp.arange(batch_size)
    idx = fold["train"][order[pos % jnp.maximum(n, 1)]]
    mask = ((pos < n) & active).astype(jnp.float32)
    x = data["frames"][idx]
    x = constrain(x) if constrain else x
    return train_step(state, x, data["label"][idx], mask, jax.random.fold_in(step_key, s),
                      model=model, tx=tx, microbatches=microbatches)

  state, metrics = jax.lax.scan(body, state, jnp.arange(steps), unroll=unroll_loops())
  return state, jax.tree.map(jnp.sum, metrics)


def predict(state: TrainState, idx: jax.Array, data: Data, *, model: nn.Module,
            chunk: int) -> jax.Array:
  """Logits `[M, C]` for the samples `idx` `[M]` (M a multiple of `chunk`)."""

  def run(chunk_idx):
    logits, _ = apply_model(model, state, state.params, data["frames"][chunk_idx],
                            train=False, key=jax.random.key(0))
    return logits.astype(jnp.float32)

  logits = jax.lax.map(run, idx.reshape(-1, chunk))
  return logits.reshape(idx.shape[0], -1)


def evaluate(state: TrainState, idx: jax.Array, n: jax.Array, data: Data, *,
             model: nn.Module, chunk: int) -> tuple[jax.Array, jax.Array]:
  """(mean cross-entropy over the first `n` of `idx`, logits `[M, C]`)."""
  logits = predict(state, idx, data, model=model, chunk=chunk)
  mask = (jnp.arange(idx.shape[0]) < n).astype(jnp.float32)
  loss, _ = masked_cross_entropy(logits, data["label"][idx], mask)
  return loss, logits
