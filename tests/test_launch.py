"""The cluster launch scripts build the right command; nothing is submitted or created.

`slurm.sbatch` runs under bash with a stand-in `srun` that records its arguments;
`tpu_vm.sh --dry-run` prints its gcloud commands. (`local_multiprocess.sh` is
run for real by test_multihost.py.)
"""

import os
import shlex
import subprocess

import pytest

FAKE_SRUN = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$SRUN_ARGS"
"""


@pytest.fixture
def fake_srun(tmp_path):
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  (bin_dir / "srun").write_text(FAKE_SRUN)
  (bin_dir / "srun").chmod(0o755)
  venv = tmp_path / "venv"
  (venv / "bin").mkdir(parents=True)
  (venv / "bin" / "python").write_text("")
  (venv / "bin" / "python").chmod(0o755)
  env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", MER_JAX_VENV=str(venv),
             SRUN_ARGS=str(tmp_path / "srun_args"))
  return env, venv, tmp_path / "srun_args"


def test_slurm_runs_main_with_multihost_on_every_node(repo_root, fake_srun):
  env, venv, args_file = fake_srun
  out = subprocess.run(["bash", "launch/slurm.sbatch", "configs/atnet.py:demo", "/shared/run",
                        "--config.protocol.folds_in_parallel=8"],
                       cwd=repo_root, env=env, capture_output=True, text=True, timeout=60)
  assert out.returncode == 0, out.stderr
  assert args_file.read_text().splitlines() == [
      "--kill-on-bad-exit=1", f"{venv}/bin/python", "-m", "mer_jax.main",
      "--config=configs/atnet.py:demo", "--workdir=/shared/run", "--multihost",
      "--config.protocol.folds_in_parallel=8"]


def test_slurm_without_arguments_or_python_says_what_is_missing(repo_root, fake_srun, tmp_path):
  env, _, args_file = fake_srun
  out = subprocess.run(["bash", "launch/slurm.sbatch"], cwd=repo_root, env=env,
                       capture_output=True, text=True, timeout=60)
  assert out.returncode == 2 and "usage: sbatch" in out.stderr
  env["MER_JAX_VENV"] = str(tmp_path / "nowhere")
  out = subprocess.run(["bash", "launch/slurm.sbatch", "c.py", "w"], cwd=repo_root, env=env,
                       capture_output=True, text=True, timeout=60)
  assert out.returncode == 2 and "set MER_JAX_VENV" in out.stderr
  assert not args_file.exists()


def dry_run(repo_root, *args):
  out = subprocess.run(["launch/tpu_vm.sh", *args], cwd=repo_root, capture_output=True,
                       text=True, timeout=60)
  assert out.returncode == 0, out.stderr
  return [shlex.split(line) for line in out.stdout.splitlines() if not line.startswith("#")]


def test_tpu_vm_dry_run_prints_create_copy_install_and_run(repo_root):
  commands = dry_run(repo_root, "--name", "mer", "--zone", "us-central2-b", "--type", "v4-16",
                     "--dry-run", "--", "configs/atnet.py", "/mnt/shared/my run",
                     "--config.protocol.folds_in_parallel=16")
  assert [c[:5] for c in commands[:1]] == [
      ["gcloud", "compute", "tpus", "tpu-vm", "create"]]
  assert commands[0][5:] == ["mer", "--zone=us-central2-b", "--accelerator-type=v4-16",
                             "--version=tpu-ubuntu2204-base"]
  assert commands[1][:3] == ["git", "-C", str(repo_root)] and commands[1][-1] == "HEAD"
  assert commands[2][4] == "scp" and "--worker=all" in commands[2]
  install, train = commands[3], commands[4]
  assert install[4] == "ssh" and "--worker=all" in install
  assert "pip install -e '.[tpu]'" in install[-1]
  # The default image's Python is 3.10: the install makes the venv with python3.11.
  assert "python3.11 -m venv .venv" in install[-1] and "deadsnakes" in install[-1]
  assert train[4] == "ssh" and "--worker=all" in train
  remote = shlex.split(train[-1].removeprefix("--command="))
  assert remote[remote.index("-m"):] == [
      "-m", "mer_jax.main", "--config=configs/atnet.py", "--workdir=/mnt/shared/my run",
      "--multihost", "--config.protocol.folds_in_parallel=16"]


def test_tpu_vm_dry_run_names_the_image_and_its_python(repo_root):
  out = subprocess.run(["launch/tpu_vm.sh", "--name", "m", "--zone", "z", "--type", "v4-8",
                        "--dry-run", "--version", "v2-alpha-tpuv6e", "--", "c.py", "w"],
                       cwd=repo_root, capture_output=True, text=True, timeout=60)
  assert out.stdout.splitlines()[0] == (
      "# TPU VM image: v2-alpha-tpuv6e; mer_jax's Python there: python3.11 (installed if "
      "missing)")


def test_tpu_vm_skip_create_and_missing_arguments(repo_root):
  commands = dry_run(repo_root, "--name", "mer", "--zone", "z", "--type", "v4-8", "--dry-run",
                     "--skip-create", "--", "c.py", "w")
  assert not any("create" in c for c in commands) and len(commands) == 4
  out = subprocess.run(["launch/tpu_vm.sh", "--dry-run", "--", "c.py", "w"], cwd=repo_root,
                       capture_output=True, text=True, timeout=60)
  assert out.returncode == 2 and "--name" in out.stderr
