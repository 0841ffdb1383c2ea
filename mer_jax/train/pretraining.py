"""A pre-training stage on labelled macro-expression data before the micro-expression folds.

Two papers have one. ATNet's spatial stream starts from ImageNet weights, is
fine-tuned on macro-expression face images (CK+, Oulu-CASIA, JAFFE, MUG), and
only then trained on micro-expressions (Peng et al. 2019, III-B). Islam et
al. pre-train their whole network on macro-expression videos (CK+, MUG,
Oulu-CASIA; lr 1e-4) before fine-tuning it on the micro-expressions.
`config.pretrain` drives that middle stage:

  stage       'spatial' (ATNet: grey images into `models.atnet.SpatialClassifier`,
              the backbone with its own classifier) or 'model' (Islam et al.:
              clips through the experiment's recipe into the experiment's model).
  source      '' (no stage), 'folder' (your data under `folder`: images as
              `folder/<class>/<images>` for 'spatial', data/image_folder.py;
              clips as `folder/<class>/<clip>/<frames>` for 'model',
              data/video_folder.py, peak frame last) or 'synthetic' (the
              built-in generator with its own `synthetic` settings and seed:
              the :demo stand-in; its subjects are not the micro data's).
  image_size  side of the grey images ('spatial').
  face        'none' or 'haar' (crop the largest detected face first; 'spatial').
  classes     the class folders to read, in order ('' all, sorted).
  held_out    fraction of the data kept out of training, stratified by class;
              the stage reports its accuracy on it.
  into, skip  where the stage's network goes in the micro-expression model
              (ATNet: 'spatial'; Islam et al.: '', the whole model) and the
              layers left out (the stage's own classifier).
  num_epochs, batch_size, optim, schedule, augment: as the main sections
              (the stage trains for its fixed number of epochs).

This module defines the stage (its data, network and one-fold plan:
`prepare`; its summary and what it learnt: `write_summary`, `learnt`); the
training loop runs it (train/loop.py, `pretrain`). It starts from
`config.pretrained`'s import, trains on one device with the loop's group
checkpoints (a killed stage resumes), and what it
learnt (weights and batch statistics) replaces the import as the start of
every fold. Everything is kept in `<workdir>/pretrain/` (a sweep shares one
directory among its runs); `summary.json` there marks the stage done.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, NamedTuple

from absl import logging
import ml_collections
import numpy as np

from mer_jax import models, multihost
from mer_jax.atomic_write import write_atomic
from mer_jax.data import pretrain_sources
from mer_jax.data.protocols import Fold
from mer_jax.errors import ConfigError
from mer_jax.train import augmentation, checkpoint, fold_fns, pretrained
from mer_jax.train.fold_plan import FoldPlan, round_up
from mer_jax.train.outcomes import FoldOutcome

SOURCES = ("", "folder", "synthetic")
STAGES = ("spatial", "model")
SUMMARY = "summary.json"


def enabled(config: ml_collections.ConfigDict) -> bool:
  """Whether the config has a pre-training stage to run."""
  cfg = config.get("pretrain")
  return cfg is not None and bool(cfg.source)


def check_config(config: ml_collections.ConfigDict) -> None:
  """Rejects a pre-training section that cannot run, before any data is read."""
  if not enabled(config):
    return
  cfg = config.pretrain
  if cfg.source not in SOURCES:
    raise ConfigError(f"config.pretrain.source={cfg.source!r}; expected one of {SOURCES}")
  if cfg.get("stage", "spatial") not in STAGES:
    raise ConfigError(f"config.pretrain.stage={cfg.stage!r}; expected one of {STAGES}")
  if cfg.source == "folder" and not cfg.folder:
    raise ConfigError(
        "config.pretrain.source='folder' but config.pretrain.folder is empty: pass "
        "--config.pretrain.folder=DIR (one subfolder per class of face images, or of clip "
        "folders for stage 'model'; the papers used CK+, Oulu-CASIA, JAFFE, MUG), or "
        "--config.pretrain.source='' to skip the stage")


def learnt(config: ml_collections.ConfigDict, directory: str) -> pretrained.Variables:
  """What the finished stage in `directory` learnt; prints its summary line (process 0).

  Stage 'spatial': the backbone's variables (its `spatial` subtree); stage
  'model': the whole network's. `config.pretrain.into` says where they go.
  """
  with open(os.path.join(directory, SUMMARY)) as f:
    summary = json.load(f)
  unit = "clips" if config.pretrain.get("stage", "spatial") == "model" else "images"
  if multihost.is_primary():
    print(f"pre-training ({config.pretrain.source}): {summary['n_train']} {unit} of classes "
          f"{summary['class_names']}, accuracy on {summary['n_held_out']} held-out {unit} "
          f"{summary['held_out_accuracy']:.4f} ({os.path.join(directory, SUMMARY)})",
          flush=True)
  found = checkpoint.restore_selected_params(checkpoint.group_dir(directory, [0]), 0)
  if config.pretrain.get("stage", "spatial") == "model":
    return found
  return {"params": found["params"]["spatial"], "batch_stats": found["batch_stats"]["spatial"]}


def stage_data(config: ml_collections.ConfigDict
               ) -> tuple[Any, dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
  """(model, stored inputs, labels, class names) of the stage `config.pretrain.stage`."""
  if config.pretrain.get("stage", "spatial") == "model":
    inputs, labels, names = pretrain_sources.load_clips(config.pretrain.to_dict(),
                                                        config.data.recipe.to_dict())
    model = models.get(config.model_name, num_classes=len(names), **config.model)
    return model, inputs, labels, names
  images, labels, names = pretrain_sources.load_images(config.pretrain.to_dict())
  model = models.get("atnet_spatial_classifier", num_classes=len(names),
                     backbone=config.model.backbone,
                     backbone_options=config.model.get("backbone_options"))
  return model, {"apex": images}, labels, names


def held_out_split(labels: np.ndarray, fraction: float, seed: int
                   ) -> tuple[np.ndarray, np.ndarray]:
  """(train, held-out) indices; each class gives round(fraction * n) images, at least one."""
  rng = np.random.default_rng(seed)
  held = []
  for c in np.unique(labels):
    members = rng.permutation(np.flatnonzero(labels == c))
    if fraction > 0:
      held.append(members[:max(1, round(fraction * len(members)))])
  held = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
  train = np.setdiff1d(np.arange(len(labels)), held)
  if len(train) == 0:
    raise ConfigError(f"config.pretrain.held_out={fraction} leaves no training image")
  return train, held


class Stage(NamedTuple):
  """The stage's network, data and fold plan (one fold: the held-out split)."""

  model: Any
  inputs: dict[str, np.ndarray]
  labels: np.ndarray
  class_names: tuple[str, ...]
  plan: FoldPlan
  held_out: np.ndarray          # indices of the held-out examples
  augment: augmentation.Augmentation
  steps_per_epoch: int
  eval_chunk: int
  start: fold_fns.StartWeights | None  # the import the stage starts from


