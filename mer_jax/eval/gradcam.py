"""Grad-CAM (Selvaraju et al. 2017) on the last convolutional layer of the VGG models.

For a class c, the map of a frame is ReLU(sum_k alpha_k A^k) where A^k is
channel k of the last conv layer's (ReLU) output and alpha_k the spatial mean
of d logit_c / d A^k. ELRCN applies this to `conv5_3` of its VGG-16 (paper
section V); every VGG in a model (one for SE, three streams for TE) gets its
own map. `models.vgg.VGG16` exposes the layer by `sow` and `perturb`, so the
gradient is read through the 'perturbations' collection without changing the
model. Maps are upsampled to the input size and scaled to [0, 1] per clip
(so frames of one clip compare).
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
from matplotlib import colormaps
import numpy as np

from mer_jax.models.vgg import LAST_CONV_OUTPUT


def _layer_leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """{'cnn': value, 'stream_flow': value, ...} for every `conv5_3_relu` entry in `tree`."""
  found = {}
  for key, value in tree.items():
    if key == LAST_CONV_OUTPUT:
      found[prefix or "model"] = value
    elif isinstance(value, Mapping):
      found.update(_layer_leaves(value, f"{prefix}/{key}" if prefix else key))
  return found


def class_activation_maps(model: nn.Module, variables: Mapping[str, Any], clip: jax.Array,
                          class_index: int | None = None
                          ) -> tuple[dict[str, np.ndarray], int, np.ndarray]:
  """Grad-CAM maps of one clip.

  Args:
    model: a model whose CNNs are `VGG16`s (ELRCN SE / TE / spatial-only, vgg16).
    variables: its variables ('params', and 'batch_stats' if any).
    clip: one input, `[T, H, W, C]` (a clip) or `[H, W, C]` (an image for vgg16).
    class_index: the class to explain; None takes the predicted class.

  Returns:
    ({cnn name: maps [N, H, W] in [0, 1]}, class explained, logits [num_classes]),
    with N the frames of the clip (1 for an image).
  """
  x = jnp.asarray(clip)[None]
  variables = {k: v for k, v in variables.items() if k in ("params", "batch_stats")}
  (logits, _), state = model.apply(variables, x, train=False,
                                   mutable=["intermediates", "perturbations"])
  logits = jnp.reshape(logits, (-1,))
  c = int(jnp.argmax(logits)) if class_index is None else int(class_index)
  if not 0 <= c < logits.shape[0]:
    raise ValueError(f"class_index={class_index} is outside 0..{logits.shape[0] - 1}")

  def score(perturbations):
    out, _ = model.apply({**variables, "perturbations": perturbations}, x, train=False)
    return jnp.reshape(out, (-1,))[c]

  grads = _layer_leaves(jax.grad(score)(state["perturbations"]))
  acts = {k: v[0] for k, v in _layer_leaves(state["intermediates"]).items()}  # sow: tuple
  size = x.shape[-3:-1]
  maps = {name: np.asarray(cam(acts[name], grads[name], size)) for name in grads}
  return maps, c, np.asarray(logits)


def cam(activations: jax.Array, grads: jax.Array, size: tuple[int, int]) -> jax.Array:
  """ReLU(sum_k mean_xy(grad_k) * A_k) of `[N, h, w, K]` maps, resized to `size`, in [0, 1]."""
  alpha = grads.mean(axis=(1, 2), keepdims=True)                 # [N, 1, 1, K]
  maps = jax.nn.relu((alpha * activations).sum(-1))              # [N, h, w]
  maps = jax.image.resize(maps, (maps.shape[0],) + tuple(size), "bilinear")
  return maps / jnp.maximum(maps.max(), 1e-12)


def overlay(background: np.ndarray, heat: np.ndarray, strength: float = 0.5) -> np.ndarray:
  """RGB uint8 image: `background` [H, W] (any range) under the 'jet' colours of `heat`.

  Blue is not activated, red highly activated, as the paper's Fig. 9.
  """
  bg = np.asarray(background, np.float64)
  span = bg.max() - bg.min()
  bg = (bg - bg.min()) / span if span > 0 else np.zeros_like(bg)
  colours = colormaps["jet"](np.clip(heat, 0.0, 1.0))[..., :3]
  rgb = (1.0 - strength) * bg[..., None] + strength * colours
  return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
