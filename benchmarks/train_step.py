"""Training-step time of mer_jax against an equivalent PyTorch model, A/B in one process.

For a `families.Setup` (one model family at one size):
  mer_jax  `jax.jit(steps.train_step, donate_argnums=0)`: the step every fold
           runs (forward, masked cross-entropy, gradient, optax update), one
           fold, microbatches 1, the batch already on the device; each call is
           ended by `jax.block_until_ready` on the new state;
  PyTorch  benchmarks/torch_models.py's equivalent model in train mode:
           `zero_grad`, forward, `cross_entropy` (mean), `backward`,
           `optimizer.step()` with the config's optimiser; the batch already
           a tensor in PyTorch's channels-first layout; `torch.get_num_threads()`
           left at its default.
Both get the same batch size and input sizes, and their parameter counts are
checked to agree within PARAM_TOLERANCE. After `warmup` steps of each (the
first mer_jax call compiles; its time, compilation and one step, is reported
as `compile_s`), `repeats`
pairs of steps alternate (mer_jax, PyTorch, mer_jax, ...): each side's
median is reported, and `ratio = torch_s / jax_s` (above 1: mer_jax faster).
`tflops` is mer_jax's achieved rate: the compiled step's flops (XLA's cost
analysis) over its median time. PyTorch runs on CUDA when it has it.
"""

from __future__ import annotations

import functools
import statistics

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import families, timing
from mer_jax.train import steps
from mer_jax.train.state import create_train_state

PARAM_TOLERANCE = 0.03


def make_jax_step(s: families.Setup, inputs: dict, labels: np.ndarray):
  """(a no-argument function that runs one mer_jax step and blocks, its parameter count,
  the step's floating-point operations by XLA's cost analysis or None)."""
  x = jax.device_put(families.model_input(inputs))
  y, mask = jax.device_put(labels), jnp.ones(len(labels), jnp.float32)
  example = jax.tree.map(lambda a: a[:1], x)
  init = jax.jit(functools.partial(create_train_state, model=s.model, tx=s.tx))
  state = init(families.init_key(0), example=example)
  n_params = families.count_params(state.params)
  step = jax.jit(functools.partial(steps.train_step, model=s.model, tx=s.tx, microbatches=1),
                 donate_argnums=0)
  holder = {"state": state, "key": jax.random.key(1), "step": None}

  def run():
    holder["key"], key = jax.random.split(holder["key"])
    if holder["step"] is None:  # compiled ahead of time once, so its cost can be read
      holder["step"] = step.lower(holder["state"], x, y, mask, key).compile()
    holder["state"], metrics = holder["step"](holder["state"], x, y, mask, key)
    jax.block_until_ready((holder["state"], metrics))

  def flops():
    cost = holder["step"].cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost  # older jax: one per device
    value = (cost or {}).get("flops")
    return float(value) if value and value > 0 else None

  return run, n_params, flops


def make_torch_step(s: families.Setup, inputs: dict, labels: np.ndarray):
  """(a no-argument function that runs one PyTorch step and waits for it, its parameter count).

  On CUDA when PyTorch has it (the batch already there), else on the CPU; a
  bfloat16 model (`model.dtype`) runs its forward pass under
  `torch.autocast(dtype=torch.bfloat16)`, PyTorch's mixed precision.
  """
  import torch  # noqa: PLC0415 (the `bench` extra)
  from benchmarks import torch_models  # noqa: PLC0415

  torch.manual_seed(0)
  device = "cuda" if torch.cuda.is_available() else "cpu"
  module, to_torch = torch_models.build_module(s)
  module.to(device).train()
  opt = torch_models.make_optimizer(module, s.config)
  x = to_torch(inputs)
  x = {k: v.to(device) for k, v in x.items()} if isinstance(x, dict) else x.to(device)
  y = torch.from_numpy(labels.astype(np.int64)).to(device)
  mixed = s.config.model.get("dtype", "float32") == "bfloat16"

  def run():
    opt.zero_grad(set_to_none=True)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=mixed):
      loss = torch.nn.functional.cross_entropy(module(x), y)
    loss.backward()
    opt.step()
    if device == "cuda":
      torch.cuda.synchronize()

  return run, torch_models.count_params(module)


def measure(s: families.Setup, repeats: int, warmup: int = 2) -> dict:
  """One comparison (see the module docstring); a result record for benchmarks.run."""
  inputs = families.random_inputs(s, s.batch_size)
  labels = families.random_labels(s, s.batch_size)
  jax_step, jax_params, jax_flops = make_jax_step(s, inputs, labels)
  torch_step, torch_params = make_torch_step(s, inputs, labels)
  if abs(torch_params - jax_params) > PARAM_TOLERANCE * jax_params:
    raise AssertionError(f"{s.label}: PyTorch model has {torch_params:,} parameters, "
                         f"mer_jax's {jax_params:,} (more than {PARAM_TOLERANCE:.0%} apart)")
  compile_s = timing.seconds(jax_step)   # the first call compiles
  for _ in range(warmup - 1):
    jax_step()
  for _ in range(warmup):
    torch_step()
  jax_times, torch_times = timing.alternate(jax_step, torch_step, repeats)
  jax_s, torch_s = statistics.median(jax_times), statistics.median(torch_times)
  flops = jax_flops()
  achieved = {} if flops is None else {"metrics": {"tflops": flops / jax_s / 1e12},
                                       "units": {"tflops": "1e12 flop/s"}}
  return {
      "benchmark": "train_step", "name": s.label,
      "params": {"family": s.family.name, "size": s.size, "batch": s.batch_size,
                 "input": {k: list(v) for k, v in s.shapes.items()},
                 "optimizer": s.config.optim.name, "repeats": repeats,
                 "parameters_jax": jax_params, "parameters_torch": torch_params,
                 "dtype": s.config.model.get("dtype", "float32"), "flop_per_step": flops},
      "metrics": {"jax_s": jax_s, "torch_s": torch_s, "ratio": torch_s / jax_s,
                  "compile_s": compile_s, **achieved.get("metrics", {})},
      "units": {"jax_s": "s/step", "torch_s": "s/step", "ratio": "torch/jax",
                "compile_s": "s", **achieved.get("units", {})},
  }

