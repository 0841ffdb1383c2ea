"""Peak device memory of one full-size training step: XLA's compiled estimate, and the
device's own peak where the backend reports one.

`compile_step` jits `steps.train_step` with the train state donated
(`donate_argnums=0`), lowers it on abstract inputs (`jax.ShapeDtypeStruct`s:
nothing of size is allocated) and compiles it for the default backend.
`memory_bytes` reads `Compiled.memory_analysis()`:

  arguments  state (params, batch statistics, optimiser state, step) + batch;
  temp       XLA's temporary buffers (activations kept for the backward
             pass, gradients, optimiser temporaries), lifetimes shared;
  output     new state + metrics;  alias  output bytes written into donated
             arguments;
  peak       arguments + output + temp - alias: what the executable holds
             while it runs ("compiled estimate"). jax 0.10.2's own
             `peak_memory_in_bytes` leaves the temporaries out on XLA:CPU,
             so it is not used.

On XLA:CPU the estimate overstates a GPU's temporaries (the max-pool
gradient becomes a scatter with index tensors the size of the activations).
Where `device.memory_stats()` exists (GPU, TPU), `measure` also runs the
step once on zeros and reports `peak_bytes_in_use` (the process's peak
so far, so run it first in a fresh process for a clean figure).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp

from benchmarks import families
from mer_jax.train import steps
from mer_jax.train.state import create_train_state

GIB = 2 ** 30


def abstract_batch(x_shapes: Any, batch: int) -> tuple:
  """Shapes of (x, labels, mask, key) for one step; `x_shapes` one clip's input tree."""
  x = jax.tree.map(lambda s: jax.ShapeDtypeStruct((batch,) + tuple(s), jnp.float32), x_shapes,
                   is_leaf=lambda s: isinstance(s, tuple))
  return (x, jax.ShapeDtypeStruct((batch,), jnp.int32),
          jax.ShapeDtypeStruct((batch,), jnp.float32),
          jax.eval_shape(lambda: jax.random.key(0)))


def compile_step(model: Any, tx: Any, x_shapes: Any, batch: int, microbatches: int = 1
                 ) -> tuple[Any, tuple, dict[str, float]]:
  """(compiled step, its abstract arguments (state, x, labels, mask, key), {'lower_s',
  'compile_s'}) of one fold's train step."""
  x, labels, mask, key = abstract_batch(x_shapes, batch)
  example = jax.tree.map(lambda a: jax.ShapeDtypeStruct((1,) + a.shape[1:], a.dtype), x)
  state = jax.eval_shape(functools.partial(create_train_state, model=model, tx=tx),
                         key, example=example)
  step = jax.jit(functools.partial(steps.train_step, model=model, tx=tx,
                                   microbatches=microbatches), donate_argnums=0)
  start = time.perf_counter()
  lowered = step.lower(state, x, labels, mask, key)
  lowered_at = time.perf_counter()
  compiled = lowered.compile()
  return compiled, (state, x, labels, mask, key), {"lower_s": lowered_at - start,
                           "compile_s": time.perf_counter() - lowered_at}


def memory_bytes(stats: Any) -> dict[str, int]:
  """{'arguments', 'temp', 'output', 'alias', 'peak'} in bytes from `CompiledMemoryStats`."""
  out = {"arguments": stats.argument_size_in_bytes, "temp": stats.temp_size_in_bytes,
         "output": stats.output_size_in_bytes, "alias": stats.alias_size_in_bytes}
  out["peak"] = out["arguments"] + out["output"] + out["temp"] - out["alias"]
  return out


def device_peak_bytes(compiled: Any, args: tuple) -> int | None:
  """Runs `compiled` once on zeros shaped like `args` (state, x, labels, mask, key);
  the device's `peak_bytes_in_use` after it, or None where the backend reports none."""
  device = jax.devices()[0]
  if not (device.memory_stats() or {}).get("peak_bytes_in_use"):
    return None
  tree = args[:-1]
  zeros = jax.jit(lambda: jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), tree))()
  jax.block_until_ready(compiled(*zeros, jax.random.key(0)))
  return int(device.memory_stats()["peak_bytes_in_use"])


def measure(s: families.Setup) -> dict:
  """The memory of `s`'s full step (its config's microbatches and remat); a result record."""
  compiled, args, times = compile_step(s.model, s.tx, families.model_input(s.shapes),
                                        s.batch_size, s.microbatches)
  figures = memory_bytes(compiled.memory_analysis())
  # Output and alias may be 0 (no donation on some backends): params, not metrics.
  metrics = {f"{k}_gib": figures[k] / GIB for k in ("peak", "arguments", "temp")}
  metrics.update(times)
  units = {k: "GiB" for k in metrics} | {k: "s" for k in times}
  peak = device_peak_bytes(compiled, args)
  if peak is not None:
    metrics["device_peak_gib"], units["device_peak_gib"] = peak / GIB, "GiB"
  return {"benchmark": "memory", "name": s.label,
          "params": {"family": s.family.name, "size": s.size, "batch": s.batch_size,
                     "microbatches": s.microbatches,
                     "remat": bool(s.config.model.get("remat", False)),
                     "parameters": families.count_params(args[0].params),
                     "output_gib": figures["output"] / GIB, "alias_gib": figures["alias"] / GIB,
                     "source": "compiled estimate" + (" + device peak" if peak else ""),
                     "backend": jax.default_backend()},
          "metrics": metrics, "units": units}
