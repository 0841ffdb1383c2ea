"""Trains one group of folds side by side, with per-fold selection and checkpoints.

Random numbers depend only on (seed, fold index, epoch), never on the group a
fold lands in, so a fold's result does not depend on `folds_in_parallel`.
"""

from __future__ import annotations

from absl import logging
import jax
import ml_collections
import numpy as np
import tqdm

from mer_jax import multihost
from mer_jax.train import checkpoint, optim
from mer_jax.train import fold_plan as fold_plan_lib
from mer_jax.train.checkpoint import GroupCheckpointer
from mer_jax.train.engine import FoldEngine, model_view
from mer_jax.train.metric_writer import MetricWriter, fold_tags
from mer_jax.train.plateau import FoldPlateau
from mer_jax.train.outcomes import FoldOutcome
from mer_jax.train.selection import FoldSelection

HISTORY_KEYS = ("train_loss", "train_accuracy", "monitor_loss")
# TensorBoard's name of the monitored loss, by `config.train.selection` ('last' has none).
MONITOR_TAGS = {"val_loss": "val_loss", "oracle": "test_loss"}


def fold_keys(seed: int, ids: list[int], *path: int) -> jax.Array:
  """One key per fold: key(seed) folded with the fold index, then `path`."""
  def derive(i):
    k = jax.random.fold_in(jax.random.key(seed), i)
    for p in path:
      k = jax.random.fold_in(k, p)
    return k
  return jax.vmap(derive)(np.maximum(np.asarray(ids), 0))


def copy_host_array(x):
  """Copies numpy leaves before an asynchronous save (the loop mutates them)."""
  return np.copy(x) if isinstance(x, np.ndarray) else x


