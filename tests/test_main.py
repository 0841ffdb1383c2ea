"""The command line: clear one-line errors for bad input, exit status 2, no traceback."""

import signal
import subprocess
import sys

import pytest

SMOKE = "--config=configs/elrcn_temporal_only.py:smoke"


def run_main(repo_root, *args, timeout=300):
  return subprocess.run([sys.executable, "-m", "mer_jax.main", *args], cwd=repo_root,
                        capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["--config.train.bogus=3"], "cannot apply the config override(s) --config.train.bogus=3"),
    (["--config.train.num_epochs=many"], "--config.train.num_epochs=many"),
    (["--config.data.datasets=('casme9',)"], "dataset 'casme9' is unknown"),
    (["--config.data.datasets=('casme2',)"], "no root folder for dataset 'casme2'"),
    (["--config.data.datasets=('casme2',)", "--config.data.roots.casme2=/nonexistent"],
     "root /nonexistent: no such directory"),
    (["--config.data.label_scheme=megc2019", "--config.data.apex=midpoint"],
     "megc2019 needs config.data.apex='annotated'"),
    (["--config.data.synthetic.num_subjects=1"], "empty training set"),
    (["--config.data.label_scheme=nine_class"], "is not a label scheme"),
    (["--config.model_name=vgg99"], "is not a model"),
    (["--config.train.selection=best_on_test"], "config.train.selection='best_on_test'"),
    (["--config.train.val_fraction=1.5"], "config.train.val_fraction must be in (0, 1)"),
    (["--config.data.synthetic.clips_per_subject=0"], "need >= 1 subject and clip"),
    (["--process_id=1", "--num_processes=2"], "--process_id need --multihost"),
    (["--config.data.datasets=('casme2',)", "--config.data.datasets=('samm',)"],
     "--config.data.datasets is given 2 times; give each config field once"),
    (["--config.train.untrained_folds=skip"], "config.train.untrained_folds='skip'"),
    (["--config.schedule.base_lr=3e38"], "4 of 4 folds have no trained model"),
])
def test_bad_input_is_one_clear_line(repo_root, tmp_path, args, message):
  out = run_main(repo_root, SMOKE, f"--workdir={tmp_path / 'run'}", *args)
  assert out.returncode == 2, out.stderr[-3000:]
  assert message in out.stderr
  assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args, message", [
    ([], "config.pretrained.path is empty"),
    (["--config.pretrained.path=/nonexistent/vgg_face_dag.pth"],
     "does not exist. mer_jax downloads nothing"),
])
def test_elrcn_te_without_vgg_face_says_where_to_get_it(repo_root, tmp_path, args, message):
  out = run_main(repo_root, "--config=configs/elrcn_te.py", f"--workdir={tmp_path / 'run'}",
                 "--config.data.roots.casme2=/nonexistent", *args)
  assert out.returncode == 2, out.stderr[-3000:]
  assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("config, message", [
    ("configs/elrcn_temporal_only.py:tiny",
     "--config=configs/elrcn_temporal_only.py: unknown variant 'tiny'; expected"),
    ("configs/elrcn_temporl_only.py", "no such config file configs/elrcn_temporl_only.py; "
                                      "configs/ has atnet.py, "),
])
def test_a_config_file_or_variant_typo_is_one_line(repo_root, tmp_path, config, message):
  out = run_main(repo_root, f"--config={config}", f"--workdir={tmp_path}")
  assert out.returncode == 2 and "Traceback" not in out.stderr
  assert out.stderr.strip().count("\n") == 0 and message in out.stderr, out.stderr


def test_a_failed_start_leaves_the_workdir_open_to_the_corrected_command(repo_root, tmp_path):
  bad = run_main(repo_root, SMOKE, f"--workdir={tmp_path}", "--config.data.synthetic.num_subjects=1")
  assert bad.returncode == 2 and not (tmp_path / "config.json").exists()
  good = run_main(repo_root, SMOKE, f"--workdir={tmp_path}")
  assert good.returncode == 0, good.stderr[-3000:]


def start_and_signal(repo_root, workdir, sig):
  """Starts a long smoke run, sends `sig` once it trains; (exit status, stderr)."""
  proc = subprocess.Popen(
      [sys.executable, "-m", "mer_jax.main", SMOKE, f"--workdir={workdir}",
       "--config.train.num_epochs=60", "--config.train.selection=last"],
      cwd=repo_root, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
  lines = []
  for line in proc.stderr:
    lines.append(line)
    if "] epoch 0:" in line:
      proc.send_signal(sig)
      break
  lines += proc.stderr.readlines()
  return proc.wait(timeout=120), "".join(lines)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_exit_130_with_one_line_and_the_run_resumes(repo_root, tmp_path, sig):
  status, stderr = start_and_signal(repo_root, tmp_path, sig)
  assert status == 130, stderr[-3000:]
  assert "Traceback" not in stderr
  assert "mer_jax: interrupted; run the same command to resume" in stderr
  if sig == signal.SIGINT:  # The same command then finishes the run.
    out = run_main(repo_root, SMOKE, f"--workdir={tmp_path}", "--config.train.num_epochs=60",
                   "--config.train.selection=last")
    assert out.returncode == 0 and (tmp_path / "results.json").exists(), out.stderr[-3000:]


def test_workdir_that_is_a_file(repo_root, tmp_path):
  (tmp_path / "file").write_text("")
  out = run_main(repo_root, SMOKE, f"--workdir={tmp_path / 'file'}")
  assert out.returncode == 2 and "is not a writable directory" in out.stderr


def test_smoke_run_prints_the_table(repo_root, tmp_path):
  out = run_main(repo_root, SMOKE, f"--workdir={tmp_path}")
  assert out.returncode == 0, out.stderr[-3000:]
  assert "| **all** |" in out.stdout and (tmp_path / "results.json").exists()


def test_out_of_memory_message_names_the_fields_to_change():
  from mer_jax import command_line
  message = command_line.out_of_memory_message(
      "RESOURCE_EXHAUSTED: Out of memory allocating 26299580224 bytes.\nmore detail")
  assert "Out of memory allocating 26299580224 bytes" in message and "more detail" not in message
  for field in ("folds_in_parallel", "train.microbatches", "model.remat", "model.dtype"):
    assert field in message
