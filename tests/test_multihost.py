"""A run over 2 processes (2 CPU devices each) gives the results of 1 process with 4 devices.

`launch/local_multiprocess.sh` starts both processes of `configs/elrcn_temporal_only.py:smoke`
(4 LOSO folds): with 4 folds at once, each process trains 2 folds (the 'fold' axis spans the
processes); with 1 fold at a time, each fold's batch is split over all 4 devices (the 'data'
axis spans them, gradients summed across the processes). The reference run is this test
process's own (conftest.py gives it 4 CPU devices).
"""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from mer_jax import config_files, experiment
from mer_jax.train import metric_writer

CONFIG = "configs/elrcn_temporal_only.py"


@pytest.fixture(scope="module")
def single_process_run(repo_root, tmp_path_factory) -> pathlib.Path:
  workdir = tmp_path_factory.mktemp("single") / "run"
  config = config_files.load_config(str(repo_root / CONFIG), "smoke")
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(metric_writer.MetricWriter, "write_scalars", lambda *args, **kw: None)
    experiment.run(config, str(workdir))
  return workdir


def read_json(path: pathlib.Path) -> dict:
  with open(path) as f:
    return json.load(f)


def without_speed_fields(results: dict) -> dict:
  results = json.loads(json.dumps(results))
  del results["config"]["protocol"]["folds_in_parallel"]
  del results["provenance"]  # wall times, process and device counts
  return results


@pytest.mark.parametrize("folds_in_parallel", [4, 1])
def test_two_processes_agree_with_one(repo_root, tmp_path, single_process_run,
                                      folds_in_parallel):
  workdir = tmp_path / "run"
  out = subprocess.run(
      ["launch/local_multiprocess.sh", "-n", "2", "-d", "2", "--", sys.executable, "-m",
       "mer_jax.main", f"--config={CONFIG}:smoke", f"--workdir={workdir}",
       f"--config.protocol.folds_in_parallel={folds_in_parallel}"],
      cwd=repo_root, capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "process 1 of 2; 2 local devices of 4" in out.stderr
  # Only process 0 reports.
  assert out.stdout.count("| **all** |") == 1 and "[0] | **all** |" in out.stdout

  want = read_json(single_process_run / "results.json")
  got = read_json(workdir / "results.json")
  assert got["config"]["protocol"]["folds_in_parallel"] == folds_in_parallel
  assert without_speed_fields(got) == without_speed_fields(want)
  folds = sorted(p.name for p in (single_process_run / "folds").iterdir())
  assert folds and sorted(p.name for p in (workdir / "folds").iterdir()) == folds
  for name in folds:
    a, b = read_json(single_process_run / "folds" / name), read_json(workdir / "folds" / name)
    np.testing.assert_allclose(b["logits"], a["logits"], rtol=1e-5, atol=1e-6)
    assert b["best_epoch"] == a["best_epoch"]
    np.testing.assert_allclose(b["history"]["train_loss"], a["history"]["train_loss"],
                               rtol=1e-5)
