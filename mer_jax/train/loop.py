"""The fold-parallel training loop: data -> folds -> train every fold -> evaluate -> report.

Folds train in groups of `config.protocol.folds_in_parallel`; inside a group
one compiled epoch function advances every fold at once. Each fold stops by
itself (see selection). A finished fold's test predictions are written to
`workdir/folds/`, a running group is checkpointed every epoch, so a killed
run resumes where it stopped and ends with the same results. results.json
also says where its numbers came from: code, versions, machine, data caches
and the wall time of each stage (train/provenance.py).
"""

from __future__ import annotations

import math
import os
import time

from absl import logging
import ml_collections
import numpy as np

from mer_jax import models, multihost
from mer_jax.data import pipeline, protocols
from mer_jax.eval import compare, report
from mer_jax.errors import ConfigError, TrainingError
from mer_jax.train import (augmentation, checkpoint, fold_plan, optim, outcomes, pretrained,
                           pretraining, provenance, run_dir, selection, sharding)
from mer_jax.train.engine import FoldEngine
from mer_jax.train.group import GroupRunner

# config.train.untrained_folds: what a fold without a trained model does to the report.
UNTRAINED_POLICIES = ("fail", "exclude")


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       data: pipeline.ExperimentData | None = None,
                       pretrain_dir: str | None = None) -> dict:
  """Runs the experiment `config` in `workdir`; returns the results dict.

  Args:
    data: the loaded `config.data`, when the caller has it (a sweep loads it once).
    pretrain_dir: where the pre-training stage keeps its work (default
      `workdir/pretrain`; a sweep's runs share one).
  """
  check_train_config(config.train)
  compare.check(config.eval.get("compare_runs", ()))
  run_dir.prepare(workdir, config.to_dict())
  imported = pretrained.load(pretrained_config(config))  # Before the data: fail early.
  pretraining.check_config(config)
  timer = provenance.StageTimer()  # wall time per stage, for results.json's provenance
  with timer.stage("data"):
    data = data or pipeline.load_experiment_data(config.data)
    plan = make_plan(config, data)
  run_dir.record(workdir, config.to_dict())  # Inputs and folds validated: the run starts.
  if pretraining.enabled(config):
    with timer.stage("pretrain"):
      imported = pretraining.run(config, imported,
                                 pretrain_dir or os.path.join(workdir, "pretrain"))
  with timer.stage("train"):
    done = train_folds(config, make_runner(config, data, plan, workdir, imported), plan,
                       workdir)
  return write_results(config, data, plan, done, workdir, stage_seconds=timer.seconds)


def make_plan(config: ml_collections.ConfigDict,
              data: pipeline.ExperimentData) -> fold_plan.FoldPlan:
  """The folds of `config.protocol` with their validation splits and class balancing."""
  folds = protocols.make_folds(config.protocol.name, data.samples, data.labels,
                               k=config.protocol.k, seed=config.seed)
  plan = fold_plan.make_fold_plan(
      data.samples, folds, selection=config.train.selection,
      val_fraction=config.train.val_fraction, seed=config.seed,
      eval_chunk=config.eval.batch_size, balance=config.train.get("balance", ""),
      class_weights=config.train.get("class_weights", ""), labels=data.labels,
      num_classes=len(data.class_names))
  logging.info("%d samples, %d classes, %d folds (%s)", len(data.samples),
               len(data.class_names), len(folds), config.protocol.name)
  return plan


def train_folds(config: ml_collections.ConfigDict, runner: GroupRunner,
                plan: fold_plan.FoldPlan, workdir: str) -> dict:
  """Trains the folds without a saved outcome, in groups; every fold's outcome by name.

  Once a group's outcomes are written its checkpoint drops the training state
  (`checkpoint.prune_finished`); the first sweep catches a run killed before it did.
  """
  done = outcomes.load_all(workdir, plan.names)
  pending = [i for i, name in enumerate(plan.names) if name not in done]
  groups = fold_plan.group_folds(pending, runner.group_size)
  print_disk_use(runner, len(plan.names))
  checkpoint.prune_finished(workdir, finished_folds(plan, done))
  for g, ids in enumerate(groups):
    for outcome in runner.run(ids, f"folds {g + 1}/{len(groups)}"):
      warn_if_diverged(outcome, config.schedule)
      outcomes.save(workdir, outcome)
      done[outcome.name] = outcome
    checkpoint.prune_finished(workdir, finished_folds(plan, done))
  return done


def finished_folds(plan: fold_plan.FoldPlan, done: dict) -> set[int]:
  """Indices of the folds whose outcome is written."""
  return {i for i, name in enumerate(plan.names) if name in done}


def print_disk_use(runner: GroupRunner, num_folds: int) -> None:
  """Prints (process 0) the most disk the run's checkpoints take, from the state's shapes."""
  training, selected = runner.checkpoint_bytes()
  groups = len(fold_plan.group_folds(list(range(num_folds)), runner.group_size))
  if multihost.is_primary():
    print(checkpoint.describe_disk_use(training, selected, groups), flush=True)


