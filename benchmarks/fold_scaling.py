"""Fold-parallel scaling: F folds trained at once against F folds one at a time.

The real fold functions (`mer_jax.train.fold_fns.make_fold_fns`: the train state
stacked over a leading fold axis, `jit(vmap(train_epoch))` under fold strategy
'vmap', `jit(lax.map(train_epoch))` under 'map', on a ('fold', 'data') mesh over
the devices present) trains a family's model at one size on a
device-resident random dataset of `steps x batch` clips in the model's
input shape (augmentation 'none'), every fold on all of it. For each F:
  parallel_s    the median wall time of one epoch of F folds at once (F-fold
                functions), after a warm-up epoch that compiles;
  sequential_s  F x the median epoch time of one fold alone (1-fold
                functions): training F identical folds one after another;
  speedup       sequential_s / parallel_s; efficiency = speedup / F (the
                issue's target: at least 0.8 on one GPU).
On a CPU backend an epoch runs one compiled call per step
(`steps.steps_per_call`); on accelerators one call per epoch.
"""

from __future__ import annotations

import jax
import numpy as np

from benchmarks import families, timing
from mer_jax.train import fold_fns, loop, sharding


def make_epoch(s: families.Setup, folds: int, steps: int, strategy: str = "vmap"):
  """A no-argument function that trains `folds` folds for one epoch of `steps` steps
  (`strategy`: 'vmap' or 'map', train/fold_strategy.py)."""
  n = s.batch_size * steps
  data = {"inputs": families.random_inputs(s, n), "label": families.random_labels(s, n)}
  fns = fold_fns.make_fold_fns(s.model, s.tx, sharding.make_mesh(folds), data,
                               batch_size=s.batch_size, steps_per_epoch=steps,
                               eval_chunk=s.batch_size, strategy=strategy)
  holder = {"states": fns.init(fns.put(jax.random.split(families.init_key(0), folds)))}
  plan = fns.put({"train": np.tile(np.arange(n, dtype=np.int32), (folds, 1)),
                  "n_train": np.full(folds, n, np.int32)})
  active = np.ones(folds, bool)
  epoch_keys = iter(jax.random.split(jax.random.key(1), 10_000))

  def run():
    keys = fns.put(jax.random.split(next(epoch_keys), folds))
    holder["states"], _ = loop.train_steps(fns, holder["states"], plan, keys, active, steps)
    jax.block_until_ready(holder["states"])

  return run


def epoch_seconds(s: families.Setup, folds: int, steps: int, repeats: int,
                  strategy: str = "vmap") -> tuple[float, float]:
  """(median epoch seconds, first-epoch seconds incl. compilation) for `folds` at once."""
  run = make_epoch(s, folds, steps, strategy)
  first = timing.seconds(run)
  return timing.median_seconds(run, repeats), first


def measure(s: families.Setup, fold_counts: tuple[int, ...], steps: int, repeats: int,
            strategy: str = "vmap") -> list[dict]:
  """One result per F in `fold_counts` under fold `strategy` (see the module docstring)."""
  one, _ = epoch_seconds(s, 1, steps, repeats, strategy)
  out = []
  for f in fold_counts:
    parallel, first = (one, None) if f == 1 else epoch_seconds(s, f, steps, repeats, strategy)
    speedup = f * one / parallel
    out.append({
        "benchmark": "fold_scaling", "name": f"{s.label} F={f} {strategy}",
        "params": {"family": s.family.name, "size": s.size, "folds": f, "batch": s.batch_size,
                   "strategy": strategy, "steps_per_epoch": steps, "repeats": repeats,
                   "devices": jax.device_count(),
                   "mesh": dict(sharding.make_mesh(f).shape)},
        "metrics": {"parallel_s": parallel, "sequential_s": f * one, "speedup": speedup,
                    "efficiency": speedup / f},
        "units": {"parallel_s": "s/epoch", "sequential_s": "s/epoch", "speedup": "x",
                  "efficiency": "speedup/F"}})
    print(f"  fold_scaling {out[-1]['name']}: {out[-1]['metrics']}", flush=True)
  return out
