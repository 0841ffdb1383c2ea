r"""The benchmark suite's one entry point: a Markdown table on stdout and a JSON file.

  python -m benchmarks.run [--only NAME[,NAME]] [--json OUT]

NAME is one of
  train_step     mer_jax's training step against PyTorch's, A/B in one process
                 (benchmarks/train_step.py), every family at paper and small size;
  fold_scaling   F folds at once against one at a time, F = 1, 2, 4, 8, 26
                 (benchmarks/fold_scaling.py), the LSTM, ATNet and MER-RCNN models;
  protocol       wall time of each config's whole `:demo` run (benchmarks/protocol.py);
  preprocessing  TV-L1 (JAX against OpenCV), EVM, LBP-TOP (benchmarks/preprocessing.py);
  memory         peak memory of every family's full-size step (benchmarks/memory.py);
  smoke          every benchmark above at tiny sizes, 2 repeats (seconds on a CPU;
                 the test suite runs it and checks only the JSON's schema).
No --only runs everything but smoke. Other options narrow a full run:
--families, --sizes, --folds, --configs, --repeats (see --help).

JSON schema (version 1; keep it stable, tests/test_benchmarks.py checks it):
  {"schema": 1,
   "command": str,                        # the command line
   "benchmarks": [str],                   # what ran, e.g. ["smoke"]
   "wall_s": float,                       # the whole suite
   "machine": {"platform": str,           # jax's default backend: cpu, gpu, tpu
               "devices": [str], "device_kind": str, "cpu_count": int,
               "host": str, "jax": str, "jaxlib": str, "flax": str,
               "torch": str | null, "python": str,
               "load_average": [float] | null,    # 1, 5, 15 min, when the suite began
               "omp_wait_policy": str | null},    # PyTorch's OpenMP threads (see below)
   "results": [{"benchmark": str,         # train_step | fold_scaling | protocol |
                                          # preprocessing | memory
                "name": str,              # e.g. "atnet:paper", "tvl1 64x64"
                "params": {str: ...},     # what was measured (sizes, batch, repeats)
                "metrics": {str: float},  # finite, positive figures
                "units": {str: str}}],    # the unit of every metric
   "errors": [{"benchmark": str, "name": str, "error": str}]}  # tasks that failed
Times are medians over repeats after a warm-up, in seconds. The file is
rewritten after every task, so an interrupted suite keeps what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# PyTorch's OpenMP threads spin after each parallel region by default; on a CPU shared
# with other jobs they then fight for the cores and a step ran 10-40x slower (2.2 s against
# 0.08 s for MER-RCNN's demo step, 2 cores, BUILD_NOTES.md). Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from benchmarks import families, machine  # noqa: E402
from mer_jax import command_line  # noqa: E402

SCHEMA = 1
BENCHMARKS = ("train_step", "fold_scaling", "protocol", "preprocessing", "memory")
NAMES = ("smoke",) + BENCHMARKS
FOLD_FAMILIES = ("elrcn_temporal_only", "atnet", "mer_rcnn")   # the scaling targets
SMOKE_FAMILY = "elrcn_temporal_only"                          # the cheapest to compile


@dataclasses.dataclass
class Task:
  """One unit of the suite: `run()` returns result records."""

  benchmark: str
  name: str
  run: Callable[[], list[dict]]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--only", default="", help=f"comma-separated, from {', '.join(NAMES)}")
  p.add_argument("--json", default="", help="write the results to this JSON file")
  p.add_argument("--families", default=",".join(families.FAMILIES),
                 help="train_step and memory: model families")
  p.add_argument("--sizes", default="paper,small", help="train_step: paper, small, tiny")
  p.add_argument("--folds", default="1,2,4,8,26", help="fold_scaling: fold counts")
  p.add_argument("--fold_families", default=",".join(FOLD_FAMILIES),
                 help="fold_scaling: model families (at small size)")
  p.add_argument("--strategies", default="vmap,map",
                 help="fold_scaling: fold strategies (train/fold_strategy.py)")
  p.add_argument("--configs", default=",".join(_protocol().DEMOS),
                 help="protocol: config:variant names")
  p.add_argument("--repeats", type=int, default=5, help="timed repeats (medians)")
  p.add_argument("--paper_repeats", type=int, default=3,
                 help="train_step: timed A/B pairs at the paper size")
  args = p.parse_args(argv)
  args.only = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
  for flag, given, known in (("--only", args.only, NAMES),
                             ("--families", split(args.families), families.FAMILIES),
                             ("--fold_families", split(args.fold_families), families.FAMILIES),
                             ("--sizes", split(args.sizes), families.SIZES),
                             ("--strategies", split(args.strategies), ("vmap", "map"))):
    unknown = sorted(set(given) - set(known))
    if unknown:
      p.error(f"{flag}: unknown {unknown}; expected from {tuple(known)}")
  return args


def _protocol():
  from benchmarks import protocol  # noqa: PLC0415 (imports the whole trainer)
  return protocol


def split(text: str) -> list[str]:
  return [t for t in text.split(",") if t]


def full_tasks(args: argparse.Namespace) -> list[Task]:
  """The tasks of the benchmarks in `args.only` (not smoke), at their full sizes.

  Cheap tasks first (an interrupted suite keeps them): preprocessing, memory,
  fold scaling, train steps (the paper sizes last), the whole protocols.
  """
  from benchmarks import fold_scaling, memory, preprocessing, train_step  # noqa: PLC0415
  fams = [families.FAMILIES[f] for f in split(args.families)]
  folds = tuple(int(f) for f in split(args.folds))
  r = args.repeats
  tasks = [Task("preprocessing", "tvl1 64", lambda: [preprocessing.tvl1(64, 32, r)]),
           Task("preprocessing", "tvl1 128", lambda: [preprocessing.tvl1(128, 32, r)]),
           Task("preprocessing", "evm", lambda: [preprocessing.evm_speed(67, 128, r)]),
           Task("preprocessing", "lbp_top", lambda: [preprocessing.lbp_top_speed(67, 280, r)])]
  tasks += [Task("memory", f"{f.name}:paper", lambda f=f: [memory.measure(
      families.setup(f, "paper", levers=True, full_batch=True))]) for f in fams]
  for name in split(args.fold_families):
    f = families.FAMILIES[name]
    tasks += [Task("fold_scaling", f"{name}:small {how}",
                   lambda f=f, how=how: fold_scaling.measure(
                       families.setup(f, "small"), folds, steps=2, repeats=max(2, r // 2),
                       strategy=how))
              for how in split(args.strategies)]
  sizes = sorted(split(args.sizes), key=lambda size: size == "paper")
  for size in sizes:
    # A paper-size step takes up to a minute on a 2-core CPU: fewer repeats, one warm-up.
    repeats, warmup = (args.paper_repeats, 1) if size == "paper" else (r, 2)
    tasks += [Task("train_step", f"{f.name}:{size}", lambda f=f, size=size, n=repeats,
                   w=warmup: [train_step.measure(families.setup(f, size), n, w)]) for f in fams]
  tasks += [Task("protocol", n, lambda n=n: [_protocol().run_one(n)])
            for n in split(args.configs)]
  return [t for t in tasks if t.benchmark in args.only]


def smoke_tasks() -> list[Task]:
  """Every benchmark once at tiny sizes, 2 repeats: seconds on a 2-core CPU."""
  from benchmarks import fold_scaling, memory, preprocessing, train_step  # noqa: PLC0415
  tiny = lambda: families.setup(families.FAMILIES[SMOKE_FAMILY], "tiny")  # noqa: E731
  return [
      Task("train_step", "tiny", lambda: [train_step.measure(tiny(), repeats=2)]),
      Task("fold_scaling", "tiny", lambda: fold_scaling.measure(tiny(), (1, 2), 2, 2)),
      Task("fold_scaling", "tiny map", lambda: fold_scaling.measure(tiny(), (2,), 2, 2, "map")),
      Task("protocol", "tiny", lambda: [_protocol().run_one("lbp_top:tiny")]),
      Task("preprocessing", "tiny", lambda: preprocessing.run(smoke=True, repeats=2)),
      Task("memory", "tiny", lambda: [memory.measure(families.setup(
          families.FAMILIES[SMOKE_FAMILY], "tiny", levers=True))]),
  ]


def fmt(value: object) -> str:
  """A table cell: floats to 4 significant digits."""
  if isinstance(value, float):
    return f"{value:.4g}"
  if isinstance(value, dict):
    return " ".join(f"{k}={fmt(v)}" for k, v in value.items())
  return str(value)


TABLE_PARAMS = {"train_step": ("batch", "parameters_jax"),
                "fold_scaling": ("batch", "mesh", "strategy"),
                "protocol": ("protocol", "runs"), "preprocessing": (),
                "memory": ("batch", "microbatches", "parameters", "source")}


def markdown(results: list[dict]) -> str:
  """One Markdown table per benchmark: name, a few params, every metric with its unit."""
  out = []
  for bench in BENCHMARKS:
    rows = [r for r in results if r["benchmark"] == bench]
    if not rows:
      continue
    metrics = list(dict.fromkeys(k for r in rows for k in r["metrics"]))
    params = [p for p in TABLE_PARAMS[bench] if any(p in r["params"] for r in rows)]
    units = {k: u for r in rows for k, u in r["units"].items()}
    head = ["name", *params, *(f"{m} ({units[m]})" for m in metrics)]
    out += [f"### {bench}", "", "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head)]
    for r in rows:
      cells = [r["name"], *(fmt(r["params"].get(p, "")) for p in params),
               *(fmt(r["metrics"].get(m, "")) for m in metrics)]
      out.append("| " + " | ".join(cells) + " |")
    out.append("")
  return "\n".join(out)


def check_record(r: dict) -> None:
  """Raises ValueError unless `r` follows the schema (finite, positive metrics with units)."""
  for key, kind in (("benchmark", str), ("name", str), ("params", dict), ("metrics", dict),
                    ("units", dict)):
    if not isinstance(r.get(key), kind):
      raise ValueError(f"result {r.get('name')!r}: {key!r} missing or not {kind.__name__}")
  for k, v in r["metrics"].items():
    if not (isinstance(v, float | int) and math.isfinite(v) and v > 0 and k in r["units"]):
      raise ValueError(f"result {r['name']!r}: metric {k}={v!r} is not finite and positive "
                       "with a unit")


def run_tasks(tasks: list[Task], report: dict, json_path: str, keep_going: bool) -> None:
  """Runs `tasks` in order, appending to `report` and rewriting `json_path` after each."""
  for task in tasks:
    print(f"[{task.benchmark}] {task.name} ...", file=sys.stderr, flush=True)
    try:
      with contextlib.redirect_stdout(sys.stderr):   # runs' own reports stay off the table
        records = task.run()
      for r in records:
        check_record(r)
      report["results"] += records
    except Exception as e:  # noqa: BLE001 (a full suite records the failure and goes on)
      if not keep_going:
        raise
      traceback.print_exc()
      report["errors"].append({"benchmark": task.benchmark, "name": task.name,
                               "error": f"{type(e).__name__}: {e}"[:2000]})
    if json_path:
      write_json(report, json_path)


def write_json(report: dict, path: str) -> None:
  tmp = f"{path}.tmp"
  with open(tmp, "w") as f:
    json.dump(report, f, indent=1)
  os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
  args = parse_args(argv)
  command_line.quiet_library_logs()
  start = time.perf_counter()
  report = {"schema": SCHEMA, "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
            "benchmarks": args.only, "wall_s": 0.0, "machine": machine.describe(),
            "results": [], "errors": []}
  smoke = "smoke" in args.only
  tasks = smoke_tasks() if smoke else []
  tasks += full_tasks(args)
  run_tasks(tasks, report, args.json, keep_going=not smoke)
  report["wall_s"] = time.perf_counter() - start
  if args.json:
    write_json(report, args.json)
  m = report["machine"]
  print(f"## Benchmarks: {m['platform']} ({m['device_kind']}, {len(m['devices'])} device(s), "
        f"{m['cpu_count']} CPUs), jax {m['jax']}, torch {m['torch']}; "
        f"{report['wall_s']:.0f} s in all\n")
  print(markdown(report["results"]))
  for e in report["errors"]:
    print(f"FAILED {e['benchmark']} {e['name']}: {e['error']}")
  return 1 if report["errors"] else 0


if __name__ == "__main__":
  sys.exit(main())
