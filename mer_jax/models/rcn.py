"""MER-RCNN (Xia, Feng, Hong, Zhao, IPTA 2018): recurrent convolutional layers on pixel x time.

A clip becomes one "image": each (motion-magnified, cropped) frame is flattened
into a column of P pixels, the T frames are the columns, the colour planes the
channels, so the input is `[B, P, T, C]` (the paper's 1966 x 30 x 3).

What the paper specifies (section II-C, eq. 2-4, Table 1):
  * Conv1: a feed-forward 5x5 convolution, padding 0, stride 1, M maps.
  * Pool1..Pool4: max pools with window = stride (4x1, 4x1, 4x4, 4x2) between
    the convolutional layers; RCL2..RCL5 after Pool1..Pool4.
  * Each RCL (Liang & Hu, CVPR 2015): a 1x1 feed-forward convolution and three
    3x3 recurrent convolutions (padding 1, stride 1), all with M maps;
    z(n) = w_f * u + w_r * v(n - 1) + b, v(n) = f(z(n)), initial state v(0) = 0,
    f a "normalised activation".
  * Pool5: global average pooling to an M-vector, then softmax over
    y_c ∝ exp(w_c^T v) (eq. 4), trained with cross entropy.
  * MatConvNet, so pools have no padding and round down.

Interpretations (the paper leaves these open):
  * M = 64 (`features`), our choice; the paper never gives M.
  * f is Liang & Hu's: ReLU then local response normalisation across maps with
    size M/8 + 1, alpha 0.001, beta 0.75, k 1 (`norm='lrn'`); `norm='batch'`
    (BatchNorm per unrolled step, then ReLU) and `'none'` (ReLU) are options.
  * Conv1 is also followed by f (Table 1 lists no activation for any layer).
  * The recurrent weights are shared across the unrolled steps (an RCL is a
    recurrent layer); "3 recurrents" is the number of steps. The step with
    zero recurrent input is f(w_f * u + b), then three steps add w_r * v.
  * The classifier has no bias, as eq. 4 writes it.
  * Pool windows are (P axis, T axis) in Table 1's "Width x Height" order, so
    the paper's input goes 1966x30 -> 1962x26 -> 490x26 -> 122x26 -> 30x6 -> 7x3.
  * Initialisation: Flax's defaults (LeCun normal, zero bias). With them an
    RCL roughly keeps the second moment of its ReLU input (the unrolled steps
    give 1/2, 3/4, 7/8, 15/16 of it), so no scale drifts through the stack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

NORMS = ("lrn", "batch", "none")
LRN_ALPHA = 0.001  # Liang & Hu (2015), section 3.1
LRN_BETA = 0.75
BATCH_NORM_MOMENTUM = 0.9


def lrn(x: jax.Array, size: int, alpha: float = LRN_ALPHA, beta: float = LRN_BETA,
        k: float = 1.0) -> jax.Array:
  """Local response normalisation across the last (channel) axis.

  Exactly `torch.nn.LocalResponseNorm(size, alpha, beta, k)`:
  b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2)^beta over the channels
  c - size // 2 ... c + (size - 1) // 2, zero padded at the ends. The sum is
  taken in float32; the result has the dtype of `x`.
  """
  squares = jnp.square(x.astype(jnp.float32))
  window = (1,) * (x.ndim - 1) + (size,)
  padding = ((0, 0),) * (x.ndim - 1) + ((size // 2, (size - 1) // 2),)
  sums = jax.lax.reduce_window(squares, 0.0, jax.lax.add, window, (1,) * x.ndim, padding)
  scale = (k + alpha / size * sums) ** beta
  return (x.astype(jnp.float32) / scale).astype(x.dtype)


def lrn_size(features: int) -> int:
  """Liang & Hu's LRN window, M/8 + 1 maps."""
  return features // 8 + 1


def check_norm(norm: str) -> None:
  if norm not in NORMS:
    raise ValueError(f"norm={norm!r}; expected one of {NORMS}")


def normalized_activation(z: jax.Array, norm: str, train: bool, name: str,
                          dtype: Any) -> jax.Array:
  """f of eq. 3: ReLU + LRN ('lrn'), BatchNorm + ReLU ('batch') or ReLU ('none').

  Call it inside a compact method: the BatchNorm named `name` belongs to the caller.
  """
  if norm == "batch":
    z = nn.BatchNorm(use_running_average=not train, momentum=BATCH_NORM_MOMENTUM,
                     dtype=dtype, name=name)(z)
  z = nn.relu(z)
  if norm == "lrn":
    z = lrn(z, lrn_size(z.shape[-1]))
  return z


