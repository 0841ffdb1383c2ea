"""Other runs' results beside this run's (`config.eval.compare_runs`).

A baseline's report can show a deep model's results on the same data in one
table, and the other way round: `compare_runs` lists the workdirs of
finished runs; their `results.json` are read when the report is written and
each becomes a row, named by its method and workdir, in the layout of
eval/paper_table.py (the whole set and each dataset).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Sequence

from mer_jax.errors import ConfigError
from mer_jax.eval import paper_table

RESULTS = "results.json"


def check(workdirs: Sequence[str]) -> None:
  """Fails before any work when a listed run has no results yet."""
  for workdir in workdirs:
    path = os.path.join(workdir, RESULTS)
    if not os.path.isfile(path):
      raise ConfigError(f"config.eval.compare_runs names {workdir}, which holds no {RESULTS}; "
                        "expected the workdir of a finished run")


def method_name(results: Mapping[str, Any]) -> str:
  """A run's method in words: its model, or its descriptor and SVM kernel."""
  config = results.get("config", {})
  classifier = config.get("classifier")
  if classifier:
    return f"{config['data']['recipe']['name']} + SVM ({classifier['kernel']})"
  return config.get("model_name", "?")


def load(workdirs: Sequence[str]) -> dict[str, dict]:
  """`{row name: results}` of each run in `workdirs`."""
  check(workdirs)
  runs = {}
  for workdir in workdirs:
    path = os.path.join(workdir, RESULTS)
    try:
      with open(path) as f:
        results = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
      raise ConfigError(f"{path}: cannot be read as a run's results ({e})") from e
    runs[f"{method_name(results)} ({os.path.normpath(workdir)})"] = results
  return runs


def format_comparison(ours: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]],
                      row_name: str) -> str:
  """Our row, then each other run's, over the whole set and each dataset (if several)."""
  runs = {row_name: ours, **others}
  rows = {name: paper_table.our_row(r) for name, r in runs.items()}
  if all(len(r.get("per_dataset", {})) <= 1 for r in runs.values()):
    rows = {name: {"all": row["all"]} for name, row in rows.items()}  # 'all' is that dataset
  mismatched = [name for name, r in others.items()
                if r.get("protocol", {}).get("name") != ours.get("protocol", {}).get("name")
                or r.get("class_names") != ours.get("class_names")]
  text = paper_table.format_grid(rows, {}, "### Beside other runs")
  if mismatched:
    text += ("\n> Not comparable as they stand: " + ", ".join(mismatched)
             + " ran another protocol or class list.\n")
  return text
