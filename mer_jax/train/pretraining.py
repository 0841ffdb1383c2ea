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

The stage starts from `config.pretrained`'s import, trains on one device
with the fold engine's checkpoints (a killed stage resumes), and what it
learnt (weights and batch statistics) replaces the import as the start of
every fold. Everything is kept in `<workdir>/pretrain/` (a sweep shares one
directory among its runs); `summary.json` there marks the stage done.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping

from absl import logging
import ml_collections
import numpy as np

from mer_jax import models, multihost
from mer_jax.data import image_folder, pipeline, synthetic, video_folder
from mer_jax.data import labels as labels_lib
from mer_jax.data.sample import Sample
from mer_jax.data.protocols import Fold
from mer_jax.errors import ConfigError
from mer_jax.eval import metrics
from mer_jax.eval.report import write_atomic
from mer_jax.models import atnet
from mer_jax.preprocess import recipes
from mer_jax.train import augmentation, checkpoint, optim, pretrained, sharding
from mer_jax.train.engine import FoldEngine
from mer_jax.train.fold_plan import FoldPlan, round_up
from mer_jax.train.group import GroupRunner

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


def run(config: ml_collections.ConfigDict, imported: pretrained.Variables | None,
        directory: str) -> pretrained.Variables | None:
  """What the stage learnt (`imported` unchanged without a stage).

  Stage 'spatial': the backbone's variables (its `spatial` subtree); stage
  'model': the whole network's. `config.pretrain.into` says where they go.
  """
  if not enabled(config):
    return imported
  check_config(config)
  os.makedirs(directory, exist_ok=True)
  path = os.path.join(directory, SUMMARY)
  if not os.path.exists(path):
    summary = train(config, imported, directory)
    if multihost.is_primary():
      write_atomic(path, json.dumps(summary, indent=2).encode("utf-8"))
    multihost.sync("pre-training: summary written")
  with open(path) as f:
    summary = json.load(f)
  unit = "clips" if config.pretrain.get("stage", "spatial") == "model" else "images"
  if multihost.is_primary():
      print(f"pre-training ({config.pretrain.source}): {summary['n_train']} {unit} of classes "
          f"{summary['class_names']}, accuracy on {summary['n_held_out']} held-out {unit} "
          f"{summary['held_out_accuracy']:.4f} ({path})", flush=True)
  found = checkpoint.restore_selected_params(checkpoint.group_dir(directory, [0]), 0)
  if config.pretrain.get("stage", "spatial") == "model":
    return found
  return {"params": found["params"]["spatial"], "batch_stats": found["batch_stats"]["spatial"]}


def load_images(cfg: Mapping) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
  """(grey images uint8 [N, S, S, 1], labels [N], class names) of `config.pretrain`."""
  size = cfg["image_size"]
  if cfg["source"] == "folder":
    found = image_folder.load(cfg["folder"], image_size=size, grayscale=True,
                              face=cfg["face"], classes=tuple(cfg["classes"]) or None)
    for e in found.excluded:
      logging.warning("pre-training image left out: %s: %s", e.key, e.reason)
    return found.images, found.labels, tuple(found.class_names)
  spec = synthetic.SyntheticSpec(**dict(cfg["synthetic"]))
  data = synthetic.generate(spec)
  scheme = labels_lib.get_scheme("three_class")
  kept, _, _ = labels_lib.apply_scheme(data.samples, scheme)
  index = {s.key: i for i, s in enumerate(data.samples)}
  images = [recipes.resize(recipes.to_gray(data.videos[index[s.key]][s.apex - s.onset][None]),
                           size)[0] for s in kept]
  labels = np.asarray([scheme.label(s) for s in kept], np.int32)
  return np.stack(images), labels, scheme.class_names


def load_clips(config: ml_collections.ConfigDict
               ) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
  """(the recipe's inputs [N, ...], labels [N], class names) of the stage-'model' clips."""
  cfg = config.pretrain
  if cfg.source == "folder":
    clips, names = video_folder.load(cfg.folder, tuple(cfg.classes) or None)
    samples = [Sample(dataset="pretrain", subject=os.path.dirname(c.name) or c.name,
                      clip=c.name, emotion=names[c.label], onset=0,
                      apex=len(c.frame_paths) - 1, offset=len(c.frame_paths) - 1,
                      apex_source="annotated", frame_paths=c.frame_paths) for c in clips]
    label_of = {s.key: c.label for s, c in zip(samples, clips)}
    read = pipeline.read_from_disk
  else:
    data = synthetic.generate(synthetic.SyntheticSpec(**cfg.synthetic.to_dict()))
    scheme = labels_lib.get_scheme("three_class")
    samples, _, _ = labels_lib.apply_scheme(data.samples, scheme)
    names, label_of = scheme.class_names, {s.key: scheme.label(s) for s in samples}
    videos = {s.key: v for s, v in zip(data.samples, data.videos)}
    read = lambda s: videos[s.key]  # noqa: E731
  kept, inputs, excluded = pipeline.preprocess(samples, read, config.data.recipe.to_dict())
  for e in excluded:
    logging.warning("pre-training clip left out: %s: %s", e.key, e.reason)
  return inputs, np.asarray([label_of[s.key] for s in kept], np.int32), tuple(names)


def stage_data(config: ml_collections.ConfigDict
               ) -> tuple[Any, dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
  """(model, stored inputs, labels, class names) of the stage `config.pretrain.stage`."""
  if config.pretrain.get("stage", "spatial") == "model":
    inputs, labels, names = load_clips(config)
    model = models.get(config.model_name, num_classes=len(names), **config.model)
    return model, inputs, labels, names
  images, labels, names = load_images(config.pretrain.to_dict())
  model = atnet.SpatialClassifier(num_classes=len(names), backbone=config.model.backbone,
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


def train(config: ml_collections.ConfigDict, imported: pretrained.Variables | None,
          directory: str) -> dict[str, Any]:
  """Trains the stage's network in `directory`; returns the stage's summary."""
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
  into = tuple(config.pretrained.into) if imported is not None else ()
  engine = FoldEngine(
      model, optim.make_optimizer(cfg.optim, cfg.schedule), sharding.make_mesh(1),
      {"inputs": inputs, "label": labels}, batch_size=cfg.batch_size,
      steps_per_epoch=steps, eval_chunk=eval_chunk, augment=augment,
      start_variables=lambda v, start_tree: pretrained.place_variables(v, start_tree, into, ()),
      start_tree=imported)
  run_cfg = ml_collections.ConfigDict({"seed": config.seed, "schedule": cfg.schedule,
                                      "train": dict(num_epochs=cfg.num_epochs,
                                                    selection="last", patience=0,
                                                    checkpoint_every_epochs=1,
                                                    progress_bar=config.train.progress_bar)})
  logging.info("pre-training (%s): %d examples (%d held out), classes %s",
               cfg.get("stage", "spatial"), len(train_idx), len(held), class_names)
  outcome = GroupRunner(engine, plan, run_cfg, directory, 1).run([0], "pre-training")[0]
  accuracy = (metrics.accuracy(labels[held], outcome.predictions, len(class_names))
              if len(held) else float("nan"))
  return {"class_names": list(class_names), "n_train": int(len(train_idx)),
          "n_held_out": int(len(held)), "held_out_accuracy": accuracy,
          "train_loss": outcome.history["train_loss"]}