class GroupRunner:
  """Runs fold groups with one compiled engine."""

  def __init__(self, engine: FoldEngine, plan: fold_plan_lib.FoldPlan,
               config: ml_collections.ConfigDict, workdir: str, group_size: int):
    self.engine, self.plan, self.cfg = engine, plan, config
    self.workdir, self.group_size = workdir, group_size
    self.writer = MetricWriter(workdir, config=config.to_dict())
    self.tags = fold_tags(plan.folds)  # each fold's TensorBoard name, by its test subjects

  def run(self, ids: list[int], label: str = "folds") -> list[FoldOutcome]:
    """Trains the group of fold indices `ids` (-1 = padding); tests its selected models.

    `label`: the group's name on the progress bar.
    """
    cfg, engine = self.cfg.train, self.engine
    arrays = engine.put(self.plan.group_arrays(ids))
    names = [self.plan.names[i] if i >= 0 else "<padding>" for i in ids]
    states = engine.init(engine.put(fold_keys(self.cfg.seed, ids, 0)))
    tree = {"states": states, "best": engine.select(np.zeros(len(ids), bool), states),
            "selection": FoldSelection.create(np.asarray(ids) >= 0).as_dict(),
            "plateau": FoldPlateau.create(len(ids)).as_dict(),
            "history": {k: np.full((cfg.num_epochs, len(ids)), np.nan, np.float32)
                        for k in HISTORY_KEYS},
            "epoch": np.asarray(-1, np.int32)}
    ckpt = GroupCheckpointer(checkpoint.group_dir(self.workdir, ids))
    if ckpt.latest_epoch() is not None:
      tree = ckpt.restore(tree)
    if all(k in tree for k in checkpoint.TRAINING_ITEMS):  # else a finished, pruned group
      tree = self._train(tree, arrays, ids, names, ckpt, label)
    ckpt.close()
    _, logits = engine.evaluate(tree["best"], arrays["test"], arrays["n_test"])
    return self._outcomes(tree, logits, ids, names)

  def checkpoint_bytes(self) -> tuple[int, int]:
    """(training state, selected models) of one group's checkpoint in bytes, from shapes alone."""
    keys = fold_keys(self.cfg.seed, list(range(self.group_size)), 0)
    states = jax.eval_shape(self.engine.init, keys)  # [F, ...] with Adam's moments
    selected = checkpoint.tree_bytes(model_view(states))
    return checkpoint.tree_bytes(states) + selected, selected

  def _train(self, tree: dict, arrays: dict, ids: list[int], names: list[str],
             ckpt: GroupCheckpointer, label: str) -> dict:
    cfg, engine = self.cfg.train, self.engine
    sel = FoldSelection(**{k: np.asarray(v) for k, v in tree["selection"].items()})
    plateau = FoldPlateau(**{k: np.asarray(v) for k, v in tree["plateau"].items()})
    schedule = self.cfg.schedule
    plateau_cfg = schedule.get("plateau")
    scale = None  # the multiplier the states carry, once this call has set it
    history = {k: np.asarray(v) for k, v in tree["history"].items()}
    states, best = tree["states"], tree["best"]
    start = int(tree["epoch"]) + 1
    folds = {k: arrays[k] for k in ("train", "n_train", "train_weight", "loss_weight")
             if k in arrays}
    bar = tqdm.trange(start, cfg.num_epochs, initial=start, total=cfg.num_epochs, desc=label,
                      unit="epoch", disable=not (cfg.progress_bar and multihost.is_primary()),
                      leave=False)
    for epoch in bar:
      if not sel.active.any():
        break
      active = sel.active.copy()
      if optim.is_scaled(schedule):
        wanted = plateau.scale * np.float32(optim.epoch_scale(schedule, epoch))
        if scale is None or not np.array_equal(wanted, scale):
          states, scale = engine.set_lr_scale(states, wanted), wanted
      lr = optim.learning_rate(schedule, multihost.to_host(states.step),
                               1.0 if scale is None else scale)
      states, m = engine.train_epoch(states, folds, engine.put(
          fold_keys(self.cfg.seed, ids, 1, epoch)), active)
      monitor = None
      if cfg.selection != "last":
        monitor, _ = engine.evaluate(states, arrays["monitor"], arrays["n_monitor"])
      improved = sel.update(epoch, m["loss"], monitor, mode=cfg.selection,
                            patience=cfg.patience, names=names)
      best = engine.select(improved, states, best)
      if plateau_cfg:
        plateau.update(monitor if monitor is not None else m["loss"], active, plateau_cfg)
      self._record(history, epoch, active, m, monitor, ids, lr)
      bar.set_postfix(active=int(sel.active.sum()), loss=f"{np.mean(m['loss'][active]):.3f}")
      logging.log_every_n_seconds(
          logging.INFO, "epoch %d: %d folds active, mean train loss %.4f, monitor loss %s",
          30, epoch, active.sum(), np.mean(m["loss"][active]),
          "-" if monitor is None else f"{np.mean(monitor[active]):.4f}")
      tree = {"states": states, "best": best, "selection": sel.as_dict(),
              "plateau": plateau.as_dict(), "history": history,
              "epoch": np.asarray(epoch, np.int32)}
      last = epoch == cfg.num_epochs - 1 or not sel.active.any()
      if (epoch + 1) % cfg.checkpoint_every_epochs == 0 or last:
        ckpt.save(epoch, jax.tree.map(copy_host_array, tree))
    return tree

  def _record(self, history, epoch, active, m, monitor, ids, lr) -> None:
    """Stores the epoch's per-fold figures; writes them and the rate `lr` [F] as scalars."""
    values = {"train_loss": m["loss"], "train_accuracy": m["accuracy"],
              "monitor_loss": monitor if monitor is not None else np.full(len(ids), np.nan)}
    for key, v in values.items():
      history[key][epoch] = np.where(active, v, np.nan)
    shown = {"train_loss": m["loss"], "train_accuracy": m["accuracy"], "lr": lr,
             MONITOR_TAGS.get(self.cfg.train.selection, "monitor_loss"): values["monitor_loss"]}
    self.writer.write_scalars(epoch, {
        f"{self.tags[i]}/{key}": float(v[f]) for key, v in shown.items()
        for f, i in enumerate(ids) if i >= 0 and active[f] and np.isfinite(v[f])})

  def _outcomes(self, tree, logits, ids, names) -> list[FoldOutcome]:
    sel = tree["selection"]
    out = []
    for f, i in enumerate(ids):
      if i < 0:
        continue
      n = len(self.plan.folds[i].test)
      trained = np.isfinite(np.asarray(tree["history"]["train_loss"])[:, f])
      out.append(FoldOutcome(
          name=names[f], test_indices=self.plan.folds[i].test.tolist(),
          logits=logits[f, :n].tolist(), best_epoch=int(sel["best_epoch"][f]),
          epochs_trained=int(trained.sum()), nan_epoch=int(sel["nan_epoch"][f]),
          history={k: [float(x) for x in np.asarray(v)[:, f][trained]]
                   for k, v in tree["history"].items()}))
    return out
