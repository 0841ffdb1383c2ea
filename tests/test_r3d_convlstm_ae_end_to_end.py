"""3D ResNet + Conv-LSTM auto-encoder end to end on the built-in data (`:tiny`).

The tiny run (a narrow r3d_18) exercises the whole-model pre-training stage
on built-in clips, the tripled training set (flip / rotate), the weighted
random sampler, the class-weighted loss, reduce-on-plateau and early stopping
on validation subjects, and reports beside the paper's Table 3 rows.
"""

import json

from mer_jax import config_files, experiment
from mer_jax.train import pretraining


def test_tiny_run_reports_every_sample_beside_table_3(repo_root, tmp_path):
  config = config_files.load_config(str(repo_root / "configs/r3d_convlstm_ae.py"), "tiny")
  config.eval.paper_rows = {"Ours (paper, Table 3, LOSO)": dict(accuracy=0.973, uar=0.971,
                                                                 uf1=0.966)}
  results = experiment.run(config, str(tmp_path / "run"))
  on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
  assert on_disk["metrics"] == results["metrics"]
  assert len(results["predictions"]) == sum(f["n_test"] for f in results["folds"]) > 0
  for fold in results["folds"]:  # validation subjects come from the training subjects
    assert fold["monitor_subjects"] and not set(fold["monitor_subjects"]) & set(
        fold["test_subjects"])
  table = (tmp_path / "run" / "results.md").read_text()
  assert "| Ours (paper, Table 3, LOSO) | 0.9660 | 0.9710 | 0.9730 | – |" in table
  assert results["config"]["augment"]["name"] == "flip_rotate"
  stage = json.loads((tmp_path / "run" / "pretrain" / pretraining.SUMMARY).read_text())
  assert len(stage["train_loss"]) == config.pretrain.num_epochs and stage["n_train"] > 0

