"""The fold-parallel training loop, top to bottom: data -> folds -> groups -> epochs -> outcomes.

`train_and_evaluate` loads the data, makes the fold plan, compiles the fold
functions once (fold_fns.py), and trains the folds in groups of
`config.protocol.folds_in_parallel`: in `train_group` one compiled epoch
advances every fold of the group at once, each fold stops by itself
(selection.py), the group's `GroupState` is checkpointed, and the selected
models are tested. A finished fold's test logits go to `workdir/folds/`
(outcomes.py), so a killed run resumes where it stopped and ends with the
same results; eval/results.py pools them into the report.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Mapping

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tqdm

from mer_jax import models, multihost
from mer_jax.data import pipeline, protocols
from mer_jax.errors import ConfigError
from mer_jax.train import (augmentation, checkpoint, fold_fns, fold_plan, fold_strategy,
                           optim, outcomes, pretrained, pretraining, provenance, run_dir,
                           selection, sharding)
from mer_jax.train.checkpoint import GroupCheckpointer
from mer_jax.train.metric_writer import MetricWriter, fold_tags
from mer_jax.train.outcomes import FoldOutcome
from mer_jax.train.plateau import FoldPlateau
from mer_jax.train.selection import FoldSelection
from mer_jax.train.state import TrainState

# config.train.untrained_folds: what a fold without a trained model does to the report.
UNTRAINED_POLICIES = ("fail", "exclude")
HISTORY_KEYS = ("train_loss", "train_accuracy", "monitor_loss")
# TensorBoard's name of the monitored loss, by `config.train.selection` ('last' has none).
MONITOR_TAGS = {"val_loss": "val_loss", "oracle": "test_loss"}


@dataclasses.dataclass(frozen=True)
class TrainedFolds:
  """What `train_and_evaluate` hands to the report (eval/results.py)."""

  data: pipeline.ExperimentData
  plan: fold_plan.FoldPlan
  outcomes: dict[str, FoldOutcome]  # by fold name
  stage_seconds: dict[str, float]   # wall time per stage, for results.json's provenance


@dataclasses.dataclass(frozen=True)
class EpochSettings:
  """What the epoch loop reads of a config; the pre-training stage makes its own."""

  seed: int
  num_epochs: int
  steps_per_epoch: int
  selection: str               # selection.MODES
  patience: int
  checkpoint_every_epochs: int
  schedule: Mapping[str, Any]  # config.schedule (optim.py)
  progress_bar: bool

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict, steps_per_epoch: int
                  ) -> "EpochSettings":
    train = config.train
    return cls(seed=config.seed, num_epochs=train.num_epochs, steps_per_epoch=steps_per_epoch,
               selection=train.selection, patience=train.patience,
               checkpoint_every_epochs=train.checkpoint_every_epochs,
               schedule=config.schedule, progress_bar=train.progress_bar)


@dataclasses.dataclass
class GroupState:
  """Where the training of one fold group stands; saved as a checkpoint, restored on resume."""

  states: TrainState | None  # [F, ...] with optimiser state; None once a finished group is pruned
  best: TrainState           # [F, ...] the selected models (no optimiser state)
  selection: FoldSelection
  plateau: FoldPlateau
  history: dict[str, np.ndarray]  # HISTORY_KEYS -> [num_epochs, F], NaN where not trained
  epoch: int                      # the last epoch done, -1 before the first
  lr_scale: np.ndarray | None = None  # the multiplier `states` carry, once set (not saved)

  def as_tree(self) -> dict[str, Any]:
    """The checkpoint's tree (without 'states' once pruned)."""
    tree = {"states": self.states, "best": self.best, "selection": self.selection.as_dict(),
            "plateau": self.plateau.as_dict(), "history": self.history,
            "epoch": np.asarray(self.epoch, np.int32)}
    return tree if self.states is not None else {k: v for k, v in tree.items() if k != "states"}

  @classmethod
  def from_tree(cls, tree: Mapping[str, Any]) -> "GroupState":
    host = lambda d: {k: np.asarray(v) for k, v in d.items()}  # noqa: E731
    return cls(states=tree.get("states"), best=tree["best"],
               selection=FoldSelection(**host(tree["selection"])),
               plateau=FoldPlateau(**host(tree["plateau"])), history=host(tree["history"]),
               epoch=int(tree["epoch"]))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       data: pipeline.ExperimentData | None = None,
                       pretrain_dir: str | None = None) -> TrainedFolds:
  """Trains every fold of `config` in `workdir` and tests its selected model.

  Args:
    data: the loaded `config.data`, when the caller has it (a sweep loads it once).
    pretrain_dir: where the pre-training stage keeps its work (default
      `workdir/pretrain`; a sweep's runs share one).
  """
  check_train_config(config.train)
  fold_strategy.check(config.protocol.get("fold_strategy", "auto"))
  run_dir.prepare(workdir, config.to_dict())
  imported = pretrained.load(pretrained_config(config))  # Before the data: fail early.
  pretraining.check_config(config)
  timer = provenance.StageTimer()
  with timer.stage("data"):
    data = data or pipeline.load_experiment_data(config.data)
    plan = make_plan(config, data)
  run_dir.record(workdir, config.to_dict())  # Inputs and folds validated: the run starts.
  if pretraining.enabled(config):
    with timer.stage("pretrain"):
      imported = pretrain(config, imported, pretrain_dir or os.path.join(workdir, "pretrain"))
  with timer.stage("train"):
    fns, settings, group_size = compile_fold_fns(config, data, plan, imported)
    done = outcomes.load_all(workdir, plan.names)
    pending = [i for i, name in enumerate(plan.names) if name not in done]
    groups = fold_plan.group_folds(pending, group_size)
    print_disk_use(fns, settings.seed, group_size, len(plan.names))
    checkpoint.prune_finished(workdir, finished_folds(plan, done))  # a run killed before it did
    writer = MetricWriter(workdir, config=config.to_dict())
    for g, ids in enumerate(groups):
      for outcome in train_group(fns, plan, ids, settings, workdir, writer,
                                 f"folds {g + 1}/{len(groups)}"):
        warn_if_diverged(outcome, config.schedule)
        outcomes.save(workdir, outcome)
        done[outcome.name] = outcome
      # The group's outcomes are written: its checkpoint drops the training state.
      checkpoint.prune_finished(workdir, finished_folds(plan, done))
    writer.close()
  return TrainedFolds(data, plan, done, timer.seconds)


