"""ResNets for still images: torchvision's ResNet-18 and cvjena's pre-activation ResNet10_cvgj.

`ResNet18` is torchvision's `resnet18` (He et al. 2016, post-activation
BasicBlocks): conv1 7x7/2 (pad 3, no bias), bn1, ReLU, max pool 3/2 (pad 1),
layer1..layer4 of two blocks each (64, 128, 256, 512 channels; the first block
of layer2..4 halves the size and has a 1x1/2 convolution + BN shortcut),
global average pool, fc. Flax names follow the state_dict keys: `conv1`,
`bn1`, `layer1_0` ... `layer4_1` (each with `conv1`, `bn1`, `conv2`, `bn2` and,
where torchvision has `downsample.0/1`, `downsample_conv`, `downsample_bn`),
`fc`. torchvision's ImageNet weights expect RGB in [0, 1] standardised with
mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); the model itself
takes whatever the caller normalised.

`ResNet10Cvgj` is the Caffe `ResNet10_cvgj` of cvjena/cnn-models
(`ResNet_preact/ResNet10_cvgj/deploy.prototxt`), the spatial network of ATNet.
Layer by layer as the prototxt has it (Caffe BatchNorm + Scale pairs are one
Flax BatchNorm named after the BatchNorm layer):
- `data_bn`: batch norm of the raw input (there is no mean subtraction; the
  released model reads 0..255 pixel values);
- `conv1` 7x7/2, pad 3, with bias; `conv1_bn`, ReLU; max pool 3/2 with no
  padding and Caffe's ceil rounding (`caffe_max_pool`);
- `layer_64_1`: `conv1` 3x3 on the pooled map (no `bn1`: the pool output is
  already post-ReLU), `bn2`, ReLU, `conv2` 3x3, plus the identity;
- `layer_C_1` for C = 128, 256, 512: `bn1`, ReLU, then `conv1` 3x3/2, `bn2`,
  ReLU, `conv2` 3x3, plus `conv_expand` 1x1/2 (pad 0). Both `conv1` and
  `conv_expand` read the pre-activated `layer_C_1_bn1` blob (BN, Scale and
  ReLU act in place on it), so the shortcut sees BN + ReLU output, not the
  block's raw input. Block convolutions have no bias;
- `last_bn`, ReLU, global average pool, `score`.

Both models take any number of input channels (1 for grey images), return
`(output, {'features': pooled [B, 512]})` where the output is the logits, or
the pooled features when `num_classes` is None, and use BN epsilon 1e-5
(torch's default and Caffe's BatchNormParameter default).

Batch norm momentum (`bn_momentum`, Flax's decay of the running averages):
0.9 by default, torch's `momentum=0.1`. Caffe's `moving_average_fraction`
is 0.999, which is meant for ImageNet-length training; fine-tuning on a few
hundred micro-expression images would barely move the statistics with it.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

BN_EPSILON = 1e-5
WIDTHS = (64, 128, 256, 512)
RESNET18_BLOCKS = 2   # BasicBlocks per stage
# torchvision initialises convolutions with He normal over fan-out; Caffe's
# "msra" filler (the cvgj block convolutions) uses fan-in. Imports replace both.
HE_FAN_OUT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")
HE_FAN_IN = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


def caffe_max_pool(x: jax.Array, window: int = 3, stride: int = 2) -> jax.Array:
  """Caffe's max pooling without padding: ceil rounding, windows clipped at the edge.

  Caffe's output size is ceil((H - window) / stride) + 1 (torch's
  `ceil_mode=True`); the last window may run past the input, where Caffe
  clips it. Padding the bottom/right edges with -inf (what `nn.max_pool`
  pads with) gives the same maxima. `x` is `[B, H, W, C]`.
  """
  pads = []
  for size in x.shape[1:3]:
    if size < window:
      raise ValueError(f"a {window}x{window} pool needs a map of at least {window} pixels; "
                       f"got {x.shape[1:3]}")
    out = math.ceil((size - window) / stride) + 1
    pads.append((0, (out - 1) * stride + window - size))
  return nn.max_pool(x, (window, window), strides=(stride, stride), padding=pads)


def _as_input(x: jax.Array, dtype: Any) -> jax.Array:
  return jnp.asarray(x, dtype or jnp.float32)


def _global_features(x: jax.Array) -> jax.Array:
  """[B, H, W, C] -> [B, C] average, in float32."""
  return jnp.mean(x.astype(jnp.float32), axis=(1, 2))


class ResNet10Cvgj(nn.Module):
  """cvjena's pre-activation ResNet10_cvgj (see the module docstring).

  Attributes:
    num_classes: outputs of `score`; None leaves it out (a 512-d feature extractor).
    bn_momentum: decay of the batch norm running averages (0.9, see the module docstring).
    dtype: computation dtype; parameters and batch statistics stay float32.
  """

  num_classes: int | None = None
  bn_momentum: float = 0.9
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Maps images `[B, H, W, C]` to `(logits or features, {'features': [B, 512]})`."""
    norm = functools.partial(nn.BatchNorm, use_running_average=not train,
                             momentum=self.bn_momentum, epsilon=BN_EPSILON, dtype=self.dtype)
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype, kernel_init=HE_FAN_IN)
    x = norm(name="data_bn")(_as_input(x, self.dtype))
    x = nn.Conv(WIDTHS[0], (7, 7), strides=2, padding=3, dtype=self.dtype,
                kernel_init=HE_FAN_OUT, name="conv1")(x)
    x = caffe_max_pool(nn.relu(norm(name="conv1_bn")(x)))
    for width in WIDTHS:
      x = _preact_block(x, width, conv, norm)
    features = _global_features(nn.relu(norm(name="last_bn")(x)))
    if self.num_classes is None:
      return features, {"features": features}
    return nn.Dense(self.num_classes, dtype=self.dtype, name="score")(features), {
        "features": features}


