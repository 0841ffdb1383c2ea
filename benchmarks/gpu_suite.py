r"""The GPU suite: what one short GPU lease should measure, in one prepared command.

  bash benchmarks/gpu_suite.sh OUTDIR [--dry-run]       # the command to run
  python -m benchmarks.gpu_suite --out OUTDIR [--dry-run] [--plan]

PLAN lists every task with its time budget on one H200, in the order they
run (cheap and most wanted first, so a cut-short lease keeps them). The
budgets add up to PLANNED_S, under the 8 minutes a lease leaves for it; a
task whose budget no longer fits before DEADLINE_S is not started and is
listed in `errors` as skipped. The results go to OUTDIR/gpu_suite.json in
benchmarks/run.py's JSON schema (version 1), rewritten after every task, and
a Markdown table to stdout and OUTDIR/gpu_suite.md.

  tvl1         JAX TV-L1 on the device against OpenCV on the host, 128x128,
               end-point error between them (goal: >= 50x at equal error)
  train_step   mer_jax's step against PyTorch's (CUDA) for every family at
               the paper size, float32; bfloat16 for the conv families, with
               the achieved TFLOP/s and, for ELRCN-SE, its MFU (goal >= 40 %)
  fold_scaling F = 1, 4, 16 (and 68 for the LSTM model) folds at once against
               one at a time, both fold strategies (train/fold_strategy.py)
  memory       ELRCN-SE and ELRCN-TE peak device memory at the paper's
               settings with the configs' microbatches and remat
  atnet_loso   the whole MEGC 2019 ATNet LOSO (68 folds) estimated from a
               measured paper-size epoch of one fold group (goal < 15 min)

--dry-run runs the same tasks at tiny sizes on any backend (the test suite
runs it on the CPU: under a minute), so the script cannot rot before a GPU
comes. Nothing here imports TensorFlow (the GPU machines have none); the
JSON's machine record says whether anything did.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")       # see benchmarks/run.py
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # PyTorch shares the GPU

from benchmarks import families, machine, run  # noqa: E402

LEASE_S = 480.0      # what the suite may take on the device: 8 minutes
DEADLINE_S = 465.0   # no task starts unless its budget ends before this
# Dense bf16 peak of the device kinds met so far, flop/s (NVIDIA's data sheets).
BF16_PEAK = {"NVIDIA H100 80GB HBM3": 989.4e12, "NVIDIA H200": 989.4e12}
# MEGC 2019 composite (CASME II + SAMM + SMIC-HS; See et al. 2019): clips per
# class (negative, positive, surprise) and subjects, for the ATNet estimate.
MEGC2019_CLASSES = (250, 109, 83)
MEGC2019_SUBJECTS = 68
DRY_FAMILY = "elrcn_temporal_only"   # the cheapest to compile, for the dry run


@dataclasses.dataclass(frozen=True)
class Planned:
  """One task of the suite: its budget on an H200, the full run and the dry one."""

  benchmark: str
  name: str
  budget_s: float
  full: Callable[[], list[dict]]
  dry: Callable[[], list[dict]]


def family(name: str) -> families.Family:
  if name == "elrcn_te":  # not a train_step family (no PyTorch twin); memory only
    return families.Family("elrcn_te", "elrcn_te.py", "", "demo", "tiny", cpu_batch=1)
  return families.FAMILIES[name]


def train_step(name: str, dtype: str = "") -> Planned:
  from benchmarks import train_step as bench  # noqa: PLC0415
  full = lambda: [with_mfu(bench.measure(  # noqa: E731
      families.setup(family(name), "paper", full_batch=True, dtype=dtype), 5, 2))]
  # The dry run's bfloat16 steps are ELRCN-SE's (the cheapest model with a dtype).
  dry = lambda: [with_mfu(bench.measure(  # noqa: E731
      families.setup(family("elrcn_se" if dtype else DRY_FAMILY), "tiny", dtype=dtype), 2, 1))]
  budget = {"elrcn_temporal_only": 15, "elrcn_se": 35, "r3d_convlstm_ae": 35}.get(name, 30)
  return Planned("train_step", f"{name}:paper {dtype or 'float32'}",
                 budget - 5 * bool(dtype), full, dry)


def with_mfu(record: dict) -> dict:
  """Adds `mfu` (achieved / the device's bf16 peak) to a bfloat16 step's record."""
  kind = machine.describe()["device_kind"]
  tflops = record["metrics"].get("tflops")
  if record["params"].get("dtype") == "bfloat16" and tflops and kind in BF16_PEAK:
    record["metrics"]["mfu"] = tflops * 1e12 / BF16_PEAK[kind]
    record["units"]["mfu"] = "of bf16 peak"
  return record


def fold_scaling(name: str, strategy: str) -> Planned:
  from benchmarks import fold_scaling as bench  # noqa: PLC0415
  counts = (1, 4, 16, 68) if name == "elrcn_temporal_only" else (1, 4, 16)
  full = lambda: bench.measure(families.setup(family(name), "small"), counts,  # noqa: E731
                               steps=2, repeats=3, strategy=strategy)
  dry = lambda: bench.measure(families.setup(family(DRY_FAMILY), "tiny"), (2,),  # noqa: E731
                              steps=1, repeats=1, strategy=strategy)
  return Planned("fold_scaling", f"{name}:small {strategy}", 15, full, dry)


def memory(name: str) -> Planned:
  from benchmarks import memory as bench  # noqa: PLC0415
  full = lambda: [bench.measure(families.setup(  # noqa: E731
      family(name), "paper", levers=True, full_batch=True))]
  dry = lambda: [bench.measure(families.setup(family(DRY_FAMILY), "tiny", levers=True))]  # noqa: E731
  return Planned("memory", f"{name}:paper", 30, full, dry)


def megc2019_steps_per_epoch(batch_size: int) -> int:
  """One ATNet fold's optimiser steps an epoch: the 67 training subjects' clips,
  each class oversampled to the largest (configs/atnet.py: balance 'oversample')."""
  per_fold = max(MEGC2019_CLASSES) * (MEGC2019_SUBJECTS - 1) / MEGC2019_SUBJECTS
  return math.ceil(len(MEGC2019_CLASSES) * per_fold / batch_size)


def atnet_loso(size: str, repeats: int, strategies: Sequence[str] = ("vmap", "map")
               ) -> list[dict]:
  """The whole ATNet MEGC 2019 LOSO, estimated from a measured epoch of one fold group.

  One group of the config's `folds_in_parallel` folds trains 2 steps at
  `size` (the paper's: 224x224 apex, 64 ADM rows) under each fold strategy;
  the estimate is steps/epoch x epochs x groups x the measured time per step.
  Left out: the spatial stream's pre-training stage (its macro-expression
  folder's size is the user's) and evaluation.
  """
  from benchmarks import fold_scaling as bench  # noqa: PLC0415
  config = families.load_config(family("atnet"), "paper")
  folds = config.protocol.folds_in_parallel
  groups = math.ceil(MEGC2019_SUBJECTS / folds)
  steps = megc2019_steps_per_epoch(config.train.batch_size)
  out = []
  for strategy in strategies:
    s = families.setup(family("atnet"), size, full_batch=True)
    step_s = bench.epoch_seconds(s, folds, 2, repeats, strategy)[0] / 2
    total = step_s * steps * config.train.num_epochs * groups
    out.append({"benchmark": "fold_scaling", "name": f"atnet_loso:{size} {strategy}",
                "params": {"folds_in_parallel": folds, "groups": groups,
                           "steps_per_epoch": steps, "epochs": config.train.num_epochs,
                           "batch": s.batch_size, "strategy": strategy,
                           "estimate": "measured step x steps x epochs x groups"},
                "metrics": {"step_s": step_s, "loso_min": total / 60},
                "units": {"step_s": "s/step (group)", "loso_min": "min (estimated)"}})
  return out


def atnet_estimate() -> Planned:
  return Planned("fold_scaling", "atnet_loso:paper", 45, lambda: atnet_loso("paper", 3),
                 lambda: atnet_loso("tiny", 1, ("map",)))


PLAN: tuple[Planned, ...] = (
    Planned("preprocessing", "tvl1 128", 20, lambda: [_preprocessing().tvl1(128, 64, 5)],
            lambda: [_preprocessing().tvl1(16, 2, 1)]),
    *(train_step(f) for f in ("elrcn_se", "elrcn_temporal_only", "mer_rcnn", "atnet",
                              "r3d_convlstm_ae")),
    train_step("elrcn_se", "bfloat16"),
    *(fold_scaling(f, how) for f in run.FOLD_FAMILIES for how in ("vmap", "map")),
    memory("elrcn_se"), memory("elrcn_te"),
    atnet_estimate(),
    train_step("atnet", "bfloat16"), train_step("r3d_convlstm_ae", "bfloat16"),
)
PLANNED_S = sum(p.budget_s for p in PLAN)


def _preprocessing():
  from benchmarks import preprocessing  # noqa: PLC0415
  return preprocessing


def budget_table() -> str:
  """The plan as a Markdown table: task, budget, running total."""
  rows, total = ["| task | budget (s) | total (s) |", "|---|---|---|"], 0.0
  for p in PLAN:
    total += p.budget_s
    rows.append(f"| {p.benchmark}: {p.name} | {p.budget_s:.0f} | {total:.0f} |")
  return "\n".join(rows + [f"\nplanned {PLANNED_S:.0f} s of the lease's {LEASE_S:.0f} s"])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_suite",
                              description=__doc__.split("\n")[0])
  p.add_argument("--out", default="", help="folder for gpu_suite.json and gpu_suite.md")
  p.add_argument("--dry-run", action="store_true", help="every task at tiny sizes")
  p.add_argument("--plan", action="store_true", help="print the budget table and exit")
  args = p.parse_args(argv)
  if not args.plan and not args.out:
    p.error("--out OUTDIR is required (or --plan)")
  return args


def run_plan(dry: bool, json_path: str) -> dict:
  """Runs PLAN (each task's dry form with `dry`) within DEADLINE_S; the report."""
  start = time.perf_counter()
  report = {"schema": run.SCHEMA, "command": " ".join(["benchmarks/gpu_suite.sh", *sys.argv[1:]]),
            "benchmarks": ["gpu_suite" + (" dry-run" if dry else "")], "wall_s": 0.0,
            "machine": machine.describe(), "results": [], "errors": [],
            "plan": [{"benchmark": p.benchmark, "name": p.name, "budget_s": p.budget_s}
                     for p in PLAN]}
  for p in PLAN:
    elapsed = time.perf_counter() - start
    if not dry and elapsed + p.budget_s > DEADLINE_S:
      report["errors"].append({"benchmark": p.benchmark, "name": p.name, "error":
                               f"skipped: {elapsed:.0f} s gone, its {p.budget_s:.0f} s budget "
                               f"would end after {DEADLINE_S:.0f} s"})
      continue
    task = run.Task(p.benchmark, p.name, p.dry if dry else p.full)
    task_start = time.perf_counter()
    run.run_tasks([task], report, json_path, keep_going=not dry)
    print(f"  {p.name}: {time.perf_counter() - task_start:.1f} s (budget {p.budget_s:.0f} s)",
          file=sys.stderr, flush=True)
  report["wall_s"] = time.perf_counter() - start
  report["machine"]["imported_tensorflow"] = "tensorflow" in sys.modules
  return report


def main(argv: Sequence[str] | None = None) -> int:
  args = parse_args(argv)
  if args.plan:
    print(budget_table())
    return 0
  os.makedirs(args.out, exist_ok=True)
  json_path = os.path.join(args.out, "gpu_suite.json")
  report = run_plan(args.dry_run, json_path)
  run.write_json(report, json_path)
  table = run.markdown(report["results"])
  with open(os.path.join(args.out, "gpu_suite.md"), "w") as f:
    f.write(table + "\n")
  m = report["machine"]
  print(f"## GPU suite: {m['platform']} ({m['device_kind']}), jax {m['jax']}, torch "
        f"{m['torch']}; {report['wall_s']:.0f} s of {PLANNED_S:.0f} s planned\n")
  print(table)
  for e in report["errors"]:
    print(f"- {e['benchmark']} {e['name']}: {e['error']}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