def pretrain(config: ml_collections.ConfigDict, imported: pretrained.Variables | None,
             directory: str) -> pretrained.Variables:
  """Runs the pre-training stage once in `directory` (train/pretraining.py); what it learnt."""
  pretraining.check_config(config)
  os.makedirs(directory, exist_ok=True)
  if not os.path.exists(os.path.join(directory, pretraining.SUMMARY)):
    cfg, stage = config.pretrain, pretraining.prepare(config, imported)
    fns = fold_fns.make_fold_fns(
        stage.model, optim.make_optimizer(cfg.optim, cfg.schedule), sharding.make_mesh(1),
        {"inputs": stage.inputs, "label": stage.labels}, batch_size=cfg.batch_size,
        steps_per_epoch=stage.steps_per_epoch, eval_chunk=stage.eval_chunk, start=stage.start,
        augment=stage.augment)
    settings = EpochSettings(seed=config.seed, num_epochs=cfg.num_epochs,
                             steps_per_epoch=stage.steps_per_epoch, selection="last",
                             patience=0, checkpoint_every_epochs=1, schedule=cfg.schedule,
                             progress_bar=config.train.progress_bar)
    writer = MetricWriter(directory, config=cfg.to_dict())
    outcome, = train_group(fns, stage.plan, [0], settings, directory, writer, "pre-training")
    writer.close()
    pretraining.write_summary(directory, stage, outcome)
  return pretraining.learnt(config, directory)


def train_group(fns: fold_fns.FoldFns, plan: fold_plan.FoldPlan, ids: list[int],
                settings: EpochSettings, directory: str, writer: MetricWriter,
                label: str = "folds") -> list[FoldOutcome]:
  """Trains the group of fold indices `ids` (-1 = padding); tests its selected models.

  Resumes from the group's checkpoint under `directory`; `label` names the
  group on the progress bar.
  """
  arrays = fns.put(plan.group_arrays(ids))
  names = [plan.names[i] if i >= 0 else "<padding>" for i in ids]
  ckpt = GroupCheckpointer(checkpoint.group_dir(directory, ids))
  group = restore(ckpt, start_group(fns, settings, ids))
  tags = fold_tags(plan.folds)  # each fold's TensorBoard name, by its test subjects
  if group.states is not None:  # else a finished group whose checkpoint was pruned
    start = group.epoch + 1
    bar = tqdm.trange(start, settings.num_epochs, initial=start, total=settings.num_epochs,
                      desc=label, unit="epoch", leave=False,
                      disable=not (settings.progress_bar and multihost.is_primary()))
    for epoch in bar:
      if not group.selection.active.any():
        break
      group, metrics = train_epoch(fns, group, arrays, ids, names, epoch, settings)
      record(writer, tags, group, epoch, ids, metrics, settings)
      bar.set_postfix(active=int(group.selection.active.sum()),
                      loss=f"{np.mean(metrics['loss'][metrics['active']]):.3f}")
      save(ckpt, group, settings)
  ckpt.close()
  _, logits = evaluate(fns, group.best, arrays["test"], arrays["n_test"])
  return fold_outcomes(plan, group, logits, ids, names)


