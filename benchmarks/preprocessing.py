"""Preprocessing throughput: TV-L1 flow (JAX against OpenCV), EVM, LBP-TOP.

All inputs are built-in synthetic faces (mer_jax.data.synthetic).
  tvl1     frame pairs per second of `flow.tvl1_batch` (all pairs in one
           jitted call, ended by block_until_ready, compiled in a warm-up
           call whose time is `compile_s`) and of OpenCV's DualTVL1
           (`flow.opencv_tvl1`, one pair after another, OpenCV's own
           threads), on the same consecutive grey frame pairs in [0, 1],
           default (OpenCV's) parameters on both. Accuracy: the mean
           end-point distance between the two methods' flows
           (`epe_vs_opencv_px`) beside the frames' mean OpenCV motion.
  evm      frames per second of `evm.magnify` (MER-RCNN's recipe settings:
           alpha 10, band 0.05-0.4) on one RGB clip, after a warm-up call.
  lbp_top  clips per second of the LBP-TOP recipe (configs/lbp_top.py,
           {3,3,3,4}, TIM 10: grey, 128 x 128, TIM, descriptor) on one clip
           of CASME II's size by default (67 frames at 280 x 280).
Each figure is the median of `repeats` timed calls.
"""

from __future__ import annotations

import os

import cv2
import jax
import numpy as np

from benchmarks import families, timing
from mer_jax import config_files
from mer_jax.data import synthetic
from mer_jax.preprocess import evm, flow, recipes



def make_pairs(size: int, pairs: int) -> tuple[np.ndarray, np.ndarray]:
  """Consecutive grayscale frame pairs in [0, 1]: two float32 [N, size, size]."""
  spec = synthetic.SyntheticSpec(num_subjects=1, clips_per_subject=max(1, pairs // 8),
                                 image_size=size)
  grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for v in synthetic.generate(spec).videos
          for f in v]  # clips back to back; a few pairs span two clips
  frames = np.stack(grey).astype(np.float32) / 255.0  # [T, S, S]
  idx = np.arange(pairs) % (len(frames) - 1)
  return frames[idx], frames[idx + 1]


def make_clip(frames: int, side: int) -> np.ndarray:
  """One synthetic clip, uint8 `[frames, side, side, 3]`."""
  seconds = frames / 200.0
  spec = synthetic.SyntheticSpec(num_subjects=1, clips_per_subject=1, image_size=side,
                                 min_duration_s=seconds, max_duration_s=seconds, difficulty=3.0)
  return synthetic.generate(spec).videos[0]


def recipe_of(method: str, setting: str) -> dict:
  """The recipe of `configs/<method>.py:casme2,<setting parts>` without the face detector."""
  config = config_files.load_config(os.path.join(families.CONFIG_DIR, f"{method}.py"),
                                    "casme2," + setting.replace("_", ","))
  return {**config.data.recipe.to_dict(), "face": "none"}


def seconds_per_clip(clip: np.ndarray, recipe: dict, repeats: int) -> float:
  """Median seconds of the whole recipe on `clip`, after a warm-up call (which compiles)."""
  recipes.run(clip, recipe)
  return timing.median_seconds(lambda: recipes.run(clip, recipe), repeats)


def tvl1(size: int, pairs: int, repeats: int) -> dict:
  """TV-L1 pairs per second, JAX batch against OpenCV (see the module docstring)."""
  frames0, frames1 = make_pairs(size, pairs)
  run_jax = lambda: flow.tvl1_batch(frames0, frames1).block_until_ready()  # noqa: E731
  compile_s = timing.seconds(run_jax)
  jax_s = timing.median_seconds(run_jax, repeats)
  ours = np.asarray(run_jax())
  run_cv = lambda: [flow.opencv_tvl1(a, b) for a, b in zip(frames0, frames1)]  # noqa: E731
  cv_s = timing.median_seconds(run_cv, repeats)
  theirs = np.stack(run_cv())
  return {"benchmark": "preprocessing", "name": f"tvl1 {size}x{size}",
          "params": {"size": size, "pairs": pairs, "repeats": repeats,
                     "opencv_threads": cv2.getNumThreads()},
          "metrics": {"jax_pairs_per_s": pairs / jax_s, "opencv_pairs_per_s": pairs / cv_s,
                      "ratio": cv_s / jax_s, "compile_s": compile_s,
                      "epe_vs_opencv_px": float(np.linalg.norm(ours - theirs, axis=-1).mean()),
                      "opencv_motion_px": float(np.linalg.norm(theirs, axis=-1).mean())},
          "units": {"jax_pairs_per_s": "pairs/s", "opencv_pairs_per_s": "pairs/s",
                    "ratio": "jax/opencv", "compile_s": "s", "epe_vs_opencv_px": "px",
                    "opencv_motion_px": "px"}}


def evm_speed(frames: int, side: int, repeats: int) -> dict:
  """EVM frames per second on one RGB clip."""
  clip = make_clip(frames, side)
  run = lambda: jax.block_until_ready(evm.magnify(clip, alpha=10.0, low=0.05, high=0.4))  # noqa
  compile_s = timing.seconds(run)
  seconds = timing.median_seconds(run, repeats)
  return {"benchmark": "preprocessing", "name": f"evm {frames}x{side}x{side}",
          "params": {"frames": frames, "side": side, "repeats": repeats},
          "metrics": {"frames_per_s": frames / seconds, "compile_s": compile_s},
          "units": {"frames_per_s": "frames/s", "compile_s": "s"}}


def lbp_top_speed(frames: int, side: int, repeats: int) -> dict:
  """LBP-TOP recipe clips per second ({3,3,3,4}, TIM 10)."""
  clip = make_clip(frames, side)
  seconds = seconds_per_clip(clip, recipe_of("lbp_top", "p4_tim10"), repeats)
  return {"benchmark": "preprocessing", "name": f"lbp_top {frames}x{side}x{side}",
          "params": {"frames": frames, "side": side, "setting": "p4_tim10", "repeats": repeats},
          "metrics": {"clips_per_s": 1.0 / seconds},
          "units": {"clips_per_s": "clips/s"}}


def run(smoke: bool, repeats: int) -> list[dict]:
  """The preprocessing figures: full sizes, or tiny ones for `--only smoke`."""
  if smoke:
    return [tvl1(16, 4, repeats), evm_speed(16, 32, repeats), lbp_top_speed(24, 64, repeats)]
  return [tvl1(64, 32, repeats), tvl1(128, 32, repeats), evm_speed(67, 128, repeats),
          lbp_top_speed(67, 280, repeats)]
