"""The run directory refuses a foreign run and tolerates speed-only changes."""

import pytest

from mer_jax.errors import ConfigError
from mer_jax.train import run_dir


def test_same_config_resumes_and_speed_knobs_may_change(tmp_path):
  config = {"seed": 0, "protocol": {"name": "loso", "folds_in_parallel": 4}}
  run_dir.prepare(str(tmp_path), config)
  run_dir.prepare(str(tmp_path), config)
  config["protocol"]["folds_in_parallel"] = 1
  run_dir.prepare(str(tmp_path), config)


def test_different_experiment_in_used_workdir_is_refused(tmp_path):
  run_dir.prepare(str(tmp_path), {"seed": 0, "train": {"lr": 1.0}})
  with pytest.raises(ConfigError, match=r"different config \(fields seed, train.lr\)"):
    run_dir.prepare(str(tmp_path), {"seed": 1, "train": {"lr": 2.0}})


def test_workdir_that_is_a_file_is_a_config_error(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(ConfigError, match="not a writable directory"):
    run_dir.prepare(str(tmp_path / "file"), {})


def test_memory_knobs_may_change_but_not_the_activation_dtype(tmp_path):
  config = {"train": {"microbatches": 1}, "model": {"remat": False, "dtype": "float32"}}
  run_dir.prepare(str(tmp_path), config)
  config["train"]["microbatches"] = 8
  config["model"]["remat"] = True
  run_dir.prepare(str(tmp_path), config)
  config["model"]["dtype"] = "bfloat16"
  with pytest.raises(ConfigError, match="model.dtype"):
    run_dir.prepare(str(tmp_path), config)