def train_epoch(fns: fold_fns.FoldFns, group: GroupState, arrays: Mapping[str, jax.Array],
                ids: list[int], names: list[str], epoch: int, settings: EpochSettings
                ) -> tuple[GroupState, dict[str, np.ndarray]]:
  """One epoch of every active fold: learning rate, steps, monitor, selection, plateau.

  Returns the new state and the epoch's per-fold [F] 'loss', 'accuracy',
  'monitor' (None under selection 'last'), 'lr' (the rate the epoch used) and
  'active' (the folds it trained: selection may stop some of them after it).
  """
  sel, plateau, schedule = group.selection, group.plateau, settings.schedule
  active = sel.active.copy()
  states, scale = group.states, group.lr_scale
  if optim.is_scaled(schedule):
    wanted = plateau.scale * np.float32(optim.epoch_scale(schedule, epoch))
    if scale is None or not np.array_equal(wanted, scale):
      states = fns.set_lr_scale(states, fns.put(np.asarray(wanted, np.float32)))
      scale = wanted
  lr = optim.learning_rate(schedule, multihost.to_host(states.step),
                           1.0 if scale is None else scale)
  states, m = train_steps(fns, states, arrays, fns.put(fold_keys(settings.seed, ids, 1, epoch)),
                          active, settings.steps_per_epoch)
  monitor = None
  if settings.selection != "last":
    monitor, _ = evaluate(fns, states, arrays["monitor"], arrays["n_monitor"])
  improved = sel.update(epoch, m["loss"], monitor, mode=settings.selection,
                        patience=settings.patience, names=names)
  best = fns.select_best(fns.put(np.asarray(improved)), states, group.best)
  if schedule.get("plateau"):
    plateau.update(monitor if monitor is not None else m["loss"], active, schedule.get("plateau"))
  logging.log_every_n_seconds(
      logging.INFO, "epoch %d: %d folds active, mean train loss %.4f, monitor loss %s",
      30, epoch, active.sum(), np.mean(m["loss"][active]),
      "-" if monitor is None else f"{np.mean(monitor[active]):.4f}")
  group = dataclasses.replace(group, states=states, best=best, epoch=epoch, lr_scale=scale)
  return group, {**m, "monitor": monitor, "lr": lr, "active": active}


def train_steps(fns: fold_fns.FoldFns, states: TrainState, arrays: Mapping[str, jax.Array],
                keys: jax.Array, active: np.ndarray, steps_per_epoch: int
                ) -> tuple[TrainState, dict[str, np.ndarray]]:
  """An epoch's optimiser steps for every fold; per-fold [F] mean 'loss' and 'accuracy'.

  The epoch runs as `steps_per_epoch / fns.steps_per_call` compiled calls (one
  on accelerators; one per step on the CPU, see `steps.steps_per_call`).
  """
  fold = {k: arrays[k] for k in ("train", "n_train", "train_weight", "loss_weight")
          if k in arrays}
  folded, m = {"fold": fold, "key": keys, "active": fns.put(np.asarray(active))}, None
  for first in range(0, steps_per_epoch, fns.steps_per_call):
    states, part = fns.train_steps(states, folded, first)
    m = part if m is None else jax.tree.map(jnp.add, m, part)
  m = multihost.to_host(m)
  count = np.maximum(m["count"], 1.0)
  return states, {"loss": m["loss_sum"] / count, "accuracy": m["correct"] / count}


def evaluate(fns: fold_fns.FoldFns, states: TrainState, idx: jax.Array, n: jax.Array
             ) -> tuple[np.ndarray, np.ndarray]:
  """Per-fold mean loss [F] and logits [F, M, C] on the index sets `idx` [F, M] (`n` [F] real)."""
  loss, logits = fns.evaluate(states, {"idx": idx, "n": n})
  return multihost.to_host(loss), multihost.to_host(logits)


