r"""Peak device memory of one full-size ELRCN training step (one fold), from XLA.

  python -m benchmarks.elrcn_memory --models=se,te --microbatches=1,8 \
      --remat=false,true --dtype=float32 [--moments_dtype=float32,bfloat16]

For every combination of the list flags, `steps.train_step` of the paper's
model (configs/elrcn_se.py, configs/elrcn_te.py: VGG-16 fc7 per frame, LSTM
(3000,), Adam; 5 classes, as CASME II's `casme2_5`) is jitted with the train
state donated (`donate_argnums=0`), lowered on abstract inputs and compiled
for the default backend. Nothing of size is allocated: the state is
`jax.eval_shape` of `create_train_state`, the batch `jax.ShapeDtypeStruct`s
(x [B, T, S, S, 5] float32, labels [B] int32, mask [B] float32, a PRNG key).
The lowering and the figures are benchmarks/memory.py's, which
`python -m benchmarks.run --only memory` runs for every model family. One
Markdown row per combination, from `Compiled.memory_analysis()`:

  arguments  argument_size_in_bytes: state (params, Adam moments, step) + batch.
  temp       temp_size_in_bytes: XLA's temporary allocations (activations kept
             for the backward pass, gradients, optimiser temporaries); buffers
             with disjoint lifetimes already share them.
  output     output_size_in_bytes: new state + metrics.
  alias      alias_size_in_bytes: output bytes written into donated arguments.
  peak       arguments + output + temp - alias: all the executable holds while
             it runs. Not added: generated_code_size_in_bytes (0 on XLA:CPU)
             and the host_* fields (0 here). jax 0.10.2 also reports
             `peak_memory_in_bytes`; on XLA:CPU it comes out as about arguments
             + un-aliased outputs, without the temporaries: not used.

The figures belong to the backend that compiles (`jax.default_backend()`).
XLA:CPU's are not a GPU's: it lowers the max-pool gradient to a scatter with
s32 index tensors the size of the activations and transposes conv operands,
so its `temp` is larger, and `remat` and bfloat16 save nothing there even
though `remat` cuts the residuals JAX keeps for the backward pass to the
pooled stage outputs. `fits` compares `peak` with --budget_gib;
JAX on a GPU uses at most XLA_PYTHON_CLIENT_MEM_FRACTION (0.75 by default) of
the memory, so leave headroom. Lower and compile times are printed per row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import jax
from absl import app, flags

from benchmarks import families, memory
from mer_jax import config_files, models
from mer_jax.train import optim

CONFIGS = {"se": "elrcn_se.py", "te": "elrcn_te.py"}
DTYPES = ("float32", "bfloat16")
NUM_CLASSES = 5   # CASME II, label scheme 'casme2_5' (Table I)
CHANNELS = 5      # flow p, q, |v|; strain; grey
GIB = 2 ** 30

_MODELS = flags.DEFINE_list("models", ["se", "te"], "ELRCN variants: se, te.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Clips per training step.")
_MICRO = flags.DEFINE_list("microbatches", ["1", "8"],
                           "Gradient-accumulation parts per step (each divides the batch).")
_REMAT = flags.DEFINE_list("remat", ["false", "true"], "Recompute VGG stages: true, false.")
_DTYPE = flags.DEFINE_list("dtype", ["float32", "bfloat16"],
                           "CNN activation dtypes: float32, bfloat16.")
_MOMENTS = flags.DEFINE_list("moments_dtype", ["float32"],
                             "Adam moment dtypes (config.optim.moments_dtype): float32, "
                             "bfloat16.")
_FRAMES = flags.DEFINE_integer("num_frames", 10, "Time steps per clip.")
_SIZE = flags.DEFINE_integer("image_size", 224, "Frame side in pixels.")
_BUDGET = flags.DEFINE_float("budget_gib", 16.0, "Accelerator memory for the `fits` column.")

COLUMNS = ("model", "batch", "microbatches", "remat", "dtype", "moments", "params", "arguments GiB",
           "temp GiB", "output GiB", "alias GiB", "peak GiB", "fits",
           "lower s", "compile s")


def parse_bool(text: str) -> bool:
  """'true'/'false' (any case, or 1/0) as a bool."""
  value = text.strip().lower()
  if value not in ("true", "false", "1", "0"):
    raise app.UsageError(f"expected true or false, got {text!r}")
  return value in ("true", "1")


def parse_int(text: str) -> int:
  try:
    return int(text)
  except ValueError:
    raise app.UsageError(f"expected an integer, got {text!r}") from None


def load_config(name: str):
  """The paper config ('' variant) of ELRCN-`name` from configs/."""
  return config_files.load_config(os.path.join(families.CONFIG_DIR, CONFIGS[name]))


def measure(name: str, batch: int, microbatches: int, remat: bool, dtype: str,
            moments: str = "float32") -> dict:
  """Lowers and compiles one train step (benchmarks/memory.py); returns a table row."""
  config = load_config(name)
  config.optim.moments_dtype = moments
  model_cfg = dict(config.model.to_dict(), remat=remat, dtype=dtype)
  model = models.get(config.model_name, num_classes=NUM_CLASSES, **model_cfg)
  tx = optim.make_optimizer(config.optim, config.schedule)
  shape = (_FRAMES.value, _SIZE.value, _SIZE.value, CHANNELS)
  compiled, args, times = memory.compile_step(model, tx, shape, batch, microbatches)
  return row(name, batch, microbatches, remat, dtype, moments,
             families.count_params(args[0].params),
             memory.memory_bytes(compiled.memory_analysis()), times["lower_s"],
             times["compile_s"])


def row(name: str, batch: int, microbatches: int, remat: bool, dtype: str, moments: str,
        params: int,
        figures: dict[str, int], lower_s: float, compile_s: float) -> dict:
  """A table row from `memory.memory_bytes` figures."""
  gib = lambda n: f"{n / GIB:.2f}"  # noqa: E731
  return {"model": name, "batch": batch, "microbatches": microbatches, "remat": remat,
          "dtype": dtype, "moments": moments, "params": f"{params:,}",
          "arguments GiB": gib(figures["arguments"]), "temp GiB": gib(figures["temp"]),
          "output GiB": gib(figures["output"]), "alias GiB": gib(figures["alias"]),
          "peak GiB": gib(figures["peak"]),
          "fits": "yes" if figures["peak"] <= _BUDGET.value * GIB else "no",
          "lower s": f"{lower_s:.1f}", "compile s": f"{compile_s:.1f}"}


def markdown_row(cells: Sequence[object]) -> str:
  """One Markdown table line."""
  return "| " + " | ".join(str(c) for c in cells) + " |"


def check_flags() -> tuple[list[int], list[bool]]:
  """Validates the list flags; returns (microbatches, remat) parsed."""
  for name in _MODELS.value:
    if name not in CONFIGS:
      raise app.UsageError(f"--models: unknown {name!r}; expected one of {sorted(CONFIGS)}")
  for flag, values in (("dtype", _DTYPE.value), ("moments_dtype", _MOMENTS.value)):
    for dtype in values:
      if dtype not in DTYPES:
        raise app.UsageError(f"--{flag}: unknown {dtype!r}; expected one of {DTYPES}")
  microbatches = [parse_int(m) for m in _MICRO.value]
  for m in microbatches:
    if m < 1 or _BATCH.value % m:
      raise app.UsageError(f"--microbatches={m} must be >= 1 and divide "
                           f"--batch_size={_BATCH.value}")
  return microbatches, [parse_bool(r) for r in _REMAT.value]


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  microbatches, remats = check_flags()
  print(f"jax {jax.__version__} backend={jax.default_backend()} devices={jax.devices()}")
  print(f"one fold, one step: x [{_BATCH.value}, {_FRAMES.value}, {_SIZE.value}, "
        f"{_SIZE.value}, {CHANNELS}] float32; peak = arguments + output + temp - alias; "
        f"fits = peak <= {_BUDGET.value:g} GiB\n")
  print(markdown_row(COLUMNS))
  print(markdown_row(["---"] * len(COLUMNS)), flush=True)
  for name in _MODELS.value:
    for m in microbatches:
      for remat in remats:
        for dtype in _DTYPE.value:
          for moments in _MOMENTS.value:
            result = measure(name, _BATCH.value, m, remat, dtype, moments)
            print(markdown_row([result[c] for c in COLUMNS]), flush=True)


if __name__ == "__main__":
  app.run(main)
