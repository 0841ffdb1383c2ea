"""How mer_jax's commands report bad input: one line on stderr, exit status 2.

Shared by `mer_jax.main`, `mer_jax.gradcam`, `mer_jax.predict` and the data
tools: absl flag mistakes and `--config.x=y` overrides that do not fit the
config become one readable line instead of a traceback.
"""

import logging as py_logging
import sys

from absl import flags, logging

# Libraries whose INFO lines drown a command's own log (orbax logs every save).
_QUIET_LIBRARIES = ("/orbax/", "/jax/_src/", "/etils/")


class _QuietLibraries(py_logging.Filter):
  """Drops INFO and DEBUG records that come from the noisy libraries above."""

  def filter(self, record: py_logging.LogRecord) -> bool:
    return record.levelno >= py_logging.WARNING or not any(
        lib in record.pathname for lib in _QUIET_LIBRARIES)


def quiet_library_logs() -> None:
  """Keeps orbax's and jax's INFO lines out of the absl log (warnings still show)."""
  logging.get_absl_handler().addFilter(_QuietLibraries())


def fail(message: str) -> None:
  """Prints `mer_jax: error: MESSAGE` and exits with status 2."""
  print(f"mer_jax: error: {message}", file=sys.stderr)
  sys.exit(2)


def parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing (pass to `app.run(..., flags_parser=parse_flags)`)."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"{e} (pass --helpshort to see the flags)")
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    # ml_collections raises these for an override of a field the config lacks.
    overrides = [a for a in argv[1:] if a.startswith("--config.")]
    fail(f"cannot apply the config override(s) {' '.join(overrides)}: {e} "
         "(a field that the config file does not define, or a value of the wrong type)")


def out_of_memory_message(error: str) -> str:
  """What to change when a step does not fit the device; finished folds are kept."""
  first = error.strip().splitlines()[0]
  return (f"the device ran out of memory ({first}). Folds already finished are kept, and the "
          "same command resumes with any of --config.protocol.folds_in_parallel=1, "
          "--config.train.microbatches=N (N divides batch_size; the same update) or "
          "--config.model.remat=True (where the model has it). Not the paper's setting, in a "
          "new --workdir: --config.model.dtype=bfloat16. BUILD_NOTES.md lists measured peak "
          "memory.")

