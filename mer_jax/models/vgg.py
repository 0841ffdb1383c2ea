"""VGG-16 (Simonyan & Zisserman 2015) as VGG-Face (Parkhi et al. 2015) lays it out.

Thirteen 3x3 convolutions with ReLU in five stages, each stage closed by a
2x2 max-pool, then fc6 (4096), fc7 (4096) with ReLU and dropout 0.5, and an
optional fc8. Layer names are those of the VGG-Face releases (`conv1_1` ...
`conv5_3`, `fc6`, `fc7`, `fc8`), so `mer_jax.weights` maps the PyTorch,
Keras and MatConvNet files onto them one to one. fc6 reads the pool5 map
flattened in NHWC order (the importers reorder PyTorch's NCHW weights).

The number of input channels is whatever `x` has (5 for ELRCN-SE). Widths and
fc sizes are attributes so that demos and tests can run a narrow VGG on a CPU;
the defaults are the paper's.

For Grad-CAM, the ReLU output of `conv5_3` is sown as
`intermediates/conv5_3_relu` and passes through `perturb('conv5_3_relu')`, so
its gradient can be read without changing the model.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
from jax.ad_checkpoint import checkpoint_name
import jax.numpy as jnp

CONVS_PER_STAGE = (2, 2, 3, 3, 3)
# He initialisation (fan-in, normal) for the ReLU layers, as torchvision's VGG
# uses for its convolutions: with LeCun's (Flax's default) the signal halves at
# each of the 15 ReLU layers and a VGG-16 trained from scratch (ELRCN-SE)
# starts with near-constant outputs. Pretrained weights replace it anyway.
HE_NORMAL = nn.initializers.variance_scaling(2.0, "fan_in", "normal")
LAST_CONV_OUTPUT = "conv5_3_relu"  # conv5_3's ReLU output is sown / perturbed under this name
FEATURE_LAYERS = ("fc6", "fc7")


def conv_names() -> list[str]:
  """`conv1_1` ... `conv5_3`, in order."""
  return [f"conv{s + 1}_{i + 1}" for s, n in enumerate(CONVS_PER_STAGE) for i in range(n)]


class VGG16(nn.Module):
  """VGG-16; returns `(fc8 logits, or the fc7 features if num_classes is None, aux)`.

  The features in `aux` ('fc6', 'fc7') are what each layer passes on to the
  next: after its ReLU and, in training, its dropout (as in Caffe's and
  Keras' VGG, where a feature read from the network is the dropout's output).

  Attributes:
    num_classes: outputs of fc8; None leaves fc8 out (a feature extractor).
    widths: channels of the five stages (64, 128, 256, 512, 512).
    fc_features: units of fc6 and fc7 (4096).
    dropout_rate: dropout after fc6 and fc7 (0.5), active when `train`.
    dtype: computation dtype (e.g. bfloat16 activations); parameters stay float32.
  """

  num_classes: int | None = None
  widths: Sequence[int] = (64, 128, 256, 512, 512)
  fc_features: int = 4096
  dropout_rate: float = 0.5
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Maps images `[N, H, W, C]` to `(output, {'fc6', 'fc7'})` (see the class docstring).

    `train` may be passed by position, which `nn.remat` needs to keep it static.
    """
    smallest = 2 ** len(CONVS_PER_STAGE)
    if min(x.shape[1:3]) < smallest:
      raise ValueError(f"VGG-16 halves its input five times; images of {x.shape[1:3]} are "
                       f"smaller than {smallest}x{smallest}")
    x = x.astype(self.dtype)
    names = iter(conv_names())
    for stage, (width, n) in enumerate(zip(self.widths, CONVS_PER_STAGE)):
      for _ in range(n):
        name = next(names)
        x = nn.relu(nn.Conv(width, (3, 3), padding=1, dtype=self.dtype,
                            kernel_init=HE_NORMAL, name=name)(x))
      if stage == len(CONVS_PER_STAGE) - 1:
        self.sow("intermediates", LAST_CONV_OUTPUT, x)
        x = self.perturb(LAST_CONV_OUTPUT, x)
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
      x = checkpoint_name(x, f"pool{stage + 1}")
    x = x.reshape(x.shape[0], -1)                                   # NHWC flatten
    aux = {}
    for name in FEATURE_LAYERS:  # each passes on ReLU(fc), dropped out in training
      x = nn.relu(nn.Dense(self.fc_features, dtype=self.dtype, kernel_init=HE_NORMAL,
                           name=name)(x))
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
      aux[name] = x
    if self.num_classes is None:
      return aux["fc7"], aux
    return nn.Dense(self.num_classes, dtype=self.dtype, name="fc8")(x), aux


def remat_policy():
  """Keep only the pooled stage outputs for the backward pass; recompute the rest."""
  return jax.checkpoint_policies.save_only_these_names(
      *[f"pool{s + 1}" for s in range(len(CONVS_PER_STAGE))])
