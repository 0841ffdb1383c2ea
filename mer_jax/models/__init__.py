"""Flax linen models, addressed by name through one registry.

Every model follows one contract: `__call__(x, *, train) -> (logits, aux)`
with channels-last frames `x` of shape `[B, T, H, W, C]` (or the model's own
documented input) and `aux` a dict of extra outputs (features, maps).
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn

from mer_jax.errors import ConfigError
from mer_jax.models import atnet, elrcn, r3d_convlstm_ae, rcn, resnet, resnet3d, vgg

MODELS: dict[str, Callable[..., nn.Module]] = {
    "elrcn_se": elrcn.ElrcnSE,
    "elrcn_te": elrcn.ElrcnTE,
    "elrcn_spatial_only": elrcn.ElrcnSpatialOnly,
    "elrcn_temporal_only": elrcn.ElrcnTemporalOnly,
    "vgg16": vgg.VGG16,
    "mer_rcnn": rcn.MerRcnn,
    "atnet": atnet.ATNet,
    "atnet_spatial_classifier": atnet.SpatialClassifier,  # ATNet's pre-training stage
    "resnet10_cvgj": resnet.ResNet10Cvgj,
    "resnet18": resnet.ResNet18,
    "r3d_18": resnet3d.R3D18,
    "r3d_convlstm_ae": r3d_convlstm_ae.R3dConvLstmAE,
}


def get(name: str, **kwargs: Any) -> nn.Module:
  """Builds the model registered as `name` with constructor `kwargs`."""
  if name not in MODELS:
    raise ConfigError(
        f"config.model_name={name!r} is not a model; expected one of {sorted(MODELS)}")
  try:
    return MODELS[name](**kwargs)
  except TypeError as e:
    raise ConfigError(f"config.model does not fit model {name!r}: {e}") from e
