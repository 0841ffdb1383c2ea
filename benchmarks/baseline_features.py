"""Seconds per clip of the baselines' descriptors (LBP-TOP, HOOF) on a CASME II-sized clip.

  python -m benchmarks.baseline_features --frames=67 --side=280 --json=out.json

A CASME II clip runs onset..offset over about 67 frames (200 fps) of a
cropped face about 280 x 340 px; the clip here is a built-in synthetic face
of --frames frames at --side x --side. Each setting is the full recipe
(recipes.lbp_top_features / hoof_features, as configs/lbp_top.py and
configs/hoof.py run them: grey, 128 x 128, TIM, descriptor; HOOF includes
its TV-L1 flows), the median of --repeats calls after one warm-up call
(which compiles the JAX TV-L1 for that shape).
"""

from __future__ import annotations

from collections.abc import Sequence
import json

from absl import app, flags
import jax

from benchmarks.preprocessing import make_clip, recipe_of, seconds_per_clip
from mer_jax.preprocess import recipes

_FRAMES = flags.DEFINE_integer("frames", 67, "Frames in the clip (onset..offset).")
_SIDE = flags.DEFINE_integer("side", 280, "Side of the frames in pixels.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls per setting (median).")
_JSON = flags.DEFINE_string("json", "", "Also write the figures to this JSON file.")

SETTINGS = (("lbp_top", "p4_tim10"), ("lbp_top", "p8_tim10"), ("lbp_top", "p4_tim64"),
            ("lbp_top", "p8_tim64"), ("hoof", "n4_tim10"), ("hoof", "n8_tim10"),
            ("hoof", "n4_tim64"), ("hoof", "n8_tim64"))


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  clip = make_clip(_FRAMES.value, _SIDE.value)
  print(f"jax {jax.__version__} backend={jax.default_backend()}; clip {clip.shape}")
  figures = {}
  for method, setting in SETTINGS:
    recipe = recipe_of(method, setting)
    seconds = seconds_per_clip(clip, recipe, _REPEATS.value)
    dim = recipes.run(clip, recipe)["features"].size
    figures[f"{method} {setting}"] = {"seconds_per_clip": seconds, "dimensions": dim}
    print(f"{method:8s} {setting:9s} {seconds:7.3f} s/clip  {dim:6d}-d", flush=True)
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump({"clip_shape": list(clip.shape), "backend": jax.default_backend(),
                 "figures": figures}, f, indent=2)


if __name__ == "__main__":
  app.run(main)