def start_group(fns: fold_fns.FoldFns, settings: EpochSettings, ids: list[int]) -> GroupState:
  """A fresh group: initialised states, their models as the first selection, no epoch done."""
  states = fns.init(fns.put(fold_keys(settings.seed, ids, 0)))
  return GroupState(
      states=states, best=fns.copy_models(states),
      selection=FoldSelection.create(np.asarray(ids) >= 0), plateau=FoldPlateau.create(len(ids)),
      history={k: np.full((settings.num_epochs, len(ids)), np.nan, np.float32)
               for k in HISTORY_KEYS},
      epoch=-1)


def restore(ckpt: GroupCheckpointer, fresh: GroupState) -> GroupState:
  """The group's newest checkpoint (shaped and sharded like `fresh`), or `fresh` without one."""
  if ckpt.latest_epoch() is None:
    return fresh
  return GroupState.from_tree(ckpt.restore(fresh.as_tree()))


def save(ckpt: GroupCheckpointer, group: GroupState, settings: EpochSettings) -> None:
  """Checkpoints the group every `checkpoint_every_epochs` and after its last epoch."""
  last = group.epoch == settings.num_epochs - 1 or not group.selection.active.any()
  if (group.epoch + 1) % settings.checkpoint_every_epochs == 0 or last:
    # Copies of the host arrays: the loop mutates them while orbax writes.
    ckpt.save(group.epoch, jax.tree.map(
        lambda x: np.copy(x) if isinstance(x, np.ndarray) else x, group.as_tree()))


def record(writer: MetricWriter, tags: list[str], group: GroupState, epoch: int,
           ids: list[int], m: Mapping[str, Any], settings: EpochSettings) -> None:
  """Stores the epoch's per-fold figures (`train_epoch`'s) of the folds it trained in the
  history; writes them and the rate as scalars."""
  active = m["active"]
  monitor = m["monitor"] if m["monitor"] is not None else np.full(len(ids), np.nan)
  values = {"train_loss": m["loss"], "train_accuracy": m["accuracy"], "monitor_loss": monitor}
  for key, v in values.items():
    group.history[key][epoch] = np.where(active, v, np.nan)
  shown = {"train_loss": m["loss"], "train_accuracy": m["accuracy"], "lr": m["lr"],
           MONITOR_TAGS.get(settings.selection, "monitor_loss"): monitor}
  writer.write_scalars(epoch, {
      f"{tags[i]}/{key}": float(v[f]) for key, v in shown.items()
      for f, i in enumerate(ids) if i >= 0 and active[f] and np.isfinite(v[f])})


def fold_outcomes(plan: fold_plan.FoldPlan, group: GroupState, logits: np.ndarray,
                  ids: list[int], names: list[str]) -> list[FoldOutcome]:
  """Each real fold's test logits, selected epoch and learning curves."""
  out = []
  for f, i in enumerate(ids):
    if i < 0:
      continue
    n = len(plan.folds[i].test)
    trained = np.isfinite(group.history["train_loss"][:, f])
    out.append(FoldOutcome(
        name=names[f], test_indices=plan.folds[i].test.tolist(),
        logits=logits[f, :n].tolist(), best_epoch=int(group.selection.best_epoch[f]),
        epochs_trained=int(trained.sum()), nan_epoch=int(group.selection.nan_epoch[f]),
        history={k: [float(x) for x in v[:, f][trained]] for k, v in group.history.items()}))
  return out


def fold_keys(seed: int, ids: list[int], *path: int) -> jax.Array:
  """One key per fold: key(seed) folded with the fold index, then `path`.

  Random numbers depend only on (seed, fold index, epoch), never on the group
  a fold lands in, so a fold's result does not depend on `folds_in_parallel`.
  """
  def derive(i):
    k = jax.random.fold_in(jax.random.key(seed), i)
    for p in path:
      k = jax.random.fold_in(k, p)
    return k
  return jax.vmap(derive)(np.maximum(np.asarray(ids), 0))


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


