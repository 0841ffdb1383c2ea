"""One experiment, whichever kind its config describes: a deep model or a baseline SVM."""

from __future__ import annotations

import ml_collections

from mer_jax.baselines import run as baseline_run
from mer_jax.data import pipeline
from mer_jax.eval import compare, results
from mer_jax.train import loop


def run(config: ml_collections.ConfigDict, workdir: str, *,
        data: pipeline.ExperimentData | None = None, pretrain_dir: str | None = None) -> dict:
  """Trains and evaluates `config` in `workdir`; returns the results dict.

  Args:
    data: the loaded `config.data`, when the caller has it (a sweep loads it once).
    pretrain_dir: where a deep model's pre-training stage keeps its work.
  """
  if baseline_run.is_baseline(config):
    return baseline_run.fit_and_evaluate(config, workdir, data=data)
  compare.check(config.eval.get("compare_runs", ()))  # before any data is read
  trained = loop.train_and_evaluate(config, workdir, data=data, pretrain_dir=pretrain_dir)
  return results.write_results(config, trained.data, trained.plan, trained.outcomes, workdir,
                               stage_seconds=trained.stage_seconds)
