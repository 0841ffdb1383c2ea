"""The LBP-TOP and HOOF baselines end to end on the built-in data, in the deep models' report.

One `configs/lbp_top.py:tiny` run and one `configs/hoof.py:tiny` run through
`experiment.run` (the entry point's dispatch); the HOOF run lists the LBP-TOP
run in `compare_runs`, so its report puts both in one table.
"""

import json

import numpy as np
import pytest

from mer_jax import config_files, experiment
from mer_jax.data import pipeline, protocols
from mer_jax.errors import ConfigError
from mer_jax.train import outcomes


def _config(repo_root, name, variant="tiny"):
  return config_files.load_config(str(repo_root / f"configs/{name}.py"), variant)


@pytest.fixture(scope="module")
def lbp_run(repo_root, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("lbp_top") / "run"
  config = _config(repo_root, "lbp_top")
  return config, experiment.run(config, str(workdir)), workdir


def test_lbp_top_run_reports_every_clip_with_the_svm_of_its_training_folds(lbp_run):
  config, results, workdir = lbp_run
  data = pipeline.load_experiment_data(config.data)
  assert data.inputs["features"].shape == (len(data.samples), 2 * 2 * 3 * 15)
  assert len(results["predictions"]) == len(data.samples)
  assert results["protocol"]["selection"] == "none (fixed SVM)"
  on_disk = json.loads((workdir / "results.json").read_text())
  assert on_disk["metrics"] == results["metrics"]
  stages = on_disk["provenance"]["stage_seconds"]  # train: the SVM fits
  assert set(stages) == {"data", "train", "report"} and min(stages.values()) > 0
  # Every fold's SVM saw only its training subjects' clips.
  folds = protocols.make_folds(config.protocol.name, data.samples, data.labels,
                               k=config.protocol.k, seed=config.seed)
  for fold, info in zip(folds, results["folds"]):
    assert info["n_fit"] == len(fold.train) and info["shared_subjects"] == 0


def test_a_killed_baseline_run_resumes_to_the_same_results(lbp_run, repo_root):
  config, results, workdir = lbp_run
  first = next(iter((workdir / "folds").iterdir()))
  saved = json.loads(first.read_text())
  first.unlink()                                           # as if killed during that fold
  again = experiment.run(config, str(workdir))
  np.testing.assert_allclose(json.loads(first.read_text())["logits"], saved["logits"])
  assert again["metrics"] == results["metrics"]
  loaded = outcomes.load_all(str(workdir), [saved["name"]])
  np.testing.assert_array_equal(loaded[saved["name"]].predictions,
                                np.argmax(saved["logits"], 1))


def test_hoof_run_sits_beside_the_lbp_top_run_in_one_table(lbp_run, repo_root, tmp_path):
  _, lbp_results, lbp_dir = lbp_run
  config = _config(repo_root, "hoof")
  config.eval.compare_runs = (str(lbp_dir),)
  results = experiment.run(config, str(tmp_path / "hoof"))
  assert results["config"]["data"]["recipe"]["name"] == "hoof"
  table = (tmp_path / "hoof" / "results.md").read_text()
  assert "### Beside other runs" in table
  assert "| HOOF n8_tim10 (ours) |" in table
  lbp_row = next(line for line in table.splitlines()
                 if line.startswith(f"| lbp_top + SVM (linear) ({lbp_dir})"))
  assert f"{lbp_results['metrics']['accuracy']:.3f}" in lbp_row


def test_a_missing_comparison_run_fails_before_any_work(repo_root, tmp_path):
  config = _config(repo_root, "hoof")
  config.eval.compare_runs = (str(tmp_path / "never_ran"),)
  with pytest.raises(ConfigError, match="never_ran, which holds no results.json"):
    experiment.run(config, str(tmp_path / "hoof"))
  assert not (tmp_path / "hoof").exists()
