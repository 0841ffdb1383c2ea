"""Entry point: `python -m mer_jax.main --config=configs/NAME.py[:VARIANT] --workdir=DIR`.

Loads the config (ml_collections config file; `--config.x=y` overrides a
field), logs the devices and runs the experiment (a deep model or a baseline
SVM, experiment.py), or every run of the config's sweep side by side
(train/sweep.py). Errors caused by the input (an unknown config field, a
missing dataset, an unwritable workdir) are printed as one clear message,
without a traceback, and exit with status 2.
"""

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from mer_jax import command_line, experiment
from mer_jax.errors import MerError
from mer_jax.train import sweep

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, e.g. configs/elrcn_se.py:demo.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and reports.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  command_line.quiet_library_logs()
  logging.info("JAX %s, process %d/%d, devices: %s", jax.__version__, jax.process_index(),
               jax.process_count(), jax.devices())
  try:
    if sweep.runs(_CONFIG.value):
      sweep.run(_CONFIG.value, _WORKDIR.value)
    else:
      experiment.run(_CONFIG.value, _WORKDIR.value)
  except MerError as e:
    command_line.fail(str(e))
  except jax.errors.JaxRuntimeError as e:
    if "RESOURCE_EXHAUSTED" not in str(e):
      raise
    command_line.fail(command_line.out_of_memory_message(str(e)))


if __name__ == "__main__":
  app.run(main, flags_parser=command_line.parse_flags)
