"""MER-RCNN end to end on the built-in data: EVM sequences, on-device jittering, RCN, report.

One short run of `configs/mer_rcnn.py:tiny` with the paper's sample-wise
5-fold (here 2-fold) split, so the report must carry the subject-leak warning
and the paper's Table 2 row.
"""

import json

import pytest

from mer_jax import config_files, experiment, gradcam
from mer_jax.errors import ConfigError



@pytest.fixture(scope="module")
def rcnn_run(repo_root, tmp_path_factory):
  tmp = tmp_path_factory.mktemp("mer_rcnn")
  config = config_files.load_config(str(repo_root / "configs/mer_rcnn.py"), "tiny")
  config.protocol.name = "kfold"  # the paper's split by sample
  config.eval.paper_rows = {"MER-RCNN (paper, Table 2)": {"accuracy": 0.658}}
  results = experiment.run(config, str(tmp / "run"))
  return results, tmp / "run"


def test_run_reports_every_sample_beside_table_2_with_the_leak_warning(rcnn_run):
  results, workdir = rcnn_run
  assert json.loads((workdir / "results.json").read_text())["metrics"] == results["metrics"]
  assert len(results["predictions"]) == sum(f["n_test"] for f in results["folds"]) > 0
  assert any(f["shared_subjects"] > 0 for f in results["folds"])
  table = (workdir / "results.md").read_text()
  assert "Not subject-independent" in table
  assert "| MER-RCNN (paper, Table 2) | – | – | 0.6580 | – |" in table
  assert results["config"]["augment"]["name"] == "temporal_jitter"


def test_fold_models_trained_the_configured_epochs(rcnn_run):
  results, _ = rcnn_run
  assert [f["epochs_trained"] for f in results["folds"]] == [2, 2]  # 'last': no early stop


def test_gradcam_says_which_models_it_explains(rcnn_run):
  _, workdir = rcnn_run
  with pytest.raises(ConfigError, match="explains the VGG-based models"):
    gradcam.explain(str(workdir), "synthetic/s00/c00")
