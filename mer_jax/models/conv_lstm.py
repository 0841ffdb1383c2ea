"""Peephole ConvLSTM (Shi et al. 2015) and the 2-1-2 ConvLSTM auto-encoder of Islam et al.

`PeepholeConvLSTMCell` transcribes eq. 1-5 of Islam et al. (Sec. 2.2), with
`conv` a 3x3 'SAME' convolution (cross-correlation, as every framework's conv)
and `*` the Hadamard product:

  i_t = sigmoid(W_xi conv x_t + W_hi conv h_{t-1} + W_ci * c_{t-1} + b_i)   (1)
  f_t = sigmoid(W_xf conv x_t + W_hf conv h_{t-1} + W_cf * c_{t-1} + b_f)   (2)
  c_t = f_t * c_{t-1} + i_t * tanh(W_xc conv x_t + W_hc conv h_{t-1} + b_c) (3)
  o_t = sigmoid(W_xo conv x_t + W_ho conv h_{t-1} + W_co * c_t + b_o)       (4)
  h_t = o_t * tanh(c_t)                                                     (5)

How the terms become parameters (`F` = `features`, `C` = input channels):
  * `input_conv`: kernel [3, 3, C, 4F] holding W_xi, W_xf, W_xc, W_xo (in that
    order along the last axis) and bias [4F] holding b_i, b_f, b_c, b_o. The
    equations have one bias per gate, so it lives here only;
  * `hidden_conv`: kernel [3, 3, F, 4F] holding W_hi, W_hf, W_hc, W_ho, no bias;
  * `peephole_i`, `peephole_f`, `peephole_o`: W_ci, W_cf, W_co of shape
    [H, W, F]. A Hadamard product with c is elementwise, so each weight has
    c's own shape, one weight per channel and position, as in Shi et al.
    (2015). The cell is therefore tied to the map size it was built for; the
    candidate of eq. 3 has no peephole, and eq. 4 peeks at the new c_t.
Initialisation (the paper is silent): Flax's defaults for the convolutions
(LeCun normal, zero bias, so no forget-gate offset) and zero peepholes, so a
fresh cell starts as the plain ConvLSTM and learns how much to peek.

`ConvLSTMAutoEncoder` is the "2-1-2" auto-encoder (after Srivastava et al.
2015, the paper's ref [41]), laid out like the widely copied PyTorch
`EncoderDecoderConvLSTM` whose closing Conv3d 1x3x3 the paper also has:
  * encoder: cells `encoder_1`, `encoder_2` stacked and unrolled over the T
    input maps, all states starting at zero. The encoded vector is
    `encoder_2`'s hidden state after the last map (the paper's "h_2");
  * decoder: cells `decoder_1`, `decoder_2`, stacked, unrolled T steps from
    zero states (not copied from the encoder: the encoded vector is the
    decoder's input, as the paper writes). `decoder_input='feedback'`: the
    first step reads the encoded vector and every later step reads
    `decoder_2`'s previous hidden state (the PyTorch model's
    `encoder_vector = h_t4`), which needs hidden[3] == hidden[1];
    `'repeat'` feeds the encoded vector at every step;
  * output: `decoder_2`'s hidden states stacked over the T steps,
    `[B, T, H, W, hidden[3]]` ("regenerated ME features stacked ... through
    length iterations").
T is the backbone's output length (2 for the paper's 12 frames), so the steps
are unrolled in Python; the cell also runs under `nn.RNN` / `nn.scan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from mer_jax.errors import ConfigError

Carry = tuple[jax.Array, jax.Array]   # (c, h), each [B, H, W, F] float32
DECODER_INPUTS = ("feedback", "repeat")
GATES = 4                             # i, f, candidate, o


class PeepholeConvLSTMCell(nn.RNNCellBase):
  """One step of the peephole ConvLSTM of eq. 1-5 (see the module docstring).

  Attributes:
    features: hidden channels F of h and c.
    kernel_size: the convolutions' window (3x3 in the paper).
    dtype: computation dtype of the convolutions; the gates, the carry and
      the parameters are float32.
  """

  features: int
  kernel_size: Sequence[int] = (3, 3)
  dtype: Any = "float32"

  @nn.compact
  def __call__(self, carry: Carry, x: jax.Array) -> tuple[Carry, jax.Array]:
    """Maps `((c, h), x [B, H, W, C])` to `((c_t, h_t), h_t)`."""
    c, h = carry
    if c.shape[-1] != self.features or c.shape[1:3] != x.shape[1:3]:
      raise ValueError(f"carry of shape {tuple(c.shape)} does not fit input {tuple(x.shape)} "
                       f"and features={self.features}")
    dtype = jnp.dtype(self.dtype)
    conv = dict(features=GATES * self.features, kernel_size=tuple(self.kernel_size),
                padding="SAME", dtype=dtype)
    z = (nn.Conv(**conv, name="input_conv")(x.astype(dtype))               # W_x conv x + b
         + nn.Conv(**conv, use_bias=False, name="hidden_conv")(h.astype(dtype)))
    z_i, z_f, z_c, z_o = jnp.split(z.astype(jnp.float32), GATES, axis=-1)  # each [B, H, W, F]
    peephole = lambda gate: self.param(f"peephole_{gate}", nn.initializers.zeros,  # noqa: E731
                                       c.shape[1:], jnp.float32)           # [H, W, F]
    c = c.astype(jnp.float32)
    i = nn.sigmoid(z_i + peephole("i") * c)                                 # eq. 1
    f = nn.sigmoid(z_f + peephole("f") * c)                                 # eq. 2
    c = f * c + i * jnp.tanh(z_c)                                           # eq. 3
    o = nn.sigmoid(z_o + peephole("o") * c)                                 # eq. 4, c_t
    h = o * jnp.tanh(c)                                                     # eq. 5
    return (c, h), h.astype(dtype)

  @nn.nowrap
  def initialize_carry(self, rng: jax.Array, input_shape: tuple[int, ...]) -> Carry:
    """Zero `(c, h)` for inputs of shape `[..., H, W, C]` (`rng` is unused)."""
    del rng
    zeros = jnp.zeros((*input_shape[:-1], self.features), jnp.float32)
    return zeros, zeros

  @property
  def num_feature_axes(self) -> int:
    return 3   # H, W, C


def check_autoencoder(hidden: Sequence[int], decoder_input: str) -> None:
  """Raises ConfigError for hidden sizes or a decoder input the auto-encoder cannot build."""
  if len(hidden) != 4 or min(hidden) < 1:
    raise ConfigError(f"config.model.hidden={tuple(hidden)}: expected four positive sizes "
                      f"(encoder_1, encoder_2, decoder_1, decoder_2)")
  if decoder_input not in DECODER_INPUTS:
    raise ConfigError(f"config.model.decoder_input={decoder_input!r}; expected one of "
                      f"{DECODER_INPUTS}")
  if decoder_input == "feedback" and hidden[3] != hidden[1]:
    raise ConfigError(f"config.model.hidden={tuple(hidden)}: decoder_input='feedback' feeds "
                      f"decoder_2's output ({hidden[3]} channels) where the encoded vector "
                      f"({hidden[1]} channels) went; make them equal or use 'repeat'")


class ConvLSTMAutoEncoder(nn.Module):
  """The 2-1-2 ConvLSTM auto-encoder (see the module docstring).

  Attributes:
    hidden: channels of encoder_1, encoder_2, decoder_1, decoder_2.
    decoder_input: 'feedback' (encoded vector, then decoder_2's previous
      output) or 'repeat' (the encoded vector at every step).
    kernel_size: the cells' convolution window.
    dtype: computation dtype of the convolutions.
  """

  hidden: Sequence[int]
  decoder_input: str = "feedback"
  kernel_size: Sequence[int] = (3, 3)
  dtype: Any = "float32"

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Maps maps `[B, T, H, W, C]` to `(decoded [B, T, H, W, hidden[3]], encoded [B, H, W,
    hidden[1]])`."""
    check_autoencoder(self.hidden, self.decoder_input)
    if x.ndim != 5 or x.shape[1] < 1:
      raise ValueError(f"the auto-encoder expects maps [B, T, H, W, C], got {tuple(x.shape)}")
    cells = [PeepholeConvLSTMCell(size, self.kernel_size, self.dtype, name=name)
             for size, name in zip(self.hidden, ("encoder_1", "encoder_2", "decoder_1",
                                                 "decoder_2"))]
    carries = [cell.initialize_carry(None, x.shape[:1] + x.shape[2:]) for cell in cells]
    for t in range(x.shape[1]):                          # encoder over the T input maps
      carries[0], h1 = cells[0](carries[0], x[:, t])
      carries[1], encoded = cells[1](carries[1], h1)     # [B, H, W, hidden[1]]
    inputs, outputs = encoded, []
    for _ in range(x.shape[1]):                          # decoder, T steps
      carries[2], h3 = cells[2](carries[2], inputs)
      carries[3], h4 = cells[3](carries[3], h3)
      outputs.append(h4)
      if self.decoder_input == "feedback":
        inputs = h4
    return jnp.stack(outputs, axis=1), encoded
