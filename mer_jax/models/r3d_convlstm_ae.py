"""3D ResNet-18 + ConvLSTM auto-encoder (Islam et al., MLICOM 2021; Sec. 2.2, Fig. 2).

The pipeline for a clip `[B, 12, 64, 64, 3]`:
  * `backbone`: torchvision's r3d_18 up to layer4 (`resnet3d.R3D18` with
    `return_maps=True`), giving maps `[B, 2, 4, 4, 512]` (T/8, H/16, W/16
    rounded up); Kinetics-400 weights in the paper;
  * `autoencoder`: the 2-1-2 peephole ConvLSTM auto-encoder of eq. 1-5
    (`conv_lstm.ConvLSTMAutoEncoder`), returning the decoder's hidden states
    stacked over the T' steps, `[B, 2, 4, 4, hidden[3]]`;
  * `class_conv`: a 3-D convolution with kernel 1x3x3 (padding 0, 1, 1, so
    the maps keep their size) to `num_classes` maps, with bias;
  * the "structural regularizer": adaptive average pooling over T, H, W to
    `num_classes` logits. The paper's softmax belongs to the loss.
Input: RGB clips in [0, 1] (recipe 'islam'), standardised inside the model
with `input_mean` / `input_std`, by default torchvision's Kinetics-400
statistics that the imported r3d_18 weights expect (the paper does not say;
its PyTorch backbone came with them).
No activation sits between the decoder and `class_conv` (the PyTorch
auto-encoder the design comes from puts a sigmoid after its Conv3d, but that
was for frame regression; the paper goes straight to pooling and softmax).

Size (Sec. 2.4: "about 37.6 million trainable parameters"). The backbone
without fc has 33,166,272. The paper gives no hidden sizes; one size for all
four cells (as in the PyTorch model, `nf`) is the simplest reading, and 101
channels give the count nearest to 37.6 M for the paper's input (peepholes
[4, 4, F]): 33,166,272 + 4,456,022 = 37,622,294 (+0.06 %); 100 channels give
37,552,975 (-0.13 %). The peepholes make the count depend on the map size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from mer_jax.errors import ConfigError
from mer_jax.models import conv_lstm, resnet3d, temporal_taps

PAPER_HIDDEN = (101, 101, 101, 101)
PAPER_PARAMETERS = 37_622_294    # at the paper's [B, 12, 64, 64, 3] input, 3 classes
MIN_PIXELS = 16                  # one layer4 cell spans 16 x 16 input pixels
# torchvision's r3d_18 (Kinetics-400) input statistics, RGB in [0, 1].
KINETICS_MEAN_RGB = (0.43216, 0.394666, 0.37645)
KINETICS_STD_RGB = (0.22803, 0.22145, 0.216989)


def check_input(shape: Sequence[int]) -> None:
  """Raises ConfigError unless `shape` is RGB clips `[B, T, H, W, 3]` of at least 16x16."""
  if len(shape) != 5 or shape[-1] != 3:
    raise ConfigError(f"R3dConvLstmAE expects RGB clips [B, T, H, W, 3], got shape "
                      f"{tuple(shape)}")
  if shape[0] < 1 or shape[1] < 1 or min(shape[2:4]) < MIN_PIXELS:
    raise ConfigError(f"clips of shape {tuple(shape)} are too small for R3dConvLstmAE: it "
                      f"needs at least 1 frame of {MIN_PIXELS}x{MIN_PIXELS} pixels "
                      f"(the paper uses 12 frames of 64x64)")


class R3dConvLstmAE(nn.Module):
  """r3d_18 backbone, 2-1-2 ConvLSTM auto-encoder, 1x3x3 class conv, average pool.

  Attributes:
    num_classes: class maps and logits (3: negative, positive, surprise).
    hidden: channels of the auto-encoder's cells (encoder_1, encoder_2,
      decoder_1, decoder_2); the default matches the paper's parameter count.
    decoder_input: 'feedback' or 'repeat' (see `conv_lstm`).
    bn_momentum: decay of the backbone's batch norm running averages.
    input_mean, input_std: per-channel standardisation of the [0, 1] input.
    backbone_widths: channels of the r3d_18 stages (the paper's 64..512 by default).
    dtype: computation dtype (a jnp dtype or its name); parameters, the
      ConvLSTM gates and the logits are float32.
    conv3d: how the backbone's and the class conv's 3-D convolutions run
      ('auto', 'xla', 'temporal_taps'; `resnet3d.R3D18`).
  """

  num_classes: int = 3
  hidden: Sequence[int] = PAPER_HIDDEN
  decoder_input: str = "feedback"
  bn_momentum: float = 0.9
  input_mean: Sequence[float] = KINETICS_MEAN_RGB
  input_std: Sequence[float] = KINETICS_STD_RGB
  backbone_widths: Sequence[int] = resnet3d.WIDTHS
  dtype: Any = "float32"
  conv3d: str = "auto"

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Maps clips `[B, T, H, W, 3]` to `(logits [B, num_classes], aux)`.

    `aux` holds `features` (the decoded maps averaged over T', H', W',
    `[B, hidden[3]]`) and `class_maps` (`[B, T', H', W', num_classes]`).
    """
    check_input(x.shape)
    conv_lstm.check_autoencoder(self.hidden, self.decoder_input)
    dtype = jnp.dtype(self.dtype)
    x = (jnp.asarray(x, jnp.float32) - jnp.asarray(self.input_mean)) / jnp.asarray(
        self.input_std)
    maps, _ = resnet3d.R3D18(return_maps=True, bn_momentum=self.bn_momentum, dtype=dtype,
                             widths=tuple(self.backbone_widths), conv3d=self.conv3d,
                             name="backbone")(x, train=train)           # [B, T', H', W', C]
    decoded, _ = conv_lstm.ConvLSTMAutoEncoder(
        tuple(self.hidden), self.decoder_input, dtype=dtype,
        name="autoencoder")(maps)                                       # [B, T', H', W', F]
    class_maps = nn.Conv(self.num_classes, (1, 3, 3), padding=((0, 0), (1, 1), (1, 1)),
                         dtype=dtype, conv_general_dilated=temporal_taps.conv_for(self.conv3d),
                         name="class_conv")(decoded.astype(dtype))
    logits = jnp.mean(class_maps.astype(jnp.float32), axis=(1, 2, 3))  # adaptive avg pool
    features = jnp.mean(decoded.astype(jnp.float32), axis=(1, 2, 3))
    return logits, {"features": features, "class_maps": class_maps}
