"""The run's report: results.json, a Markdown table beside the paper, plots.

Everything here works on pooled predictions (one per test sample, over all
folds) and plain dicts, so the trainer only hands over labels, predictions
and fold bookkeeping. Files are written atomically (temp file + os.replace)
so a killed run never leaves a half-written results.json behind.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Mapping, Sequence

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
import numpy as np

from mer_jax.atomic_write import write_atomic
from mer_jax.data.sample import Sample
from mer_jax.eval import compare, metrics
from mer_jax.eval import paper_table as paper_table_lib

_METRIC_KEYS = ("uf1", "uar", "accuracy")
_MISSING = "–"
_LEGACY_KEY = "legacy_elrcn_f1"
_ORACLE_WARNING = (
    "> **WARNING: oracle model selection.** The epoch/model was chosen on the "
    "TEST subjects, so these numbers are NOT leak-free; they only reproduce the "
    "published protocol and must not be reported as generalisation results.")


def to_jsonable(value: Any) -> Any:
  """Converts numpy scalars/arrays and tuples inside `value` to JSON types."""
  if isinstance(value, Mapping):
    return {str(k): to_jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return to_jsonable(value.tolist())
  if isinstance(value, np.generic):
    return value.item()
  return value


def _check_lengths(samples: Sequence[Sample], labels: Sequence[int],
                   preds: Sequence[int], fold_names: Sequence[str]) -> None:
  n = len(samples)
  if not len(labels) == len(preds) == len(fold_names) == n:
    raise ValueError(
        f"build_results needs one label, prediction and fold name per sample: got "
        f"{n} samples, {len(labels)} labels, {len(preds)} preds, "
        f"{len(fold_names)} fold names")


def _prediction_rows(samples: Sequence[Sample], labels: Sequence[int],
                     preds: Sequence[int], fold_names: Sequence[str],
                     class_names: Sequence[str]) -> list[dict]:
  return [{"dataset": s.dataset, "subject": s.subject, "clip": s.clip,
           "label": class_names[int(y)], "pred": class_names[int(p)],
           "fold": str(f), **({"face": s.face_stage} if s.face_stage else {})}
          for s, y, p, f in zip(samples, labels, preds, fold_names)]


def face_stages(samples: Sequence[Sample]) -> dict[str, dict[str, int]]:
  """How the face step found the faces: {dataset: {stage: clips}} (data/faces.py)."""
  out: dict[str, dict[str, int]] = {}
  for s in samples:
    if s.face_stage:
      stages = out.setdefault(s.dataset, {})
      stages[s.face_stage] = stages.get(s.face_stage, 0) + 1
  return {d: dict(sorted(c.items())) for d, c in sorted(out.items())}


def coverage_note(protocol: Mapping[str, Any]) -> str | None:
  """'N of M clips' of a published protocol the run does not cover whole, else None."""
  cov = protocol.get("clips")
  if not cov or (cov["clips"] == cov["expected_clips"] and not cov.get("other_clips")
                 and cov["subjects"] == cov["expected_subjects"]):
    return None
  short = [f"{name} {d['clips']} of {d['expected_clips']}"
           for name, d in cov["per_dataset"].items() if d["clips"] != d["expected_clips"]]
  return (f"> **{cov['clips']} of {cov['expected_clips']} clips** ({cov['subjects']} of "
          f"{cov['expected_subjects']} subjects) of the {cov['title']} "
          f"(`{cov['manifest']}`){': ' + ', '.join(short) if short else ''}. "
          "The run was allowed to go on with clips missing (`data.allow_missing`), so it is "
          "not the published protocol and the paper's rows below are not directly comparable; "
          "the reasons are under 'excluded' in results.json.")


def fold_notes(protocol: Mapping[str, Any]) -> list[str]:
  """Notes on folds without a trained model (left out) and folds whose training diverged."""
  notes = []
  untrained = protocol.get("untrained_folds") or []
  if untrained:
    notes.append(
        f"> **{len(untrained)} of {protocol.get('num_folds', '?')} folds have no trained "
        f"model** ({', '.join(untrained)}): their training loss was not finite from the first "
        "epoch, and their test clips are left out of every row below "
        "(`train.untrained_folds='exclude'`).")
  diverged = protocol.get("diverged_folds") or []
  if diverged:
    notes.append(
        f"> **Training diverged in {len(diverged)} folds** ({', '.join(diverged)}): the "
        "training loss ended far above its first epoch's; their predictions are in the rows "
        "below, but the learning rate (`schedule.base_lr`) is likely too high.")
  return notes


def build_results(*, config: dict, protocol: dict, class_names: Sequence[str],
                  samples: Sequence[Sample], labels: np.ndarray, preds: np.ndarray,
                  fold_names: Sequence[str], folds: list[dict]) -> dict:
  """Collects everything a run reports into one JSON-serialisable dict.

  Args:
    config: the resolved experiment config (plain dict).
    protocol: e.g. {'name': 'loso', 'label_scheme': 'three_class',
      'num_folds': 12, 'selection': 'val_loss'}.
    class_names: name of each class index.
    samples: the test sample behind each prediction.
    labels: true class index per sample.
    preds: predicted class index per sample (pooled over folds).
    fold_names: the fold each sample was tested in.
    folds: per-fold entries (see `protocols.describe_folds`).

  Returns:
    {'config', 'protocol', 'class_names', 'metrics', 'per_dataset',
    'fold_mean', 'confusion_matrix', 'folds', 'predictions'}; 'metrics' pools
    the predictions of all folds, 'fold_mean' averages per-fold metrics.
  """
  _check_lengths(samples, labels, preds, fold_names)
  n = len(class_names)
  overall = metrics.summarize(labels, preds, n)
  overall["legacy_elrcn_f1"] = metrics.legacy_elrcn_f1(labels, preds, n)
  return to_jsonable({
      "config": config,
      "protocol": protocol,
      "class_names": list(class_names),
      "metrics": overall,
      "per_dataset": metrics.per_dataset([s.dataset for s in samples], labels,
                                         preds, n),
      "fold_mean": metrics.mean_over_folds(fold_names, labels, preds, n),
      "confusion_matrix": metrics.confusion_matrix(labels, preds, n),
      "folds": folds,
      "predictions": _prediction_rows(samples, labels, preds, fold_names,
                                      class_names),
  })


def _format_number(value: Any) -> str:
  if value is None:
    return _MISSING
  if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
    return str(value)
  return f"{float(value):.4f}"


def _table_row(name: str, row: Mapping[str, Any], keys: Sequence[str]) -> str:
  cells = [_format_number(row.get(k)) for k in (*keys, "n")]
  return f"| {name} | " + " | ".join(cells) + " |"


def leak_warning(folds: Sequence[Mapping[str, Any]]) -> str | None:
  """A warning when test subjects also trained (a sample-wise split), else None."""
  leaky = [f for f in folds if f.get("shared_subjects", 0)]
  if not leaky:
    return None
  return (f"> **Not subject-independent.** In {len(leaky)} of {len(folds)} folds, subjects of "
          "the test set also have clips in the training set (a sample-wise split), so a "
          "model can recognise the person rather than the expression; these numbers overstate "
          "how it does on people it has not seen. Use a subject-independent protocol "
          "(`subject_kfold`, `loso`) for that.")


def _heading(protocol: Mapping[str, Any]) -> str:
  parts = [f"protocol `{protocol.get('name', '?')}`"]
  for key, label in (("label_scheme", "labels"), ("num_folds", "folds"),
                     ("selection", "selection")):
    if key in protocol:
      parts.append(f"{label}: `{protocol[key]}`")
  return "### Results — " + ", ".join(parts)


def format_table(results: Mapping[str, Any],
                 paper_rows: Mapping[str, Mapping[str, float]] | None = None,
                 fold_mean_row: bool = False) -> str:
  """Markdown table: one row per dataset, an 'all' row, then the paper's rows.

  Args:
    results: the dict from `build_results` (or its JSON round trip).
    paper_rows: optional {row name: {'uf1', 'uar', 'accuracy'}}; missing
      keys show as '–'. A paper row with 'legacy_elrcn_f1' (ELRCN's "F1",
      which is not UF1) adds that column to the table; one with a 'note'
      (what to know about the printed numbers) gets it in a line under the table.
    fold_mean_row: add the metrics averaged over folds (HDE reports these).

  Returns:
    The heading line, the oracle warning when selection == 'oracle', the
    leak warning when test subjects also trained (`leak_warning`), 'N of M
    clips' when a published protocol is not covered whole (`coverage_note`),
    notes on untrained or diverged folds (`fold_notes`), and the
    table (UF1, UAR, accuracy, [legacy F1,] n), as one string.
  """
  protocol = results.get("protocol", {})
  keys = list(_METRIC_KEYS)
  if any(_LEGACY_KEY in row for row in (paper_rows or {}).values()):
    keys.append(_LEGACY_KEY)
  counts: dict[str, int] = {}
  for row in results["predictions"]:
    counts[row["dataset"]] = counts.get(row["dataset"], 0) + 1
  lines = [_heading(protocol), ""]
  if protocol.get("selection") == "oracle":
    lines += [_ORACLE_WARNING, ""]
  leak = leak_warning(results.get("folds", []))
  if leak:
    lines += [leak, ""]
  shortfall = coverage_note(protocol)
  if shortfall:
    lines += [shortfall, ""]
  for note in fold_notes(protocol):
    lines += [note, ""]
  headers = {"uf1": "UF1", "uar": "UAR", "accuracy": "accuracy",
             _LEGACY_KEY: "legacy ELRCN F1"}
  lines += ["| row | " + " | ".join(headers[k] for k in keys) + " | n |",
            "|---" * (len(keys) + 2) + "|"]
  for name, row in results["per_dataset"].items():
    lines.append(_table_row(name, {**row, "n": counts.get(name, 0)}, keys))
  n = len(results["predictions"])
  lines.append(_table_row("**all**", {**results["metrics"], "n": n}, keys))
  if fold_mean_row:
    lines.append(_table_row("**mean of folds**", {**results["fold_mean"], "n": n}, keys))
  for name, row in (paper_rows or {}).items():
    lines.append(_table_row(name, row, keys))
  notes = [f"> *{name}*: {row['note']}" for name, row in (paper_rows or {}).items()
           if row.get("note")]
  if notes:
    lines += [""] + notes
  return "\n".join(lines) + "\n"


def format_confusion(confusion: Sequence[Sequence[int]],
                     class_names: Sequence[str]) -> str:
  """The confusion matrix as a Markdown table (rows: true, columns: predicted)."""
  lines = ["| true \\ pred | " + " | ".join(class_names) + " |",
           "|---" * (len(class_names) + 1) + "|"]
  for name, row in zip(class_names, confusion):
    lines.append(f"| {name} | " + " | ".join(str(int(c)) for c in row) + " |")
  return "\n".join(lines) + "\n"


def _save_figure(fig: Figure, path: str) -> None:
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
  write_atomic(path, buf.getvalue())


def _annotate_cells(ax: Axes, counts: np.ndarray, normalised: np.ndarray) -> None:
  for (i, j), count in np.ndenumerate(counts):
    colour = "white" if normalised[i, j] > 0.5 else "black"
    ax.text(j, i, f"{count}\n{normalised[i, j]:.0%}", ha="center", va="center",
            color=colour, fontsize=9)


def plot_confusion(confusion: Sequence[Sequence[int]] | np.ndarray,
                   class_names: Sequence[str], path: str,
                   title: str = "Confusion matrix (pooled over folds)") -> None:
  """Saves a confusion-matrix PNG: counts in the cells, row-normalised colours.

  Args:
    confusion: [C, C] counts, rows = true class.
    class_names: the C class names.
    path: output .png path.
    title: figure title.
  """
  counts = np.asarray(confusion, dtype=np.int64)
  totals = counts.sum(axis=1, keepdims=True)
  normalised = counts / np.maximum(totals, 1)  # a class with no sample stays 0
  size = 2.0 + 0.9 * len(class_names)
  fig = Figure(figsize=(size + 1.5, size))
  ax = fig.add_subplot()
  image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
  fig.colorbar(image, ax=ax, label="fraction of the true class (row)")
  _annotate_cells(ax, counts, normalised)
  ticks = np.arange(len(class_names))
  ax.set_xticks(ticks, class_names, rotation=45, ha="right")
  ax.set_yticks(ticks, [f"{c} (n={t})" for c, t in zip(class_names, totals[:, 0])])
  ax.set_xlabel("predicted class")
  ax.set_ylabel("true class")
  ax.set_title(title)
  _save_figure(fig, path)


def _metric_names(history: Mapping[str, Mapping[str, Sequence[float]]]) -> list[str]:
  names: list[str] = []
  for curves in history.values():
    names += [m for m in curves if m not in names]
  return names


def _plot_mean(ax: Axes, curves: list[Sequence[float]]) -> None:
  """Mean over the folds still running at each epoch (early stopping ends some)."""
  length = max(len(c) for c in curves)
  padded = np.full((len(curves), length), np.nan)
  for i, c in enumerate(curves):
    padded[i, :len(c)] = c
  ax.plot(np.arange(1, length + 1), np.nanmean(padded, axis=0), color="black",
          linewidth=2.2, label="mean over folds")


def _plot_metric(ax: Axes, metric: str,
                 history: Mapping[str, Mapping[str, Sequence[float]]],
                 colours: Sequence[tuple[float, ...]]) -> None:
  curves = []
  for colour, (fold, fold_curves) in zip(colours, history.items()):
    values = fold_curves.get(metric)
    # A metric that was never measured (no monitor set under 'last') is all NaN.
    if values is not None and np.isfinite(np.asarray(values, float)).any():
      ax.plot(np.arange(1, len(values) + 1), values, color=colour, linewidth=0.9,
              alpha=0.6, label=fold)
      curves.append(values)
  if curves:
    _plot_mean(ax, curves)
  ax.set_title(metric)
  ax.set_xlabel("epoch")
  ax.grid(alpha=0.3)


def plot_learning_curves(history: Mapping[str, Mapping[str, Sequence[float]]],
                         path: str) -> None:
  """Saves learning curves: one panel per metric, one thin line per fold.

  A thick black line gives the mean over folds, which stays readable with
  many folds (e.g. 26 LOSO subjects); the fold legend sits outside the axes.

  Args:
    history: {fold_name: {'train_loss': [...], 'val_loss': [...], ...}}.
    path: output .png path.
  """
  names = _metric_names(history) or ["(no metrics)"]
  ncols = min(len(names), 3)
  nrows = -(-len(names) // ncols)
  fig = Figure(figsize=(4.5 * ncols + 2.5, 4.0 * nrows))
  axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
  cmap = _colour_map(len(history))
  for ax, metric in zip(axes, names):
    _plot_metric(ax, metric, history, cmap)
  for ax in axes[len(names):]:
    ax.set_visible(False)
  handles, labels = axes[0].get_legend_handles_labels()
  fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
             fontsize=7 if len(history) > 12 else 9,
             ncol=1 + len(history) // 20, frameon=False)
  fig.suptitle(f"Learning curves ({len(history)} folds)")
  fig.tight_layout()
  _save_figure(fig, path)


def _colour_map(n: int) -> list[tuple[float, ...]]:
  # 'turbo' keeps 26+ folds distinguishable; the default cycle repeats after 10.
  return [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, max(n, 1))]


def write_report(workdir: str, results: dict,
                 paper_rows: Mapping[str, Mapping[str, float]] | None = None,
                 history: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                 fold_mean_row: bool = False, paper_table: paper_table_lib.Table | None = None,
                 row_name: str = "ours", others: Mapping[str, Mapping] | None = None) -> str:
  """Writes results.json, results.md, confusion.png and learning_curves.png.

  Args:
    workdir: output directory (created if missing).
    results: the dict from `build_results`.
    paper_rows: the paper's numbers for `format_table`.
    fold_mean_row: add the mean-of-folds row to the table (`format_table`).
    history: per-fold training curves; learning_curves.png only if given.
    paper_table: a paper's table `{row: {set: {metric: value}}}`
      (eval/paper_table.py); when given, our row `row_name` is printed beside
      it, in its layout, after the main table.
    row_name: our row's name in those grids.
    others: other runs' results by row name (eval/compare.py), shown beside ours.

  Returns:
    The Markdown table text.
  """
  os.makedirs(workdir, exist_ok=True)
  results = to_jsonable(results)
  write_atomic(os.path.join(workdir, "results.json"),
               json.dumps(results, indent=2).encode("utf-8"))
  table = format_table(results, paper_rows, fold_mean_row)
  if paper_table:
    table += "\n" + paper_table_lib.format_grid(
        {row_name: paper_table_lib.our_row(results)}, paper_table,
        "### Beside the paper's table")
  if others:
    table += "\n" + compare.format_comparison(results, others, row_name)
  markdown = (table + "\n### Confusion matrix (rows: true class)\n\n"
              + format_confusion(results["confusion_matrix"], results["class_names"]))
  write_atomic(os.path.join(workdir, "results.md"), markdown.encode("utf-8"))
  protocol = results.get("protocol", {})
  title = f"Confusion matrix, {protocol.get('name', '?')} (pooled over folds)"
  if protocol.get("selection") == "oracle":
    title += "\nORACLE selection on test subjects: NOT leak-free"
  plot_confusion(results["confusion_matrix"], results["class_names"],
                 os.path.join(workdir, "confusion.png"), title=title)
  if history:
    plot_learning_curves(history, os.path.join(workdir, "learning_curves.png"))
  return table
