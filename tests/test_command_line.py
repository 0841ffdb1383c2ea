"""command_line.run_reporting: what fails while a command runs ends in one line and a status."""

import errno

import pytest

from mer_jax import command_line
from mer_jax.errors import DataError


def raising(error):
  def body():
    raise error
  return body


@pytest.mark.parametrize("error, status, message", [
    (OSError(errno.ENOSPC, "No space left on device", "/runs/a/checkpoints/folds_000-003"), 2,
     "no space left on the disk that holds /runs/a/checkpoints/folds_000-003; free some space: "
     "finished folds and the last complete checkpoint are kept, so the same command resumes"),
    (RuntimeError("tensorstore: write failed: No space left on device [path=/runs/a]\nmore"), 2,
     "no space left on the disk that holds a file; free some space"),
    (PermissionError(errno.EACCES, "Permission denied", "/cache/casme2"), 2,
     "/cache/casme2 cannot be written (Permission denied); make it writable, or point the run "
     "at a folder that is (--workdir, --config.data.cache_dir)"),
    (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/run"), 2,
     "/mnt/ro/run cannot be written (Read-only file system)"),
    (DataError("casme2.xlsx, row 3: field 'OnsetF' is 'x'"), 2,
     "casme2.xlsx, row 3: field 'OnsetF' is 'x'"),
    (KeyboardInterrupt(), 130, "mer_jax: interrupted; run the same command to resume"),
    (command_line.Interrupted("SIGTERM"), 130, "mer_jax: interrupted; run the same command"),
])
def test_a_failure_while_running_is_one_line_and_a_status(capsys, error, status, message):
  with pytest.raises(SystemExit) as stopped:
    command_line.run_reporting(raising(error))
  assert stopped.value.code == status
  err = capsys.readouterr().err
  assert message in err and err.strip().count("\n") == 0, err


def test_other_errors_keep_their_traceback():
  with pytest.raises(ZeroDivisionError):
    command_line.run_reporting(raising(ZeroDivisionError("a bug")))
