"""Runs of one experiment that differ in a few fields, reported side by side (`config.sweep`).

`config.sweep.runs` lists the runs in order, each a name and the fields it
sets, `((field, value), ...)` with dotted field names; ATNet's streams:

  runs = (('spatial', (('model.stream', 'spatial'),)),
          ('temporal', (('model.stream', 'temporal'), ('pretrained.kind', ''), ...)),
          ('fusion', (('model.stream', 'fusion'),)))

Each run trains in `workdir/<name>` as a run of its own (resumed by itself,
its own results.md); the data is loaded once when no run changes
`config.data`, and the pre-training stage is shared (`workdir/pretrain`).
At the end `workdir/comparison.md` lists every run's metrics, over the whole
set and per dataset, and those of the finished runs in
`config.eval.compare_runs`, beside the paper's table (`config.eval.paper_table`).
An empty `runs` (or no `sweep` section) is a plain single run.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import ml_collections

from mer_jax import experiment, multihost
from mer_jax.atomic_write import write_atomic
from mer_jax.data import pipeline
from mer_jax.errors import ConfigError
from mer_jax.eval import compare, paper_table, report
from mer_jax.train import run_dir

COMPARISON = "comparison.md"


def runs(config: ml_collections.ConfigDict) -> dict[str, ml_collections.ConfigDict]:
  """The config of every run of `config.sweep`, by name (empty without a sweep)."""
  sweep = config.get("sweep")
  if sweep is None or not sweep.get("runs"):
    return {}
  names = [name for name, _ in sweep.runs]
  if len(set(names)) != len(names):
    raise ConfigError(f"config.sweep.runs names {names}; each run needs its own name")
  return {name: with_fields(config, name, fields) for name, fields in sweep.runs}


def with_fields(config: ml_collections.ConfigDict, name: str,
                fields: Sequence[Sequence[Any]]) -> ml_collections.ConfigDict:
  """A copy of `config` with `fields` set, no sweep, and `name` as the report's row name."""
  out = ml_collections.ConfigDict(config.to_dict())
  out.sweep.runs = ()
  out.eval.row_name = f"{name} (ours)"
  for field, value in fields:
    *parents, leaf = field.split(".")
    node = out
    for part in parents:
      node = node.get(part)
      if not isinstance(node, ml_collections.ConfigDict):
        raise ConfigError(f"config.sweep.runs.{name} sets {field!r}, which the config lacks")
    if leaf not in node:
      raise ConfigError(f"config.sweep.runs.{name} sets {field!r}, which the config lacks")
    node[leaf] = value
  return out


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, dict]:
  """Trains every run of the sweep; writes and prints `workdir/comparison.md`."""
  run_dir.prepare(workdir, config.to_dict())
  configs = runs(config)
  shared = None
  if all(c.data.to_dict() == config.data.to_dict() for c in configs.values()):
    shared = pipeline.load_experiment_data(config.data)
  run_dir.record(workdir, config.to_dict())
  results = {}
  for name, cfg in configs.items():
    if multihost.is_primary():
      print(f"\n## Run '{name}' ({len(results) + 1}/{len(configs)})\n", flush=True)
    results[name] = experiment.run(cfg, os.path.join(workdir, name), data=shared,
                                   pretrain_dir=os.path.join(workdir, "pretrain"))
  table = comparison(config, results)
  if multihost.is_primary():
    write_atomic(os.path.join(workdir, COMPARISON), table.encode("utf-8"))
    print("\n" + table, flush=True)
  return results


def comparison(config: ml_collections.ConfigDict, results: dict[str, dict]) -> str:
  """Every run's row, and those of `config.eval.compare_runs`, beside the paper's table."""
  paper = config.eval.get("paper_table")
  ours = {f"{name} (ours)": paper_table.our_row(r) for name, r in results.items()}
  others = compare.load(config.eval.get("compare_runs", ()))
  ours.update({name: paper_table.our_row(r) for name, r in others.items()})
  first = next(iter(results.values()))
  protocol = first["protocol"]
  heading = (f"### Comparison — protocol `{protocol['name']}`, labels "
             f"`{protocol['label_scheme']}`, {protocol['num_folds']} folds, selection "
             f"`{protocol['selection']}`")
  table = paper_table.format_grid(ours, paper.to_dict() if paper else {}, heading)
  notes = [f"{note[:2]}*{name}*: {note[2:]}" for name, r in results.items()
           for note in report.fold_notes(r["protocol"])]
  return table + ("\n" + "\n\n".join(notes) + "\n" if notes else "")
