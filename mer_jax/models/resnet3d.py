"""torchvision's `r3d_18`: the 3-D ResNet-18 for video clips (Tran et al. 2018).

Layer by layer as `torchvision/models/video/resnet.py` builds `r3d_18`
(`VideoResNet` with `BasicStem`, `BasicBlock` and `Conv3DSimple`):
- stem: Conv3d 3x7x7, stride (1, 2, 2), padding (1, 3, 3), no bias; BN; ReLU.
  There is no max pool (unlike the 2-D ResNet-18), so time keeps its length
  and space halves once;
- layer1..layer4 of two post-activation BasicBlocks each (64, 128, 256, 512
  channels): conv 3x3x3 (pad 1, no bias), BN, ReLU, conv 3x3x3, BN, plus the
  input, ReLU. The first block of layer2..4 has stride 2 in all three
  dimensions (T, H, W) and a 1x1x1 stride-2 convolution + BN shortcut;
- AdaptiveAvgPool3d(1) (a mean over T, H, W) and `fc`.
Input clips are channels-last `[B, T, H, W, C]` (torch's `(N, C, T, H, W)`);
a 16x112x112 clip gives layer4 maps of 2x7x7. Convolutions pad like torch,
so odd sizes round up: T' = ceil(T / 8), H' = ceil(H / 16), W' = ceil(W / 16).

Flax names follow the state_dict keys (`weights.resnet3d` maps them):
`stem.0` -> `stem_conv`, `stem.1` -> `stem_bn`; `layerL.b` -> `layerL_b`
(L = 1..4, b = 0, 1), whose `conv1.0`, `conv1.1`, `conv2.0`, `conv2.1`,
`downsample.0`, `downsample.1` are `conv1`, `bn1`, `conv2`, `bn2`,
`downsample_conv`, `downsample_bn` (the names of `models.resnet.BasicBlock`);
`fc`. With 400 classes (Kinetics-400) that is 33,371,472 parameters.

The model returns `(output, {'features': [B, 512], 'maps': [B, T', H', W', 512]})`:
the output is the logits, or the pooled features when `num_classes` is None,
or layer4's maps when `return_maps` is True (no pooling or fc; the
auto-encoder of Islam et al. reads these). BN epsilon is 1e-5 and
`bn_momentum` 0.9 (torch's momentum 0.1), as in `models.resnet`.
torchvision's Kinetics-400 weights expect RGB in [0, 1] standardised with
`weights.R3D18_MEAN_RGB` and `weights.R3D18_STD_RGB`; the model itself takes
whatever the caller normalised.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from mer_jax.errors import ConfigError
from mer_jax.models import temporal_taps
from mer_jax.models.resnet import BN_EPSILON, HE_FAN_OUT, WIDTHS, basic_stages

STEM_KERNEL, STEM_STRIDES, STEM_PADDING = (3, 7, 7), (1, 2, 2), ((1, 1), (3, 3), (3, 3))
# torchvision's VideoResNet initialises fc with N(0, 0.01) and zero bias.
FC_INIT = nn.initializers.normal(0.01)


class R3D18(nn.Module):
  """torchvision's `r3d_18` (see the module docstring).

  Attributes:
    num_classes: outputs of `fc`; None leaves it out (a 512-d feature extractor).
    return_maps: output layer4's maps `[B, T', H', W', 512]` (no pooling, no fc;
      `num_classes` must then be None).
    bn_momentum: decay of the batch norm running averages (0.9 = torch's momentum 0.1).
    dtype: computation dtype; parameters and batch statistics stay float32.
    widths: channels of the stem and the four stages (torchvision's 64..512;
      narrower ones only for quick CPU runs, they take no Kinetics import).
    conv3d: how the 3-D convolutions run (`temporal_taps.IMPLS`): 'auto' (sums
      of 2-D convolutions over the temporal taps on the CPU backend, XLA's 3-D
      convolution elsewhere), 'xla' or 'temporal_taps'; the same values.
  """

  num_classes: int | None = None
  return_maps: bool = False
  bn_momentum: float = 0.9
  dtype: Any = jnp.float32
  widths: Sequence[int] = WIDTHS
  conv3d: str = "auto"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Maps clips `[B, T, H, W, C]` to `(output, {'features': [B, 512], 'maps': ...})`."""
    if self.return_maps and self.num_classes is not None:
      raise ConfigError(f"config.model.return_maps=True outputs layer4's maps and has no fc; "
                        f"leave num_classes unset (got {self.num_classes})")
    if x.ndim != 5:
      raise ValueError(f"R3D18 expects clips [B, T, H, W, C], got shape {tuple(x.shape)}")
    conv = temporal_taps.conv_for(self.conv3d)
    x = nn.Conv(self.widths[0], STEM_KERNEL, strides=STEM_STRIDES, padding=STEM_PADDING,
                use_bias=False, dtype=self.dtype, kernel_init=HE_FAN_OUT,
                conv_general_dilated=conv,
                name="stem_conv")(jnp.asarray(x, self.dtype or jnp.float32))
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                             epsilon=BN_EPSILON, dtype=self.dtype, name="stem_bn")(x))
    x = basic_stages(x, train, self.bn_momentum, self.dtype, self.widths, conv)
    features = jnp.mean(x.astype(jnp.float32), axis=(1, 2, 3))      # [B, widths[-1]]
    aux = {"features": features, "maps": x}
    if self.return_maps:
      return x, aux
    if self.num_classes is None:
      return features, aux
    return nn.Dense(self.num_classes, dtype=self.dtype, kernel_init=FC_INIT,
                    name="fc")(features), aux
