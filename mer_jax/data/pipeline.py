"""From `config.data` to model-ready arrays: samples, labels and preprocessed inputs.

The whole (small) dataset is returned as numpy arrays; the trainer puts them on
the accelerators once and draws batches there (design.md, decision 4).
Datasets are named in `config.data.datasets`; a dataset is read from
`config.data.roots[name]`, except the built-in synthetic one, which is
generated in memory unless a root is given (then it is read from its on-disk
"native" layout, as written by `python -m mer_jax.data.synthetic`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

from absl import logging
import numpy as np
import tqdm

from mer_jax.data import labels as labels_lib
from mer_jax.data import native
from mer_jax.data import synthetic
from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import frames as frames_lib
from mer_jax.preprocess import recipes

# Reads the frames (uint8 [T, H, W, 3], onset..offset) of one sample.
ClipReader = Callable[[Sample], np.ndarray]


@dataclasses.dataclass
class ExperimentData:
  """Everything the trainer needs to know about the data of one experiment."""

  samples: list[Sample]
  labels: np.ndarray                 # [N] int32 class indices
  inputs: dict[str, np.ndarray]      # 'frames': [N, T, H, W, C] float32
  class_names: tuple[str, ...]
  excluded: list[tuple[Sample, str]]  # samples left out, with the reason


def load_synthetic(data_cfg: Mapping) -> tuple[list[Sample], ClipReader]:
  """The built-in dataset: generated from `data.synthetic`, or read from `roots.synthetic`."""
  root = data_cfg["roots"].get("synthetic")
  if root:
    return native.load_native(root), read_from_disk
  try:
    spec = synthetic.SyntheticSpec(**dict(data_cfg["synthetic"]))
  except TypeError as e:
    raise ConfigError(f"config.data.synthetic: {e}") from e
  data = synthetic.generate(spec)
  videos = {s.key: v for s, v in zip(data.samples, data.videos)}
  return data.samples, lambda s: videos[s.key]


def read_from_disk(sample: Sample) -> np.ndarray:
  """Reads a sample's frames from its `frame_paths`."""
  return frames_lib.read_frames(sample.frame_paths)


LOADERS: dict[str, Callable[[Mapping], tuple[list[Sample], ClipReader]]] = {
    "synthetic": load_synthetic,
}


def load_samples(data_cfg: Mapping) -> tuple[list[Sample], ClipReader]:
  """Loads the samples of every dataset in `data.datasets`."""
  samples, readers = [], {}
  for name in data_cfg["datasets"]:
    if name not in LOADERS:
      raise ConfigError(
          f"config.data.datasets names {name!r}, which has no adapter yet; "
          f"available: {sorted(LOADERS)} (the real corpora arrive with the "
          "dataset-adapter issue)")
    found, reader = LOADERS[name](data_cfg)
    if not found:
      raise DataError(f"dataset {name!r} has no samples (root: "
                      f"{data_cfg['roots'].get(name) or 'generated in memory'})")
    samples += found
    readers[name] = reader
  return samples, lambda s: readers[s.dataset](s)


def preprocess(samples: Sequence[Sample], read: ClipReader,
               recipe_cfg: Mapping) -> np.ndarray:
  """Applies the recipe to every sample; returns the stacked inputs `[N, ...]`."""
  recipe = recipes.get_recipe(recipe_cfg["name"])
  out = []
  for s in tqdm.tqdm(samples, desc=f"preprocess ({recipe_cfg['name']})",
                     unit="clip", leave=False, disable=len(samples) < 50):
    try:
      out.append(recipe(read(s), recipe_cfg))
    except (DataError, ConfigError):
      raise
    except Exception as e:  # A corrupt clip: say which one.
      raise DataError(f"preprocessing {s.key} failed: {e}") from e
  return np.stack(out)


def load_experiment_data(data_cfg: Mapping) -> ExperimentData:
  """Samples -> labels (by the label scheme) -> preprocessed inputs."""
  samples, read = load_samples(data_cfg)
  scheme = labels_lib.get_scheme(data_cfg["label_scheme"])
  kept, y, excluded = labels_lib.apply_scheme(samples, scheme)
  if not kept:
    raise DataError(
        f"no sample of {list(data_cfg['datasets'])} has a label in scheme "
        f"{scheme.name!r} (classes {scheme.class_names}); {len(samples)} were found")
  if excluded:
    logging.info("label scheme %s leaves out %d of %d samples", scheme.name,
                 len(excluded), len(samples))
  x = preprocess(kept, read, data_cfg["recipe"])
  return ExperimentData(kept, y, {"frames": x}, scheme.class_names, excluded)
