"""How the folds of a group share one compiled program: `config.protocol.fold_strategy`.

  'vmap'  every fold's step batched into one (`jax.vmap` over the fold axis):
          a convolution with per-fold weights becomes one grouped convolution.
  'map'   the folds of a device one after another inside the same compiled
          program (a `jax.lax.scan` over them, unrolled on the CPU backend):
          one compile, no host round trips, each fold's convolutions as one
          fold's. Folds on different devices still run side by side.
  'auto'  (the default) the faster of the two for the backend and the model,
          from the measurements in AUTO.

Both compute the same per-fold functions with the same per-fold keys, so a
run's results do not depend on the strategy beyond float rounding
(tests/train/test_fold_strategy.py).
"""

from __future__ import annotations

from mer_jax.errors import ConfigError

STRATEGIES = ("vmap", "map", "auto")

# (backend, model_name) -> what 'auto' runs; a model not listed takes its
# backend's entry under None. Figures: one epoch of 4 folds at once, `:demo`
# sizes, 2 steps, s per epoch vmap -> map, 2-core CPU alone, jax 0.10.2 on
# Python 3.11 (`python -m benchmarks.run --only fold_scaling --folds 1,4
# --strategies vmap,map --repeats 4`; BUILD_NOTES "Fold strategy figures").
# ELRCN-TE and the spatial-only ablation are the VGG-16 family of ELRCN-SE and
# follow it unmeasured. On accelerators nothing is measured yet: vmap, the
# design's batching of folds, until the GPU suite (benchmarks/gpu_suite.sh)
# measures both.
AUTO: dict[tuple[str, str | None], str] = {
    ("cpu", None): "map",                    # a new convolutional model: like the measured ones
    ("cpu", "mer_rcnn"): "map",              # 1.959 -> 0.490 s
    ("cpu", "elrcn_se"): "map",              # 1.622 -> 0.327 s
    ("cpu", "elrcn_te"): "map",              # VGG-16 as elrcn_se
    ("cpu", "elrcn_spatial_only"): "map",    # VGG-16 as elrcn_se
    ("cpu", "r3d_convlstm_ae"): "map",       # 2.316 -> 2.118 s
    ("cpu", "atnet"): "vmap",                # 0.638 vs 0.703 s: small convs, batched wins
    ("cpu", "elrcn_temporal_only"): "vmap",  # 0.151 vs 0.163 s: LSTMs only
    ("gpu", None): "vmap",
    ("tpu", None): "vmap",
}


def check(strategy: str) -> None:
  """ConfigError unless `strategy` is one of STRATEGIES."""
  if strategy not in STRATEGIES:
    raise ConfigError(f"config.protocol.fold_strategy={strategy!r}; expected one of "
                      f"{STRATEGIES} ('auto': chosen per backend and model)")


def resolve(strategy: str, backend: str, model_name: str) -> str:
  """'vmap' or 'map': `strategy` itself, or what 'auto' picks for `backend` and the model."""
  check(strategy)
  if strategy != "auto":
    return strategy
  return AUTO.get((backend, model_name), AUTO.get((backend, None), "vmap"))