def prepare(config: ml_collections.ConfigDict, imported: pretrained.Variables | None) -> Stage:
  """The stage of `config.pretrain`, starting from `imported` (placed `config.pretrained.into`)."""
  cfg = config.pretrain
  model, inputs, labels, class_names = stage_data(config)
  train_idx, held = held_out_split(labels, cfg.held_out, config.seed)
  eval_chunk = min(16, max(1, len(held)))
  plan = FoldPlan([Fold("pretrain", train_idx, held, ())], [train_idx], [train_idx[:0]],
                  {"train": len(train_idx), "monitor": eval_chunk,
                   "test": round_up(max(1, len(held)), eval_chunk)})
  augment = augmentation.make(cfg.get("augment"))
  # One epoch visits every (clip, variant) pair, as the folds' (loop.epoch_steps).
  steps = math.ceil(len(train_idx) * augment.copies / cfg.batch_size)
  start = (None if imported is None else
           fold_fns.StartWeights(imported, tuple(config.pretrained.into), ()))
  logging.info("pre-training (%s): %d examples (%d held out), classes %s",
               cfg.get("stage", "spatial"), len(train_idx), len(held), class_names)
  return Stage(model, inputs, labels, class_names, plan, held, augment, steps, eval_chunk, start)


def write_summary(directory: str, stage: Stage, outcome: FoldOutcome) -> None:
  """Marks the stage done in `directory/summary.json` (process 0), with its held-out accuracy."""
  held = stage.held_out
  accuracy = (float(np.mean(stage.labels[held] == outcome.predictions)) if len(held)
              else float("nan"))
  summary = {"class_names": list(stage.class_names), "n_train": int(len(stage.plan.train[0])),
             "n_held_out": int(len(held)), "held_out_accuracy": accuracy,
             "train_loss": outcome.history["train_loss"]}
  if multihost.is_primary():
    write_atomic(os.path.join(directory, SUMMARY), json.dumps(summary, indent=2).encode("utf-8"))
  multihost.sync("pre-training: summary written")
