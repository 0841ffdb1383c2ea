"""ATNet, the Apex-Time Network (Peng, Wang, Bi, Shi, Zhou, Chen, ACII 2019).

Two streams, trained together:
- spatial: a ResNet-10 (the pre-activation cvjena `ResNet10_cvgj` of the
  authors' Caffe model, models/resnet.py) on the grey apex frame, its
  global-average-pooled 512-d feature;
- temporal: a 2-layer LSTM(512) over the clip's average direction-magnitude
  features (64 flows x 128, preprocess/adm.py), its outputs averaged over
  time (the authors' `optical_feature` average pool).
Each stream's feature is L2-normalised (eq. 7); the fusion concatenates them
(1024-d), then dropout 0.5 and one fully connected layer. The single-stream
variants (Table II's "Spatial Stream", "Temporal Stream") keep their stream's
path: L2 normalisation, dropout, the classifier.

Input: a dict with 'apex' `[B, S, S, 1]` (grey levels 0..255, any dtype; the
ResNet-10's input batch norm standardises them, as in Caffe) and 'adm'
`[B, T, D]`; a stream reads only its own entry.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from mer_jax.errors import ConfigError
from mer_jax.models import lstm, resnet

STREAMS = ("spatial", "temporal", "fusion")
BACKBONES = {"resnet10_cvgj": resnet.ResNet10Cvgj, "resnet18": resnet.ResNet18}
# torchvision's ImageNet statistics, averaged over RGB for a grey image in [0, 1].
_RESNET18_GREY_MEAN, _RESNET18_GREY_STD = 0.449, 0.226


def l2_normalize(x: jax.Array, eps: float = 1e-12) -> jax.Array:
  """x / ||x|| over the last axis (eq. 7); zero vectors stay zero."""
  norm = jnp.sqrt(jnp.sum(jnp.square(x.astype(jnp.float32)), axis=-1, keepdims=True))
  return (x / jnp.maximum(norm, eps)).astype(x.dtype)


class ATNet(nn.Module):
  """ATNet with its spatial, temporal or both (fusion) streams.

  Attributes:
    num_classes: outputs of the classifier (3: negative, positive, surprise).
    stream: 'spatial', 'temporal' or 'fusion'.
    backbone: the spatial network: 'resnet10_cvgj' (the paper's) or 'resnet18'
      (torchvision's, for users with its ImageNet weights; the grey input is
      scaled to [0, 1] and standardised with ImageNet's mean grey statistics).
    backbone_options: extra constructor arguments of the backbone (e.g.
      `bn_momentum`).
    lstm_features: units of each LSTM layer ((512, 512) in the paper).
    dropout_rate: dropout after the concatenation (0.5).
    dtype: computation dtype (None keeps float32).
  """

  num_classes: int
  stream: str = "fusion"
  backbone: str = "resnet10_cvgj"
  backbone_options: Mapping[str, Any] | None = None
  lstm_features: Sequence[int] = (512, 512)
  dropout_rate: float = 0.5
  dtype: Any = None

  @nn.compact
  def __call__(self, x: Mapping[str, jax.Array], *, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Logits `[B, num_classes]` and aux {'spatial', 'temporal'}: the L2-normalised features."""
    self._check(x)
    aux = {}
    if self.stream in ("spatial", "fusion"):
      net = BACKBONES[self.backbone](num_classes=None, dtype=self.dtype, name="spatial",
                                     **dict(self.backbone_options or {}))
      feature, _ = net(apex_input(x["apex"], self.backbone), train=train)  # [B, 512]
      aux["spatial"] = l2_normalize(feature)
    if self.stream in ("temporal", "fusion"):
      adm = jnp.asarray(x["adm"], self.dtype or jnp.float32)     # [B, T, D]
      h = lstm.StackedLSTM(tuple(self.lstm_features), dtype=self.dtype, name="temporal")(adm)
      aux["temporal"] = l2_normalize(h.mean(axis=1))             # time-averaged
    z = jnp.concatenate([aux[s] for s in ("spatial", "temporal") if s in aux], axis=-1)
    z = nn.Dropout(self.dropout_rate, deterministic=not train)(z)
    logits = nn.Dense(self.num_classes, dtype=self.dtype, name="classifier")(z)
    return logits.astype(jnp.float32), aux

  def _check(self, x: Any) -> None:
    if self.stream not in STREAMS:
      raise ConfigError(f"config.model.stream={self.stream!r}; expected one of {STREAMS}")
    if self.backbone not in BACKBONES:
      raise ConfigError(f"config.model.backbone={self.backbone!r}; expected one of "
                        f"{sorted(BACKBONES)}")
    if not isinstance(x, Mapping):
      raise ConfigError("ATNet takes the stored inputs {'apex', 'adm'} (recipe 'atnet'); it "
                        "got a single array")
    need = {"spatial": ("apex",), "temporal": ("adm",), "fusion": ("apex", "adm")}
    missing = [n for n in need[self.stream] if n not in x]
    if missing:
      raise ConfigError(f"ATNet ({self.stream}) needs the stored inputs {missing}; the recipe "
                        f"stored {sorted(x)} (use recipe 'atnet')")


class SpatialClassifier(nn.Module):
  """The spatial stream's backbone with its own classifier (the pre-training stage's model).

  The backbone is the submodule 'spatial', as in `ATNet`, so its variables
  move into ATNet's spatial stream as they are (train/pretraining.py).
  """

  num_classes: int
  backbone: str = "resnet10_cvgj"
  backbone_options: Mapping[str, Any] | None = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x: Mapping[str, jax.Array] | jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Logits `[B, num_classes]` of the apex image (`x['apex']` or `x`) and the backbone's aux."""
    apex = x["apex"] if isinstance(x, Mapping) else x
    if self.backbone not in BACKBONES:
      raise ConfigError(f"config.model.backbone={self.backbone!r}; expected one of "
                        f"{sorted(BACKBONES)}")
    net = BACKBONES[self.backbone](num_classes=self.num_classes, dtype=self.dtype,
                                   name="spatial", **dict(self.backbone_options or {}))
    logits, aux = net(apex_input(apex, self.backbone), train=train)
    return logits.astype(jnp.float32), aux


def apex_input(apex: jax.Array, backbone: str) -> jax.Array:
  """The backbone's input: grey levels as floats (standardised for 'resnet18')."""
  x = jnp.asarray(apex, jnp.float32)
  if backbone == "resnet18":
    x = (x / 255.0 - _RESNET18_GREY_MEAN) / _RESNET18_GREY_STD
  return x
