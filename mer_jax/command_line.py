"""How mer_jax's commands report bad input: one line on stderr, exit status 2.

Shared by `mer_jax.main`, `mer_jax.gradcam`, `mer_jax.predict` and the data
tools: absl flag mistakes, a `--config` file or variant that does not exist,
a `--config.x=y` field given twice or that does not fit the config become
one readable line instead of a traceback; `run_reporting` does the same for
what happens while a command runs (input errors, a full or read-only disk,
Ctrl-C and SIGTERM, which exit 130 and leave the run resumable).
"""

import errno
import logging as py_logging
import os
import signal
import sys
from typing import Callable

from absl import flags, logging

from mer_jax.errors import MerError

# Exit status of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells do).
INTERRUPTED_STATUS = 130

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
  check_overrides_once(argv)
  check_config_file(argv)
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"{config_file_error(str(e))} (pass --helpshort to see the flags)")
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



def override_names(argv: list[str]) -> list[str]:
  """The fields `--config.FIELD=...` (or `--config.FIELD VALUE`) of `argv`, in order."""
  return [a.split("=", 1)[0][len("--config."):] for a in argv[1:] if a.startswith("--config.")]


def check_overrides_once(argv: list[str]) -> None:
  """A field overridden twice is refused (tuples would add up, scalars keep the last)."""
  names = override_names(argv)
  twice = sorted({n for n in names if names.count(n) > 1})
  if twice:
    fail(f"--config.{twice[0]} is given {names.count(twice[0])} times; give each config "
         "field once (for several values use one tuple, e.g. "
         "--config.data.datasets=\"('casme2', 'samm')\")")


def config_file_arg(argv: list[str]) -> str | None:
  """The value of `--config=PATH[:VARIANT]` (or `--config PATH`) in `argv`, if any."""
  for i, a in enumerate(argv[1:], 1):
    if a.startswith("--config="):
      return a[len("--config="):]
    if a == "--config" and i + 1 < len(argv):
      return argv[i + 1]
  return None


def check_config_file(argv: list[str]) -> None:
  """A `--config` path that does not exist is one line listing the configs beside it."""
  value = config_file_arg(argv)
  if value is None or "config" not in flags.FLAGS:
    return
  path = value.split(":", 1)[0]
  if os.path.isfile(path):
    return
  folder = os.path.dirname(path) or "."
  found = sorted(f for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_")
                 ) if os.path.isdir(folder) else []
  listed = (f"; {folder}/ has {', '.join(found)}" if found
            else f"; {folder}/ is not a folder of config files")
  fail(f"--config={value}: no such config file {path}{listed}")


def config_file_error(message: str) -> str:
  """ml_collections' error for a config file that fails to load, without its traceback.

  A config's own `get_config` raising (an unknown variant, say) becomes
  `--config=FILE:VARIANT: <its last line>`.
  """
  if "Traceback (most recent call last)" not in message:
    return message
  head = message.split(":", 1)[0].replace("flag ", "")
  last = [line for line in message.splitlines() if line.strip()][-1].strip()
  if last.startswith("(pass --helpshort"):
    last = [line for line in message.splitlines() if line.strip()][-2].strip()
  cause = last.split(": ", 1)[-1]
  return f"{head}: {cause}"


class Interrupted(BaseException):
  """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


def _raise_interrupted(signum, frame) -> None:
  raise Interrupted(signal.Signals(signum).name)


def os_error_message(e: OSError) -> str:
  """One line for a file-system failure: where, what, and what to do."""
  where = e.filename or "a file"
  kept = ("finished folds and the last complete checkpoint are kept, so the same command "
          "resumes")
  if e.errno == errno.ENOSPC or "No space left on device" in str(e):
    return f"no space left on the disk that holds {where}; free some space: {kept}"
  if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
    return (f"{where} cannot be written ({e.strerror}); make it writable, or point the run "
            "at a folder that is (--workdir, --config.data.cache_dir)")
  return f"{where}: {e.strerror or e} (errno {errno.errorcode.get(e.errno, e.errno)})"


def run_reporting(body: Callable[[], None]) -> None:
  """Runs a command's body; what goes wrong there ends in one line, not a traceback.

  Input errors (MerError) and file-system failures exit 2; Ctrl-C and SIGTERM
  (Slurm's preemption) exit 130 with a line saying the same command resumes.
  """
  signal.signal(signal.SIGTERM, _raise_interrupted)
  try:
    body()
  except MerError as e:
    fail(str(e))
  except OSError as e:
    fail(os_error_message(e))
  except Exception as e:  # A full disk as the checkpoint library reports it.
    if "No space left on device" not in str(e):
      raise
    fail(os_error_message(OSError(errno.ENOSPC, str(e).splitlines()[0])))
  except (KeyboardInterrupt, Interrupted):
    print("mer_jax: interrupted; run the same command to resume (finished folds and the "
          "last complete checkpoint are kept)", file=sys.stderr, flush=True)
    sys.exit(INTERRUPTED_STATUS)