def _preact_block(x: jax.Array, width: int, conv: Any, norm: Any) -> jax.Array:
  """`layer_{width}_1` of ResNet10_cvgj; its layers are created in the caller's scope."""
  prefix = f"layer_{width}_1"
  if width == WIDTHS[0]:            # identity shortcut on the (post-ReLU) pooled map
    y = conv(width, (3, 3), padding=1, name=f"{prefix}_conv1")(x)
    shortcut = x
  else:                             # pre-activation feeds both conv1 and conv_expand
    a = nn.relu(norm(name=f"{prefix}_bn1")(x))
    y = conv(width, (3, 3), strides=2, padding=1, name=f"{prefix}_conv1")(a)
    shortcut = conv(width, (1, 1), strides=2, padding=0, name=f"{prefix}_conv_expand")(a)
  y = nn.relu(norm(name=f"{prefix}_bn2")(y))
  y = conv(width, (3, 3), padding=1, name=f"{prefix}_conv2")(y)
  return y + shortcut


class BasicBlock(nn.Module):
  """torchvision's BasicBlock: conv-BN-ReLU-conv-BN, plus the (projected) input, ReLU.

  For images `[B, H, W, C]` (3x3 convolutions) and, as the video ResNets'
  Conv3DSimple block, for clips `[B, T, H, W, C]` (3x3x3, the stride in every
  dimension): the kernel has one 3 per dimension of the input. `conv_general_dilated`
  is the convolutions' (None: XLA's; `temporal_taps.conv_for` for clips).
  """

  width: int
  stride: int = 1
  bn_momentum: float = 0.9
  dtype: Any = jnp.float32
  conv_general_dilated: Callable[..., jax.Array] | None = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    norm = functools.partial(nn.BatchNorm, use_running_average=not train,
                             momentum=self.bn_momentum, epsilon=BN_EPSILON, dtype=self.dtype)
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype, kernel_init=HE_FAN_OUT,
                             conv_general_dilated=self.conv_general_dilated)
    dims = x.ndim - 2
    strides = (self.stride,) * dims
    y = conv(self.width, (3,) * dims, strides=strides, padding=1, name="conv1")(x)
    y = nn.relu(norm(name="bn1")(y))
    y = norm(name="bn2")(conv(self.width, (3,) * dims, padding=1, name="conv2")(y))
    if self.stride != 1 or x.shape[-1] != self.width:
      x = conv(self.width, (1,) * dims, strides=strides, padding=0, name="downsample_conv")(x)
      x = norm(name="downsample_bn")(x)
    return nn.relu(y + x)


def basic_stages(x: jax.Array, train: bool, bn_momentum: float, dtype: Any,
                 widths: Sequence[int] = WIDTHS,
                 conv: Callable[..., jax.Array] | None = None) -> jax.Array:
  """layer1..layer4 of ResNet-18 (2-D or 3-D), created in the caller's scope as `layerL_b`.

  `widths`: the channels of the four stages (torchvision's by default);
  `conv`: the blocks' `conv_general_dilated` (None: XLA's).
  """
  for stage, width in enumerate(widths):
    for block in range(RESNET18_BLOCKS):
      stride = 2 if stage > 0 and block == 0 else 1
      x = BasicBlock(width, stride, bn_momentum, dtype, conv,
                     name=f"layer{stage + 1}_{block}")(x, train)
  return x


class ResNet18(nn.Module):
  """torchvision's ResNet-18 (see the module docstring).

  Attributes:
    num_classes: outputs of `fc`; None leaves it out (a 512-d feature extractor).
    bn_momentum: decay of the batch norm running averages (0.9 = torch's momentum 0.1).
    dtype: computation dtype; parameters and batch statistics stay float32.
  """

  num_classes: int | None = None
  bn_momentum: float = 0.9
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Maps images `[B, H, W, C]` to `(logits or features, {'features': [B, 512]})`."""
    x = nn.Conv(WIDTHS[0], (7, 7), strides=2, padding=3, use_bias=False, dtype=self.dtype,
                kernel_init=HE_FAN_OUT, name="conv1")(_as_input(x, self.dtype))
    x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                     epsilon=BN_EPSILON, dtype=self.dtype, name="bn1")(x)
    x = nn.max_pool(nn.relu(x), (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    x = basic_stages(x, train, self.bn_momentum, self.dtype)
    features = _global_features(x)
    if self.num_classes is None:
      return features, {"features": features}
    return nn.Dense(self.num_classes, dtype=self.dtype, name="fc")(features), {
        "features": features}
