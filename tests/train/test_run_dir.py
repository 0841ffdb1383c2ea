"""The run directory refuses a foreign run and tolerates speed-only changes."""

import os
import socket
import subprocess
import sys

import pytest

from mer_jax.errors import ConfigError
from mer_jax.train import run_dir, run_lock


def start(workdir, config):
  """What a command does: check the workdir, then record the config once inputs are valid."""
  run_dir.prepare(str(workdir), config)
  run_dir.record(str(workdir), config)


def test_same_config_resumes_and_speed_knobs_may_change(tmp_path):
  config = {"seed": 0, "protocol": {"name": "loso", "folds_in_parallel": 4}}
  start(tmp_path, config)
  start(tmp_path, config)
  config["protocol"]["folds_in_parallel"] = 1
  start(tmp_path, config)


def test_different_experiment_in_used_workdir_is_refused(tmp_path):
  start(tmp_path, {"seed": 0, "train": {"lr": 1.0}})
  with pytest.raises(ConfigError, match=r"different config \(fields seed, train.lr\)"):
    start(tmp_path, {"seed": 1, "train": {"lr": 2.0}})


def test_workdir_that_is_a_file_is_a_config_error(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(ConfigError, match="not a writable directory"):
    run_dir.prepare(str(tmp_path / "file"), {})


def test_memory_knobs_may_change_but_not_the_activation_dtype(tmp_path):
  config = {"train": {"microbatches": 1}, "model": {"remat": False, "dtype": "float32"}}
  start(tmp_path, config)
  config["train"]["microbatches"] = 8
  config["model"]["remat"] = True
  start(tmp_path, config)
  config["model"]["dtype"] = "bfloat16"
  with pytest.raises(ConfigError, match="model.dtype"):
    start(tmp_path, config)


def test_fields_that_only_locate_inputs_may_change_and_are_recorded(tmp_path):
  config = {"data": {"roots": {"casme2": "/old"}, "cache_dir": "/c1", "label_scheme": "x"},
            "pretrained": {"path": "/w1.pth", "kind": "vgg"}, "eval": {"batch_size": 8}}
  start(tmp_path, config)
  moved = {"data": {"roots": {"casme2": "/new"}, "cache_dir": "/c2", "label_scheme": "x"},
           "pretrained": {"path": "/w2.pth", "kind": "vgg"}, "eval": {"batch_size": 2}}
  start(tmp_path, moved)
  assert run_dir.load_config(str(tmp_path)).data.roots.casme2 == "/new"
  moved["pretrained"]["kind"] = "resnet"
  with pytest.raises(ConfigError, match=r"fields pretrained.kind\)"):
    start(tmp_path, moved)


def test_a_failed_start_records_no_config(tmp_path):
  run_dir.prepare(str(tmp_path), {"data": {"label_scheme": "a"}})  # ... then the data fails
  run_dir.prepare(str(tmp_path), {"data": {"label_scheme": "b"}})  # the corrected command
  assert not (tmp_path / "config.json").exists()


@pytest.mark.parametrize("text", ["", '{"seed": 0, "tra'])
def test_a_damaged_config_json_is_named_with_what_to_do(tmp_path, text):
  (tmp_path / "config.json").write_text(text)
  for call in (lambda: run_dir.prepare(str(tmp_path), {"seed": 0}),
               lambda: run_dir.load_config(str(tmp_path))):
    with pytest.raises(ConfigError, match=r"config.json is damaged .*delete it and run"):
      call()


def test_a_second_process_on_one_workdir_is_refused_with_the_first_ones_pid(tmp_path):
  holder = subprocess.Popen(
      [sys.executable, "-c", "import sys; from mer_jax.train import run_lock; "
       f"run_lock.acquire({str(tmp_path)!r}); print('locked', flush=True); sys.stdin.read()"],
      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ConfigError, match=rf"in use by pid {holder.pid} on host "
                                          rf"{socket.gethostname()}"):
      run_dir.prepare(str(tmp_path), {})
  finally:
    holder.communicate("")
  run_dir.prepare(str(tmp_path), {})  # Its process ended: the lock is free.
  run_dir.prepare(str(tmp_path), {})  # ... and this process may take it again.
  run_lock.release(str(tmp_path))


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path):
  (tmp_path / run_lock.LOCK_FILE).write_text("pid 999999 on host gone, started long ago\n")
  run_lock.acquire(str(tmp_path))
  assert f"pid {os.getpid()}" in (tmp_path / run_lock.LOCK_FILE).read_text()
  run_lock.release(str(tmp_path))
