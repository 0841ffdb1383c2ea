"""ELRCN (Khor et al., FG 2018) and its ablations.

This module holds the "temporal learning only" ablation of section IV-E-2:
the pixel intensities of each (50x50, grey) frame are flattened into one
vector per time step and fed to a stacked LSTM; the output of the last step
goes through one fully connected layer (softmax is applied in the loss). The
paper's best temporal-only configuration is a 2-layer LSTM of 3000 and 1024
units (Fig. 6-7).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax

from mer_jax.models.lstm import StackedLSTM


class ElrcnTemporalOnly(nn.Module):
  """Pixels -> stacked LSTM -> last step -> FC.

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