def compile_fold_fns(config: ml_collections.ConfigDict, data: pipeline.ExperimentData,
                     plan: fold_plan.FoldPlan, imported: pretrained.Variables | None
                     ) -> tuple[fold_fns.FoldFns, EpochSettings, int]:
  """(the run's compiled fold functions, its epoch settings, folds per group).

  `imported`: pretrained variables (`pretrained.load`, or the pre-training
  stage's) that every fold starts from.
  """
  batch = config.train.batch_size
  augment = augmentation.make(config.get("augment"))
  steps_per_epoch = epoch_steps(plan, augment, batch)
  model = models.get(config.model_name, num_classes=len(data.class_names), **config.model)
  tx = optim.make_optimizer(config.optim, config.schedule)
  group_size = max(1, min(config.protocol.folds_in_parallel, len(plan.folds)))
  mesh = sharding.make_mesh(group_size)
  strategy = fold_strategy.resolve(config.protocol.get("fold_strategy", "auto"),
                                   jax.default_backend(), config.model_name)
  logging.info("mesh %s; %d folds at once (%s), %d steps per epoch", dict(mesh.shape),
               group_size, strategy, steps_per_epoch)
  example = augmentation.example_input(augment, data.inputs)
  fns = fold_fns.make_fold_fns(
      model, tx, mesh, {"inputs": data.inputs, "label": data.labels}, batch_size=batch,
      steps_per_epoch=steps_per_epoch, eval_chunk=config.eval.batch_size,
      microbatches=config.train.get("microbatches", 1),
      start=start_weights(config, model, example, imported), augment=augment,
      strategy=strategy)
  return fns, EpochSettings.from_config(config, steps_per_epoch), group_size


def epoch_steps(plan: fold_plan.FoldPlan, augment: augmentation.Augmentation,
                batch_size: int) -> int:
  """Optimiser steps in one pass over the largest fold's augmented training set.

  Every fold of a run takes this many steps an epoch (a smaller fold's extra
  steps are masked no-ops); an epoch is a pass over all augmented variants
  (MER-RCNN's "after all mini-batches are traversed": all 48 jittered variants
  of every training clip), and epoch-based schedules act per epoch (optim.py).
  """
  return math.ceil(plan.sizes["train"] * augment.copies / batch_size)


def start_weights(config: ml_collections.ConfigDict, model, example,
                  imported: pretrained.Variables | None) -> fold_fns.StartWeights | None:
  """Where `imported` goes in every fold's fresh variables; None without an import.

  After a pre-training stage: `pretrain.into`/`skip`; else `pretrained.into`
  (its `skip` was applied when the file was read). `example`: a model input
  of one clip, whose shapes `pretrained.check` fits the import against.
  """
  if imported is None:
    return None
  if pretraining.enabled(config):
    stage = config.pretrain
    cfg = {"into": tuple(stage.get("into", ("spatial",))), "skip": tuple(stage.get("skip", ()))}
  else:
    cfg = {"into": tuple(pretrained_config(config)["into"]), "skip": ()}
  pretrained.check(model, example, imported, cfg)
  return fold_fns.StartWeights(imported, cfg["into"], cfg["skip"])


def pretrained_config(config: ml_collections.ConfigDict) -> dict | None:
  """`config.pretrained` as a dict (None for configs without the section)."""
  cfg = config.get("pretrained")
  return cfg.to_dict() if cfg is not None else None


def finished_folds(plan: fold_plan.FoldPlan, done: dict) -> set[int]:
  """Indices of the folds whose outcome is written."""
  return {i for i, name in enumerate(plan.names) if name in done}


def print_disk_use(fns: fold_fns.FoldFns, seed: int, group_size: int, num_folds: int) -> None:
  """Prints (process 0) the most disk the run's checkpoints take, from the state's shapes."""
  states = jax.eval_shape(fns.init, fold_keys(seed, list(range(group_size)), 0))
  selected = checkpoint.tree_bytes(fold_fns.model_view(states))
  groups = len(fold_plan.group_folds(list(range(num_folds)), group_size))
  if multihost.is_primary():
    print(checkpoint.describe_disk_use(checkpoint.tree_bytes(states) + selected, selected,
                                       groups), flush=True)


def warn_if_diverged(outcome: FoldOutcome, schedule: ml_collections.ConfigDict) -> None:
  """A warning naming the fold when its training loss ended far above where it started."""
  if outcome.diverged:
    losses = outcome.history["train_loss"]
    logging.warning(
        "fold %s: training diverged: the training loss ended at %.3g, more than %g x its "
        "first epoch's %.3g; lower config.schedule.base_lr (now %g)", outcome.name,
        losses[-1], outcomes.DIVERGENCE_FACTOR, losses[0], schedule.get("base_lr", float("nan")))


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
