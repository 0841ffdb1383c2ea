"""Frame pairs per second of TV-L1: JAX batch path versus OpenCV, same frames.

  python -m benchmarks.tvl1_speed --size=64 --pairs=32

Frames are consecutive grayscale frames of synthetic micro-expression clips
(mer_jax.data.synthetic) at --size x --size. The JAX figure is the median of
--repeats timed calls of `tvl1_batch` on all pairs after one warm-up call
(which compiles), each ended by block_until_ready; OpenCV runs the same pairs
one after another (its own threads allowed), also median of --repeats.
Default (OpenCV) TV-L1 parameters throughout. `python -m benchmarks.run
--only preprocessing` measures the same (benchmarks/preprocessing.py) and
adds the two methods' agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
import time

from absl import app
from absl import flags
import cv2
import jax

from benchmarks.preprocessing import make_pairs
from benchmarks.timing import median_seconds
from mer_jax.preprocess import flow

_SIZE = flags.DEFINE_integer("size", 64, "Frame side in pixels.")
_PAIRS = flags.DEFINE_integer("pairs", 32, "Number of frame pairs.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per method (median).")


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
