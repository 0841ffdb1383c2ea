"""Wall-clock timing: medians of repeated calls, and A/B alternation in one process."""

from __future__ import annotations

from collections.abc import Callable
import statistics
import time


def seconds(fn: Callable[[], object]) -> float:
  """Wall time of one call of `fn` (which must block until its work is done)."""
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
  """Median wall time of `fn()` over `repeats` calls."""
  return statistics.median(seconds(fn) for _ in range(repeats))


def alternate(a: Callable[[], object], b: Callable[[], object], repeats: int
              ) -> tuple[list[float], list[float]]:
  """Times `a` and `b` in `repeats` alternating pairs (a, b, a, b, ...); returns both lists.

  Alternation spreads slow drifts of the machine (another job starting, the
  CPU's clock) evenly over both sides of a comparison.
  """
  times_a, times_b = [], []
  for _ in range(repeats):
    times_a.append(seconds(a))
    times_b.append(seconds(b))
  return times_a, times_b
