"""Entry point: `python -m mer_jax.main --config=configs/NAME.py[:VARIANT] --workdir=DIR`.

Loads the config (ml_collections config file; `--config.x=y` overrides a
field), logs the devices and runs `train_and_evaluate`. Errors caused by the
input (an unknown config field, a missing dataset, an unwritable workdir) are
printed as one clear message, without a traceback, and exit with status 2.
"""

import logging as py_logging

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from mer_jax import command_line
from mer_jax.errors import MerError
from mer_jax.train import loop

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, e.g. configs/elrcn_se.py:demo.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and reports.")
flags.mark_flags_as_required(["config", "workdir"])

# Libraries whose INFO lines drown the run's own log (orbax logs every save).
_QUIET_LIBRARIES = ("/orbax/", "/jax/_src/", "/etils/")


class _QuietLibraries(py_logging.Filter):
  """Drops INFO and DEBUG records that come from the noisy libraries above."""

  def filter(self, record: py_logging.LogRecord) -> bool:
    return record.levelno >= py_logging.WARNING or not any(
        lib in record.pathname for lib in _QUIET_LIBRARIES)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.get_absl_handler().addFilter(_QuietLibraries())
  logging.info("JAX %s, process %d/%d, devices: %s", jax.__version__, jax.process_index(),
               jax.process_count(), jax.devices())
  try:
    loop.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except MerError as e:
    command_line.fail(str(e))


if __name__ == "__main__":
  app.run(main, flags_parser=command_line.parse_flags)