def warn_if_diverged(outcome: outcomes.FoldOutcome, schedule: ml_collections.ConfigDict) -> None:
  """A warning naming the fold when its training loss ended far above where it started."""
  if outcome.diverged:
    losses = outcome.history["train_loss"]
    logging.warning(
        "fold %s: training diverged: the training loss ended at %.3g, more than %g x its "
        "first epoch's %.3g; lower config.schedule.base_lr (now %g)", outcome.name,
        losses[-1], outcomes.DIVERGENCE_FACTOR, losses[0], schedule.get("base_lr", float("nan")))


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


def check_train_config(train: ml_collections.ConfigDict) -> None:
  """Rejects values of `config.train` that would fail deep inside the loop."""
  if train.selection not in selection.MODES:
    raise ConfigError(f"config.train.selection={train.selection!r}; expected one of "
                      f"{selection.MODES}")
  for field in ("num_epochs", "batch_size", "checkpoint_every_epochs"):
    if train[field] < 1:
      raise ConfigError(f"config.train.{field}={train[field]} must be at least 1")
  if train.patience < 0:
    raise ConfigError(f"config.train.patience={train.patience} must be >= 0")
  parts = train.get("microbatches", 1)
  if parts < 1 or train.batch_size % parts:
    raise ConfigError(f"config.train.microbatches={parts} must be >= 1 and divide "
                      f"config.train.batch_size={train.batch_size}")
  policy = train.get("untrained_folds", "fail")
  if policy not in UNTRAINED_POLICIES:
    raise ConfigError(f"config.train.untrained_folds={policy!r}; expected one of "
                      f"{UNTRAINED_POLICIES}")


def make_runner(config: ml_collections.ConfigDict, data: pipeline.ExperimentData,
                plan: fold_plan.FoldPlan, workdir: str, imported=None) -> GroupRunner:
  """Builds the model, optimiser, mesh and compiled engine.

  `imported`: pretrained variables (`pretrained.load`) to start every fold from.
  """
  batch = config.train.batch_size
  augment = augmentation.make(config.get("augment"))
  steps_per_epoch = epoch_steps(plan, augment, batch)
  model = models.get(config.model_name, num_classes=len(data.class_names), **config.model)
  tx = optim.make_optimizer(config.optim, config.schedule)
  group_size = max(1, min(config.protocol.folds_in_parallel, len(plan.folds)))
  mesh = sharding.make_mesh(group_size)
  logging.info("mesh %s; %d folds at once, %d steps per epoch", dict(mesh.shape),
               group_size, steps_per_epoch)
  example = augmentation.example_input(augment, data.inputs)
  place = placement(config, model, example, imported)
  engine = FoldEngine(model, tx, mesh, {"inputs": data.inputs, "label": data.labels},
                      batch_size=batch, steps_per_epoch=steps_per_epoch,
                      eval_chunk=config.eval.batch_size,
                      microbatches=config.train.get("microbatches", 1),
                      start_variables=place, start_tree=imported, augment=augment)
  return GroupRunner(engine, plan, config, workdir, group_size)


def epoch_steps(plan: fold_plan.FoldPlan, augment: augmentation.Augmentation,
                batch_size: int) -> int:
  """Optimiser steps in one pass over the largest fold's augmented training set.

  Every fold of a run takes this many steps an epoch (a smaller fold's extra
  steps are masked no-ops); an epoch is a pass over all augmented variants
  (MER-RCNN's "after all mini-batches are traversed": all 48 jittered variants
  of every training clip), and epoch-based schedules act per epoch (optim.py).
  """
  return math.ceil(plan.sizes["train"] * augment.copies / batch_size)


def pretrained_config(config: ml_collections.ConfigDict) -> dict | None:
  """`config.pretrained` as a dict (None for configs without the section)."""
  cfg = config.get("pretrained")
  return cfg.to_dict() if cfg is not None else None


def start_config(config: ml_collections.ConfigDict) -> dict:
  """Where the start weights go: `pretrain.into`/`skip` after a pre-training stage, else
  `pretrained.into`/`skip` (already applied to the imported file's layers)."""
  if pretraining.enabled(config):
    stage = config.pretrain
    return {"into": tuple(stage.get("into", ("spatial",))), "skip": tuple(stage.get("skip", ()))}
  cfg = pretrained_config(config)
  return {"into": tuple(cfg["into"]), "skip": ()}


def placement(config: ml_collections.ConfigDict, model, example, imported):
  """The function that puts `imported` into fresh variables, or None without an import.

  `example`: a model input of one clip (its shapes are what matter).
  """
  if imported is None:
    return None
  cfg = start_config(config)
  pretrained.check(model, example, imported, cfg)
  into, skip = cfg["into"], cfg["skip"]
  return lambda variables, start_tree: pretrained.place_variables(variables, start_tree,
                                                                 into, skip)


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
