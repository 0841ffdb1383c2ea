"""Writing a file so that a reader (or a killed run) never sees it half written.

Every file a run leaves behind (config.json, results.json, reports, figures,
pre-training summaries, sweep comparisons) goes through `write_atomic`: the
bytes land in a temporary file in the same directory, are flushed to disk,
and then renamed over the target in one step.
"""

from __future__ import annotations

import os
import tempfile


def write_atomic(path: str, data: bytes) -> None:
  """Writes via a temp file in the same dir, then renames over `path`."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                             suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())  # the rename must never expose unwritten bytes
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be shared
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise
