"""Pools every fold's test predictions into results.json and the report (process 0).

The training loop (train/loop.py) and the SVM baselines (baselines/run.py)
both end here: their fold outcomes (train/outcomes.py) become one prediction
per tested clip, described by the protocol, the folds, the clips left out
and where the numbers came from (train/provenance.py), and eval/report.py
writes results.json, results.md and the figures.
"""

from __future__ import annotations

import time

import ml_collections
import numpy as np

from mer_jax import multihost
from mer_jax.data import pipeline, protocols
from mer_jax.errors import TrainingError
from mer_jax.eval import compare, report
from mer_jax.train import fold_plan, provenance


def write_results(config: ml_collections.ConfigDict, data: pipeline.ExperimentData,
                  plan: fold_plan.FoldPlan, done: dict, workdir: str,
                  selection: str | None = None,
                  stage_seconds: dict[str, float] | None = None) -> dict:
  """Pools the test predictions of every fold and writes the report (process 0).

  `selection`: how each fold's model was chosen, as the report names it
  (default `config.train.selection`). `stage_seconds`: the wall time of the
  stages before this one (train/provenance.py), to which it adds 'report'.
  """
  started = time.monotonic()
  untrained = reported_folds(config, plan, done)
  preds = np.full(len(data.samples), -1, np.int64)
  fold_of = [""] * len(data.samples)
  for fold in plan.folds:
    o = done[fold.name]
    if not o.trained:
      continue  # Left out, with a note in every table (reported_folds).
    preds[o.test_indices] = o.predictions
    for i in o.test_indices:
      fold_of[i] = fold.name
  multihost.check_same(preds, "the test predictions")
  tested = preds >= 0  # Every protocol tests each sample once; keep it honest anyway.
  folds = protocols.describe_folds(data.samples, plan.folds)
  for info, train, monitor in zip(folds, plan.train, plan.monitor):
    # n_fit counts distinct clips; a balanced list repeats some (n_fit_with_repeats).
    info.update(n_fit=len(np.unique(train)), n_fit_with_repeats=len(train),
                n_monitor=len(monitor),
                monitor_subjects=sorted({protocols.subject_id(data.samples[i]) for i in monitor}),
                **done[info["name"]].summary())
  protocol = {"name": config.protocol.name, "label_scheme": config.data.label_scheme,
              "num_folds": len(plan.folds),
              "selection": selection or config.train.selection,
              "datasets": list(config.data.datasets)}
  if data.coverage is not None:  # a published protocol's manifest (data/manifests.py)
    protocol["clips"] = data.coverage
  if untrained:
    protocol["untrained_folds"] = untrained
  diverged = [name for name in plan.names if done[name].diverged]
  if diverged:
    protocol["diverged_folds"] = diverged
  idx = np.flatnonzero(tested)
  results = report.build_results(
      config=config.to_dict(), protocol=protocol, class_names=data.class_names,
      samples=[data.samples[i] for i in idx], labels=data.labels[idx], preds=preds[idx],
      fold_names=[fold_of[i] for i in idx], folds=folds)
  results["excluded"] = [{"sample": e.key, "reason": e.reason, "repaired": e.repaired}
                         for e in data.excluded]
  results["face_stages"] = report.face_stages(data.samples)
  results["provenance"] = provenance.gather(
      data.caches, {**(stage_seconds or {}), "report": time.monotonic() - started})
  if multihost.is_primary():
    history = {name: o.history for name, o in done.items()}
    grid = config.eval.get("paper_table")
    table = report.write_report(workdir, results, paper_rows=config.eval.paper_rows.to_dict(),
                                history=history,
                                fold_mean_row=config.eval.get("fold_mean_row", False),
                                paper_table=grid.to_dict() if grid else None,
                                row_name=config.eval.get("row_name", "") or "ours",
                                others=compare.load(config.eval.get("compare_runs", ())))
    print(table, flush=True)
    if data.excluded:
      repaired = sum(e.repaired for e in data.excluded)
      print(f"{len(data.excluded) - repaired} samples left out and {repaired} repaired; "
            f"the reasons are under 'excluded' in {workdir}/results.json", flush=True)
  return results


def reported_folds(config: ml_collections.ConfigDict, plan: fold_plan.FoldPlan,
                   done: dict) -> list[str]:
  """Names of the folds that have no trained model; a TrainingError unless they may be left out.

  `config.train.untrained_folds`: 'fail' (the default) stops with the folds'
  names; 'exclude' reports the other folds, with a note in every table.
  """
  untrained = [name for name in plan.names if not done[name].trained]
  train = config.get("train") or {}  # The SVM baselines have no training section.
  policy = train.get("untrained_folds", "fail")
  if untrained and (policy == "fail" or len(untrained) == len(plan.names)):
    shown = ", ".join(untrained[:5]) + (", ..." if len(untrained) > 5 else "")
    nan = sum(done[name].nan_epoch == 0 for name in untrained)
    raise TrainingError(
        f"{len(untrained)} of {len(plan.names)} folds have no trained model ({shown}): "
        f"{nan} of them had a non-finite training loss from the first epoch, so they hold "
        "their untrained initial weights; lower config.schedule.base_lr in a new "
        "--workdir"
        + ("" if len(untrained) == len(plan.names) else
           ", or report the other folds with --config.train.untrained_folds=exclude (the "
           "same command resumes; nothing is trained again)"))
  return untrained
