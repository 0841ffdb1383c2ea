"""ATNet end to end on the built-in data: pre-training stage, apex + ADM inputs, sweep report.

One short fusion run of `configs/atnet.py:tiny,fusion` with its synthetic
pre-training stage, and one sweep of two cheap temporal-only runs that share
the loaded data and end in a comparison table beside a paper table.
"""

import json

import numpy as np
import pytest

from mer_jax import config_files, experiment, sweep
from mer_jax.data import pipeline
from mer_jax.train import checkpoint, loop, pretraining

PAPER = {"ATNet fusion (paper)": {"all": {"accuracy": 0.693, "uf1": 0.631, "uar": 0.613}}}


def _config(repo_root, variant):
  return config_files.load_config(str(repo_root / "configs/atnet.py"), variant)


@pytest.fixture(scope="module")
def fusion_run(repo_root, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("atnet") / "run"
  config = _config(repo_root, "tiny,fusion")
  config.eval.paper_table = PAPER
  results = experiment.run(config, str(workdir))
  return config, results, workdir


def test_fusion_run_reports_every_sample_beside_the_paper_table(fusion_run):
  config, results, workdir = fusion_run
  assert json.loads((workdir / "results.json").read_text())["metrics"] == results["metrics"]
  assert len(results["predictions"]) == sum(f["n_test"] for f in results["folds"]) > 0
  table = (workdir / "results.md").read_text()
  assert "### Beside the paper's table" in table
  assert "| fusion (ours) |" in table
  assert "| ATNet fusion (paper) | 0.693 | 0.631 | 0.613 |" in table
  assert [f["epochs_trained"] for f in results["folds"]] == [config.train.num_epochs] * 2


def test_pretraining_stage_ran_once_and_its_backbone_is_what_the_folds_start_from(fusion_run):
  config, _, workdir = fusion_run
  summary = json.loads((workdir / "pretrain" / pretraining.SUMMARY).read_text())
  assert summary["class_names"] == ["negative", "positive", "surprise"]
  assert summary["n_train"] > 0 and len(summary["train_loss"]) == config.pretrain.num_epochs
  backbone = loop.pretrain(config, None, str(workdir / "pretrain"))  # reuses the stage
  stage = checkpoint.restore_selected_params(
      checkpoint.group_dir(str(workdir / "pretrain"), [0]), 0)
  np.testing.assert_array_equal(backbone["params"]["conv1"]["kernel"],
                                stage["params"]["spatial"]["conv1"]["kernel"])
  assert "score" in backbone["params"]  # the stage's own classifier, dropped by `skip`
  assert "data_bn" in backbone["batch_stats"]


def test_a_sweep_loads_the_data_once_and_compares_its_runs(repo_root, tmp_path, monkeypatch):
  config = _config(repo_root, "tiny")
  temporal = (("model.stream", "temporal"), ("pretrained.kind", ""), ("pretrain.source", ""))
  config.sweep.runs = (("small", temporal + (("model.lstm_features", (4,)),)),
                       ("large", temporal))
  config.eval.paper_table = PAPER
  config.train.num_epochs = 1
  calls = []
  load = pipeline.load_experiment_data
  monkeypatch.setattr(pipeline, "load_experiment_data",
                      lambda cfg: calls.append(1) or load(cfg))
  results = sweep.run(config, str(tmp_path))
  assert list(results) == ["small", "large"] and len(calls) == 1
  assert results["small"]["config"]["model"]["lstm_features"] == [4]
  table = (tmp_path / sweep.COMPARISON).read_text()
  lines = table.splitlines()
  assert lines[2] == "| method | Full Acc | Full UF1 | Full UAR |"
  assert [line.split(" |")[0] for line in lines[4:]] == [
      "| small (ours)", "| large (ours)", "| ATNet fusion (paper)"]
  for name in ("small", "large"):
    assert (tmp_path / name / "results.md").exists()
