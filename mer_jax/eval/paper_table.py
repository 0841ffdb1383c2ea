"""Our results in a paper's own table layout: a row per method, a column group per test set.

Papers on composite data report each method over several evaluation sets
(ATNet's Table II: Full, CASME II, SAMM, SMIC, each with accuracy, UF1 and
UAR). `config.eval.paper_table` holds such a table as
`{row: {set: {metric: value}}}`, where a set is 'all' (the whole composite)
or a dataset name; `format_grid` prints our rows beside it, with the sets
and metrics the paper has, in the paper's order.
"""

from __future__ import annotations

from typing import Any, Mapping

Table = Mapping[str, Mapping[str, Mapping[str, float]]]

SET_NAMES = {"all": "Full", "casme2": "CASME II", "samm": "SAMM", "smic": "SMIC",
             "casme": "CASME", "casme_sq": "CAS(ME)^2", "synthetic": "synthetic"}
METRIC_NAMES = {"accuracy": "Acc", "uf1": "UF1", "uar": "UAR"}
_ORDER = ("accuracy", "uf1", "uar")
_MISSING = "–"


def our_row(results: Mapping[str, Any]) -> dict[str, dict[str, float]]:
  """`{set: {metric: value}}` of one run's results ('all' and each dataset)."""
  return {"all": dict(results["metrics"]), **{d: dict(m) for d, m in
                                              results["per_dataset"].items()}}


def columns(paper: Table, ours: Table) -> list[tuple[str, list[str]]]:
  """(set, metrics) column groups: the paper's sets and metrics, else ours."""
  source = paper or ours
  sets: dict[str, list[str]] = {}
  for row in source.values():
    for name, values in row.items():
      have = sets.setdefault(name, [])
      have += [m for m in _ORDER if m in values and m not in have]
  return [(name, sorted(ms, key=_ORDER.index)) for name, ms in sets.items()]


def format_grid(ours: Table, paper: Table, heading: str) -> str:
  """A Markdown table of `ours` then `paper` rows, `{row: {set: {metric: value}}}` each."""
  groups = columns(paper, ours)
  head = [f"{SET_NAMES.get(s, s)} {METRIC_NAMES[m]}" for s, ms in groups for m in ms]
  lines = [heading, "", "| method | " + " | ".join(head) + " |",
           "|---" * (len(head) + 1) + "|"]
  for name, row in [*ours.items(), *paper.items()]:
    cells = [_cell(row.get(s, {}).get(m)) for s, ms in groups for m in ms]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
  return _MISSING if value is None else f"{float(value):.3f}"
