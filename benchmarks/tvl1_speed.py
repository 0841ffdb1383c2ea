"""Frame pairs per second of TV-L1: JAX batch path versus OpenCV, same frames.

  python -m benchmarks.tvl1_speed --size=64 --pairs=32

Frames are consecutive grayscale frames of synthetic micro-expression clips
(mer_jax.data.synthetic) at --size x --size. The JAX figure is the median of
--repeats timed calls of `tvl1_batch` on all pairs after one warm-up call
(which compiles), each ended by block_until_ready; OpenCV runs the same pairs
one after another (its own threads allowed), also median of --repeats.
Default (OpenCV) TV-L1 parameters throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import statistics
import time

from absl import app
from absl import flags
import cv2
import jax
import numpy as np

from mer_jax.data import synthetic
from mer_jax.preprocess import flow

_SIZE = flags.DEFINE_integer("size", 64, "Frame side in pixels.")
_PAIRS = flags.DEFINE_integer("pairs", 32, "Number of frame pairs.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per method (median).")


def make_pairs(size: int, pairs: int) -> tuple[np.ndarray, np.ndarray]:
  """Consecutive grayscale frame pairs in [0, 1]: two float32 [N, size, size]."""
  spec = synthetic.SyntheticSpec(num_subjects=1, clips_per_subject=max(1, pairs // 8),
                                 image_size=size)
  grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for v in synthetic.generate(spec).videos
          for f in v]  # clips back to back; a few pairs span two clips
  frames = np.stack(grey).astype(np.float32) / 255.0  # [T, S, S]
  idx = np.arange(pairs) % (len(frames) - 1)
  return frames[idx], frames[idx + 1]


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
  """Median wall time of `fn()` over `repeats` calls."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  frames0, frames1 = make_pairs(_SIZE.value, _PAIRS.value)
  n = len(frames0)
  print(f"jax {jax.__version__} backend={jax.default_backend()} devices={jax.devices()}")
  print(f"opencv {cv2.__version__} threads={cv2.getNumThreads()}; "
        f"{n} pairs of {_SIZE.value}x{_SIZE.value}")

  def run_jax():
    return flow.tvl1_batch(frames0, frames1).block_until_ready()

  start = time.perf_counter()
  run_jax()  # compiles
  print(f"jax warm-up (compile + run): {time.perf_counter() - start:.1f} s")
  jax_s = median_seconds(run_jax, _REPEATS.value)
  def run_opencv():
    return [flow.opencv_tvl1(a, b) for a, b in zip(frames0, frames1, strict=True)]

  cv_s = median_seconds(run_opencv, _REPEATS.value)
  print(f"jax tvl1_batch: {n / jax_s:8.1f} pairs/s ({jax_s:.3f} s per batch)")
  print(f"opencv (seq.):  {n / cv_s:8.1f} pairs/s ({cv_s:.3f} s)")


if __name__ == "__main__":
  app.run(main)
