"""ELRCN (Khor et al., FG 2018): a CNN per frame, an LSTM over the frames, one FC.

Variants (section III and the ablations of IV-E):
  * `ElrcnSE` (spatial enrichment): one VGG-16, trained from scratch, reads the
    5-channel stack (flow image p, q, |v|; strain; grey) of each frame; its fc7
    (4096-d) per frame goes into the LSTM.
  * `ElrcnTE` (temporal enrichment): three VGG-16 streams, one each for the
    flow image (3 channels), the strain and the grey frame (each repeated to 3
    channels), initialised from VGG-Face; their fc7 features are concatenated
    to 12288-d per frame.
  * `ElrcnSpatialOnly` (IV-E-1): one VGG-16 classifies every frame on its own;
    the clip's logits are the mean of its frames' logits.
  * `ElrcnTemporalOnly` (IV-E-2): pixel intensities straight into the LSTM.

All frames of a clip go through the CNN as one batch `[B*T, H, W, C]`. The
LSTM's last step goes through one FC layer; softmax is applied in the loss.
`remat` recomputes each VGG stage in the backward pass (only the pooled stage
outputs are kept), and `dtype='bfloat16'` runs the CNNs in bfloat16; both are
memory levers for the paper's full-size inputs, off in the paper configs.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from mer_jax.models import vgg
from mer_jax.models.lstm import StackedLSTM

# Channel layout of the `elrcn_stack` recipe with channels ('flow', 'strain', 'gray').
TE_STREAMS = (("flow", 0, 3), ("strain", 3, 4), ("gray", 4, 5))


def vgg_class(remat: bool) -> type[nn.Module]:
  """VGG16, wrapped in `nn.remat` (stage outputs kept) when `remat`."""
  return nn.remat(vgg.VGG16, policy=vgg.remat_policy(), static_argnums=(2,)) if remat else vgg.VGG16


def check_feature_layer(name: str) -> None:
  if name not in vgg.FEATURE_LAYERS:
    raise ValueError(f"feature_layer={name!r}; expected one of {vgg.FEATURE_LAYERS}")


def frame_features(cnn: nn.Module, x: jax.Array, layer: str, train: bool) -> jax.Array:
  """Runs `cnn` on every frame of `[B, T, H, W, C]`; returns `[B, T, D]` features of `layer`."""
  b, t = x.shape[:2]
  _, aux = cnn(x.reshape((b * t,) + x.shape[2:]), train)
  return aux[layer].astype(jnp.float32).reshape(b, t, -1)


class _RecurrentHead(nn.Module):
  """Stacked LSTM over per-frame features, its last step through one FC layer."""

  num_classes: int
  lstm_features: Sequence[int]

  @nn.compact
  def __call__(self, feats: jax.Array) -> tuple[jax.Array, jax.Array]:
    h = StackedLSTM(self.lstm_features, name="temporal")(feats)    # [B, T, U]
    return nn.Dense(self.num_classes, name="fc")(h[:, -1]), h[:, -1]


class _Lrcn(nn.Module):
  """What ELRCN-SE and -TE share: VGG-16 feature extractors, the recurrent head.

  Attributes:
    num_classes: output classes.
    lstm_features: units per LSTM layer ((3000,) for the headline runs, see
      BUILD_NOTES.md; (3000, 1024) in the Fig. 7 ablation).
    feature_layer: 'fc7' (the paper's choice, Fig. 7) or 'fc6'.
    cnn: VGG16 attributes (widths, fc_features, dropout_rate) for narrow demos.
    remat: recompute VGG stages in the backward pass.
    dtype: 'float32' or 'bfloat16' for the CNN's activations.
  """

  num_classes: int
  lstm_features: Sequence[int] = (3000,)
  feature_layer: str = "fc7"
  cnn: dict[str, Any] | None = None
  remat: bool = False
  dtype: str = "float32"

  def features(self, x: jax.Array, name: str, train: bool) -> jax.Array:
    """`[B, T, D]` features of the VGG-16 called `name` on frames `[B, T, H, W, C]`."""
    check_feature_layer(self.feature_layer)
    cnn = vgg_class(self.remat)(num_classes=None, dtype=jnp.dtype(self.dtype),
                                **(self.cnn or {}), name=name)
    return frame_features(cnn, x, self.feature_layer, train)

  def classify(self, feats: jax.Array) -> tuple[jax.Array, dict[str, Any]]:
    """LSTM over `[B, T, D]`, last step through the FC layer: `(logits, aux)`."""
    logits, h = _RecurrentHead(self.num_classes, self.lstm_features, name="head")(feats)
    return logits, {"features": h}


class ElrcnSE(_Lrcn):
  """ELRCN-SE: one VGG-16 on the channel-stacked frames -> LSTM -> FC (attributes: `_Lrcn`)."""

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    """Maps frames `[B, T, H, W, C]` to `(logits [B, num_classes], aux)`."""
    return self.classify(self.features(x, "cnn", train))


class ElrcnTE(_Lrcn):
  """ELRCN-TE: VGG-16 streams for flow, strain and grey -> concatenated fc7 -> LSTM -> FC.

  Attributes (besides `_Lrcn`'s):
    gray_mean_rgb: when set, the grey stream sees `255 * grey - mean`, the
      range VGG-Face was trained on (its RGB mean, datasets.md 9.1); flow and
      strain are fed unnormalised, as the paper says.
  """

  gray_mean_rgb: Sequence[float] | None = None

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    """Maps `[B, T, H, W, 5]` (flow p, q, |v|; strain; grey) to `(logits, aux)`."""
    if x.shape[-1] != TE_STREAMS[-1][-1]:
      raise ValueError(f"ELRCN-TE expects 5 channels (flow 3, strain, grey), got {x.shape[-1]}")
    feats = []
    for name, lo, hi in TE_STREAMS:
      part = x[..., lo:hi]
      if hi - lo == 1:
        part = jnp.repeat(part, 3, axis=-1)                      # R^2 -> R^3 (Fig. 1)
      if name == "gray" and self.gray_mean_rgb is not None:
        part = 255.0 * part - jnp.asarray(self.gray_mean_rgb, part.dtype)
      feats.append(self.features(part, f"stream_{name}", train))
    return self.classify(jnp.concatenate(feats, axis=-1))        # [B, T, 3 * 4096]


class ElrcnSpatialOnly(nn.Module):
  """"Spatial learning only" (IV-E-1): VGG-16 classifies each frame; clip = mean logits.

  Attributes:
    num_classes, cnn, remat, dtype: as `ElrcnSE`.
  """

  num_classes: int
  cnn: dict[str, Any] | None = None
  remat: bool = False
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    """Maps frames `[B, T, H, W, C]` to `(mean frame logits [B, C], {'frame_logits'})`."""
    b, t = x.shape[:2]
    cnn = vgg_class(self.remat)(num_classes=self.num_classes, dtype=jnp.dtype(self.dtype),
                                **(self.cnn or {}), name="cnn")
    logits, _ = cnn(x.reshape((b * t,) + x.shape[2:]), train)
    logits = logits.astype(jnp.float32).reshape(b, t, -1)
    return logits.mean(axis=1), {"frame_logits": logits}


class ElrcnTemporalOnly(nn.Module):
  """"Temporal learning only" (IV-E-2): pixels -> stacked LSTM -> last step -> FC.

  The pixel intensities of each (50x50, grey) frame are flattened into one
  vector per time step. The paper's best setting is a 2-layer LSTM of 3000
  and 1024 units (Fig. 6-7).

  Attributes:
    num_classes: number of output classes.
    lstm_features: units per LSTM layer.
  """

  num_classes: int
  lstm_features: Sequence[int] = (3000, 1024)

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    """Maps frames `[B, T, H, W, C]` to `(logits [B, num_classes], aux)`."""
    del train  # No dropout or batch norm in this ablation.
    b, t = x.shape[:2]
    pixels = x.reshape(b, t, -1)                               # [B, T, H*W*C]
    h = StackedLSTM(self.lstm_features, name="temporal")(pixels)  # [B, T, U]
    logits = nn.Dense(self.num_classes, name="fc")(h[:, -1])
    return logits, {"features": h[:, -1]}
