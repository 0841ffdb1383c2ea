"""One process per run directory: a lock file that a dead process does not hold.

Two commands started on one `--workdir` would train the same folds and write
the same checkpoints at once. The first takes an exclusive `flock` on
`workdir/mer_jax.lock` and writes its pid, host and start time into it; a
second is refused with those. The kernel drops a flock when its process
dies (killed, crashed, the node rebooted), so a stale file never blocks a
new run. flock is advisory and may not reach across hosts on some network
file systems; where it does not, the lock only guards one host.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time

from mer_jax.errors import ConfigError

LOCK_FILE = "mer_jax.lock"
_held: dict[str, int] = {}  # realpath of a workdir -> the open file descriptor


def acquire(workdir: str) -> None:
  """Locks `workdir` for this process (again: a no-op); ConfigError when another holds it."""
  key = os.path.realpath(workdir)
  if key in _held:
    return
  path = os.path.join(workdir, LOCK_FILE)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError:
    holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
    os.close(fd)
    raise ConfigError(
        f"--workdir={workdir} is in use by {holder} ({path}); wait for that run to end or "
        "stop it, or use another --workdir") from None
  os.ftruncate(fd, 0)
  os.pwrite(fd, (f"pid {os.getpid()} on host {socket.gethostname()}, started "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n").encode("utf-8"), 0)
  _held[key] = fd


def release(workdir: str) -> None:
  """Lets another process take `workdir` (this process keeps it until exit otherwise)."""
  fd = _held.pop(os.path.realpath(workdir), None)
  if fd is not None:
    os.close(fd)
