"""The built-in synthetic data as a registered dataset (data/datasets.py BUILT_IN).

It is read like every corpus, with one difference the registry states once:
with a root (`config.data.roots.synthetic`, a folder that `python -m
mer_jax.data.synthetic` wrote) it is read from the native layout; without
one it is generated in memory from `config.data.synthetic` (the fields of
`SyntheticSpec`), its frames held in memory.

  scan = load('/tmp/synth')                              # on disk
  scan, read = generate({'num_subjects': 4})             # in memory
  frames = read(scan.samples[0])                         # uint8 [T, H, W, 3]
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from mer_jax.data.sample import Sample, Scan
from mer_jax.data.synthetic import generator
from mer_jax.data.synthetic import native
from mer_jax.errors import ConfigError, DataError


def load(root: str, *, apex: str = "annotated") -> Scan:
  """The built-in data on disk (native layout) under apex policy `apex`, strictly.

  The layout is written by code, so a row the load would exclude is a fault in
  the folder, not a corpus' quirk: the error names the file, line and field.
  """
  scan = native.load(root, apex=apex)
  if scan.excluded:
    raise DataError(scan.excluded[0].reason)
  return scan


def generate(options: Mapping[str, Any]) -> tuple[Scan, Callable[[Sample], np.ndarray]]:
  """The built-in data generated in memory: (its samples, how to read a sample's frames).

  Raises:
    ConfigError: `options` names a field SyntheticSpec does not have, or a bad value.
  """
  try:
    spec = generator.SyntheticSpec(**dict(options))
  except TypeError as e:
    raise ConfigError(f"config.data.synthetic: {e}") from e
  data = generator.generate(spec)
  videos = {s.key: v for s, v in zip(data.samples, data.videos)}
  return Scan(data.samples, []), lambda sample: videos[sample.key]
