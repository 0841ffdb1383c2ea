"""Entry point: `python -m mer_jax.main --config=configs/NAME.py[:VARIANT] --workdir=DIR`.

Loads the config (ml_collections config file; `--config.x=y` overrides a
field), logs the devices and runs the experiment (a deep model or a baseline
SVM, experiment.py), or every run of the config's sweep side by side
(sweep.py). Errors caused by the input (an unknown config field, a
missing dataset, an unwritable workdir) are printed as one clear message,
without a traceback, and exit with status 2; so are a full or read-only disk
(command_line.py). Ctrl-C or SIGTERM stops it with status 130 and one line:
the same command resumes. `--print_config` prints every field of the resolved
config with its meaning and default, and exits (config_docs.py).

`--multihost` (or MER_JAX_MULTIHOST=1) runs one experiment over several
processes (multihost.py): every process runs the same command; the
coordinator, process count and id are detected on Slurm and Cloud TPU, or
given by the flags below (launch/ has scripts for each case).
"""

import os

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from mer_jax import backend_check, command_line, config_docs, experiment, multihost, sweep
from mer_jax.data import corpus_roots

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, e.g. configs/elrcn_se.py:demo.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and reports.")
_MULTIHOST = flags.DEFINE_bool(
    "multihost", os.environ.get("MER_JAX_MULTIHOST", "") not in ("", "0"),
    "Join the other processes of a multi-process run (jax.distributed.initialize) before "
    "anything else; default from the MER_JAX_MULTIHOST environment variable.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "With --multihost: host:port of process 0 (default: detected "
    "from Slurm / Cloud TPU).")
_NUM_PROCESSES = flags.DEFINE_integer(
    "num_processes", None, "With --multihost: the number of processes (default: detected).")
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", None, "With --multihost: this process's index, 0..num_processes-1 "
    "(default: detected).")
_PRINT_CONFIG = flags.DEFINE_bool(
    "print_config", False, "Print every field of the resolved config with its meaning and "
    "default (config_docs.py), then exit; needs no --workdir.")
flags.mark_flags_as_required(["config"])  # --workdir too, unless --print_config (main).


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if _PRINT_CONFIG.value:
    print(config_docs.render_file(config_flags.get_config_filename(flags.FLAGS["config"]),
                                  _CONFIG.value))
    return
  if not _WORKDIR.value:
    command_line.fail("--workdir=DIR is required (or --print_config to print the config)")
  command_line.quiet_library_logs()
  if _MULTIHOST.value:
    multihost.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  elif _COORDINATOR.value or _NUM_PROCESSES.value or _PROCESS_ID.value is not None:
    command_line.fail("--coordinator_address, --num_processes and --process_id need "
                      "--multihost")
  backend_check.log_backend(_CONFIG.value)
  command_line.run_reporting(lambda: run(_CONFIG.value, _WORKDIR.value))


def run(config, workdir: str) -> None:
  """The experiment or the sweep of `config`; a device out of memory is one line.

  Datasets without a root in the config get one from the user's datasets
  file or $MER_JAX_DATA (data/corpus_roots.py), logged with where it came from.
  """
  if found := corpus_roots.fill_config_roots(config.data):
    logging.info("corpora:\n%s", corpus_roots.describe(found))
  try:
    if sweep.runs(config):
      sweep.run(config, workdir)
    else:
      experiment.run(config, workdir)
  except jax.errors.JaxRuntimeError as e:
    if "RESOURCE_EXHAUSTED" not in str(e):
      raise
    command_line.fail(command_line.out_of_memory_message(str(e)))


if __name__ == "__main__":
  app.run(main, flags_parser=command_line.parse_flags)
