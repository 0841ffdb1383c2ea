"""The uncropped clips a writer may take beside the face crops (CASME II and SMIC raw trees)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from mer_jax.errors import ConfigError

if TYPE_CHECKING:
  from mer_jax.data.synthetic.generator import SyntheticData


def check(data: SyntheticData, raw_videos: Sequence[np.ndarray]) -> None:
  """Raises ConfigError unless `raw_videos` has one clip per sample, of as many frames."""
  if len(raw_videos) != len(data.samples):
    raise ConfigError(f"raw_videos has {len(raw_videos)} clips; expected one per sample "
                      f"({len(data.samples)})")
  for sample, video, raw in zip(data.samples, data.videos, raw_videos):
    if len(raw) != len(video):
      raise ConfigError(f"raw_videos: {sample.subject}/{sample.clip} has {len(raw)} "
                        f"frames; its cropped video has {len(video)}")