class RecurrentConvLayer(nn.Module):
  """A recurrent convolutional layer (RCL, eq. 2-3), unrolled for `iterations` steps.

  Attributes:
    features: maps M of the feed-forward and the recurrent convolution.
    iterations: recurrent steps after the feed-forward step (3 in Table 1);
      0 leaves a 1x1 convolution followed by f.
    norm: the normalised activation f, one of `NORMS`.
    dtype: computation dtype (a jnp dtype or its name); parameters stay float32.
  """

  features: int
  iterations: int = 3
  norm: str = "lrn"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, u: jax.Array, train: bool) -> jax.Array:
    """Maps `[N, H, W, C]` to `v(iterations)` of shape `[N, H, W, features]`."""
    check_norm(self.norm)
    if self.iterations < 0:
      raise ValueError(f"iterations={self.iterations}; expected 0 or more")
    dtype = jnp.dtype(self.dtype)
    feedforward = nn.Conv(self.features, (1, 1), padding="VALID", dtype=dtype,
                          name="feedforward")(u.astype(dtype))       # w_f * u + b, once
    recurrent = nn.Conv(self.features, (3, 3), padding=1, use_bias=False, dtype=dtype,
                        name="recurrent")                           # w_r, shared by the steps
    v = self.activate(feedforward, 0, train)                        # v(0) = 0 adds nothing
    for step in range(1, self.iterations + 1):
      v = self.activate(feedforward + recurrent(v), step, train)
    return v

  def activate(self, z: jax.Array, step: int, train: bool) -> jax.Array:
    """f for unrolled `step` (its own BatchNorm statistics when norm='batch')."""
    return normalized_activation(z, self.norm, train, f"norm_{step}", jnp.dtype(self.dtype))


def output_size(size: int, kernel: int, pools: Sequence[int]) -> int:
  """One axis through the VALID conv1 and the floor-rounding max pools."""
  size = size - kernel + 1
  for window in pools:
    size //= window
  return size


def check_input_size(shape: Sequence[int], kernel: Sequence[int],
                     pools: Sequence[Sequence[int]]) -> None:
  """Raises ValueError when conv1 and the pools leave no pixels or no frames."""
  if len(shape) != 4:
    raise ValueError(f"MER-RCNN expects [B, pixels, frames, channels], got shape {tuple(shape)}")
  needed = [kernel[axis] - 1 + math.prod(p[axis] for p in pools) for axis in (0, 1)]
  sizes = [output_size(shape[axis + 1], kernel[axis], [p[axis] for p in pools])
           for axis in (0, 1)]
  if min(sizes) < 1:
    raise ValueError(f"input of shape {tuple(shape)} is too small for conv1 {tuple(kernel)} and "
                     f"pools {tuple(map(tuple, pools))}: needs at least P={needed[0]} pixels "
                     f"and T={needed[1]} frames")


class MerRcnn(nn.Module):
  """MER-RCNN: conv1, four pooled RCLs, global average pool, bias-free classifier.

  Attributes:
    num_classes: output classes C.
    features: maps M of every convolution; 64 is our choice (the paper leaves M open).
    iterations: recurrent steps of each RCL (3).
    norm: the normalised activation f after every convolution, one of `NORMS`.
    pools: (P, T) max-pool windows (= strides) of Pool1..Pool4.
    conv1_kernel: (P, T) kernel of conv1, VALID.
    dropout_rate: dropout on the pooled features when `train` (0: none, as the paper).
    dtype: computation dtype (a jnp dtype or its name); parameters and logits are float32.
  """

  num_classes: int
  features: int = 64
  iterations: int = 3
  norm: str = "lrn"
  pools: Sequence[Sequence[int]] = ((4, 1), (4, 1), (4, 4), (4, 2))
  conv1_kernel: Sequence[int] = (5, 5)
  dropout_rate: float = 0.0
  dtype: Any = "float32"

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    """Maps `[B, P, T, C]` to `(logits [B, num_classes] float32, {'features': [B, M]})`."""
    check_norm(self.norm)
    check_input_size(x.shape, self.conv1_kernel, self.pools)
    dtype = jnp.dtype(self.dtype)
    x = nn.Conv(self.features, tuple(self.conv1_kernel), padding="VALID", dtype=dtype,
                name="conv1")(x.astype(dtype))
    x = normalized_activation(x, self.norm, train, "conv1_norm", dtype)
    for layer, window in enumerate(self.pools, start=2):
      x = nn.max_pool(x, tuple(window), strides=tuple(window), padding="VALID")
      x = RecurrentConvLayer(self.features, self.iterations, self.norm, dtype,
                             name=f"rcl{layer}")(x, train)
    features = x.astype(jnp.float32).mean(axis=(1, 2))               # Pool5: global average
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(features.astype(dtype))
    logits = nn.Dense(self.num_classes, use_bias=False, dtype=dtype, name="classifier")(x)
    return logits.astype(jnp.float32), {"features": features}
