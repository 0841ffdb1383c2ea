"""Stacked LSTM over a sequence of feature vectors (the ELRCN temporal module).

Each layer is a `flax.linen.RNN` over an `OptimizedLSTMCell` whose parameters
live under `cell_{i}`, so weight importers and tests can address them. The
input is batch-major `[B, T, D]` and every layer returns the full sequence, so
callers pick the last step (ELRCN) or average over time (ATNet).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax


class StackedLSTM(nn.Module):
  """LSTM layers applied one after another.

  Attributes:
    features: hidden units of each layer, e.g. (3000, 1024).
    dtype: computation dtype (None keeps the input's).
  """

  features: Sequence[int]
  dtype: jax.typing.DTypeLike | None = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """Maps `[B, T, D]` to the last layer's outputs `[B, T, features[-1]]`."""
    for i, units in enumerate(self.features):
      cell = nn.OptimizedLSTMCell(units, dtype=self.dtype, name=f"cell_{i}")
      x = nn.RNN(cell, name=f"lstm_{i}")(x)
    return x
