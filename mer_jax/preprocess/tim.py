"""Fixed-length temporal resampling of a clip.

Recurrent models expect every clip to have the same number of frames. This
module holds plain linear resampling in time; the temporal interpolation model
(TIM, Zhou et al. 2011), which the papers use, joins it here with the
preprocessing-library issue (see BUILD_NOTES.md).
"""

from __future__ import annotations

import numpy as np


def resample_linear(frames: np.ndarray, length: int) -> np.ndarray:
  """Resamples `frames` `[T, ...]` to `[length, ...]` by linear interpolation in time.

  The first and last frames are kept exactly; intermediate frames are blends of
  their two nearest neighbours. Works for any T >= 1 (a single frame is
  repeated).
  """
  if length < 1:
    raise ValueError(f"length must be >= 1, got {length}")
  t = frames.shape[0]
  if t == 0:
    raise ValueError("cannot resample an empty clip")
  pos = np.linspace(0.0, t - 1, length)                 # [length]
  lo = np.floor(pos).astype(np.int64)
  hi = np.minimum(lo + 1, t - 1)
  w = (pos - lo).reshape((-1,) + (1,) * (frames.ndim - 1))
  x = frames.astype(np.float32)
  return (1.0 - w) * x[lo] + w * x[hi]
