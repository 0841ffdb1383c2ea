"""A baseline experiment: descriptors -> folds -> one SVM per fold -> the same report.

The descriptor is the data recipe's 'features' array (recipes 'lbp_top' and
'hoof', cached like every recipe's output); `config.classifier` is the SVM
(baselines/svm.py). The folds are those of `config.protocol`, built by the
same code as the deep models', and each fold's SVM is fitted on all of its
training clips: the kernel and C are fixed by the paper, so nothing is
selected and no validation split is needed. A finished fold's predictions
are written to `workdir/folds/` at once, so a killed run resumes there, and
the report (results.json, results.md, confusion.png) has the layout of the
deep models', so the two can share a table (`config.eval.compare_runs`).
"""

from __future__ import annotations

from absl import logging
import ml_collections
import numpy as np
import tqdm

from mer_jax.baselines import svm
from mer_jax.data import pipeline, protocols
from mer_jax.errors import ConfigError
from mer_jax.eval import compare, results
from mer_jax.train import fold_plan, outcomes, provenance, run_dir

FEATURES = "features"
SELECTION = "none (fixed SVM)"


def is_baseline(config: ml_collections.ConfigDict) -> bool:
  """Whether `config` is a baseline experiment (it names a classifier, not a model)."""
  return "classifier" in config


def features_of(data: pipeline.ExperimentData, recipe: str) -> np.ndarray:
  """The descriptors `[N, D]` of every clip, float64."""
  if FEATURES not in data.inputs:
    raise ConfigError(f"config.data.recipe.name={recipe!r} gives no '{FEATURES}' to fit an "
                      "SVM on; the baselines need a descriptor recipe ('lbp_top' or 'hoof')")
  x = np.asarray(data.inputs[FEATURES], np.float64)
  return x.reshape(len(x), -1)


def fit_fold(config: ml_collections.ConfigDict, fold: protocols.Fold, x: np.ndarray,
             labels: np.ndarray, num_classes: int) -> outcomes.FoldOutcome:
  """Fits the SVM on the fold's training clips; its scores of the test clips."""
  scores = svm.fit_scores(config.classifier, x[fold.train], labels[fold.train], x[fold.test],
                          num_classes)
  # One fit is "epoch 0 of 1" in the fold summary; there are no curves.
  return outcomes.FoldOutcome(name=fold.name, test_indices=[int(i) for i in fold.test],
                              logits=scores.tolist(), best_epoch=0, epochs_trained=1,
                              nan_epoch=-1, history={})


def fit_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                     data: pipeline.ExperimentData | None = None) -> dict:
  """Runs the baseline experiment `config` in `workdir`; returns the results dict."""
  svm.make_classifier(config.classifier)  # A bad kernel fails before the data is read.
  compare.check(config.eval.get("compare_runs", ()))
  run_dir.prepare(workdir, config.to_dict())
  timer = provenance.StageTimer()  # wall time per stage, for results.json's provenance
  with timer.stage("data"):
    data = data or pipeline.load_experiment_data(config.data)
    x = features_of(data, config.data.recipe.name)
    run_dir.record(workdir, config.to_dict())  # Inputs validated: the run starts here.
    folds = protocols.make_folds(config.protocol.name, data.samples, data.labels,
                                 k=config.protocol.k, seed=config.seed)
    plan = fold_plan.make_fold_plan(data.samples, folds, selection="last", val_fraction=0.0,
                                    seed=config.seed, eval_chunk=1)
  logging.info("%d samples, %d-d descriptors, %d classes, %d folds (%s)", len(x), x.shape[1],
               len(data.class_names), len(folds), config.protocol.name)
  with timer.stage("train"):
    done = fit_folds(config, folds, x, data, workdir)
  return results.write_results(config, data, plan, done, workdir, selection=SELECTION,
                               stage_seconds=timer.seconds)


def fit_folds(config: ml_collections.ConfigDict, folds: list[protocols.Fold], x: np.ndarray,
              data: pipeline.ExperimentData, workdir: str) -> dict:
  """Fits the folds without a saved outcome, saving each at once; every fold's outcome."""
  done = outcomes.load_all(workdir, [f.name for f in folds])
  todo = [f for f in folds if f.name not in done]
  for fold in tqdm.tqdm(todo, desc=f"folds ({config.classifier.kernel} SVM)", unit="fold",
                        disable=not todo):
    outcome = fit_fold(config, fold, x, data.labels, len(data.class_names))
    outcomes.save(workdir, outcome)
    done[fold.name] = outcome
  return done
