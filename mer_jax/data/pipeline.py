"""From `config.data` to model-ready arrays: samples, labels and preprocessed inputs.

The whole (small) dataset is returned as numpy arrays; the trainer puts them on
the accelerators once and draws batches there (design.md, decision 4).
Datasets are named in `config.data.datasets` and read from
`config.data.roots[name]` by their adapters (data/datasets.py), with the
options in `config.data.adapter_options[name]` and the apex policy
`config.data.apex`. The built-in synthetic dataset is generated in memory
unless a root is given (then it is read from its on-disk "native" layout, as
written by `python -m mer_jax.data.synthetic`).

Datasets on disk go through the TFRecord cache in `config.data.cache_dir`
(data/builders.py): prepared once per (dataset, root, options, recipe), read
back on every later run; `cache_dir=''` preprocesses at every start instead.

Nothing is dropped silently: samples an adapter excluded, samples the label
scheme leaves out and clips whose frames cannot be read all end up in
`ExperimentData.excluded` with the reason.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Mapping, Sequence

from absl import logging
import numpy as np
import tqdm

from mer_jax import multihost
from mer_jax.data import builders
from mer_jax.data import datasets
from mer_jax.data import labels as labels_lib
from mer_jax.data import native, synthetic
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import frames as frames_lib
from mer_jax.preprocess import recipes

# Reads the frames (uint8 [T, H, W, 3], onset..offset) of one sample.
ClipReader = Callable[[Sample], np.ndarray]
# The recipe's named arrays of every sample: name -> [N, ...].
Inputs = dict[str, np.ndarray]


@dataclasses.dataclass
class ExperimentData:
  """Everything the trainer needs to know about the data of one experiment."""

  samples: list[Sample]
  labels: np.ndarray                 # [N] int32 class indices
  inputs: dict[str, np.ndarray]      # the recipe's named arrays, each [N, ...]
  class_names: tuple[str, ...]
  excluded: list[Exclusion]          # left out (or repaired), with the reason


def load_synthetic(data_cfg: Mapping) -> tuple[Scan, ClipReader]:
  """The built-in dataset: generated from `data.synthetic`, or read from `roots.synthetic`."""
  root = data_cfg["roots"].get("synthetic")
  if root:
    return Scan(native.load_native(root), []), read_from_disk
  try:
    spec = synthetic.SyntheticSpec(**dict(data_cfg["synthetic"]))
  except TypeError as e:
    raise ConfigError(f"config.data.synthetic: {e}") from e
  data = synthetic.generate(spec)
  videos = {s.key: v for s, v in zip(data.samples, data.videos)}
  return Scan(data.samples, []), lambda s: videos[s.key]


def read_from_disk(sample: Sample) -> np.ndarray:
  """Reads a sample's frames from its `frame_paths`."""
  return frames_lib.read_frames(sample.frame_paths)


def load_dataset(name: str, data_cfg: Mapping) -> tuple[Scan, ClipReader]:
  """One dataset's samples and how to read their frames."""
  if name == "synthetic":
    return load_synthetic(data_cfg)
  options = dict(data_cfg.get("adapter_options", {}).get(name, {}))
  return datasets.load(name, data_cfg["roots"].get(name, ""), apex=data_cfg["apex"],
                       **options), read_from_disk


def preprocess(samples: Sequence[Sample], read: ClipReader, recipe_cfg: Mapping
               ) -> tuple[list[Sample], Inputs, list[Exclusion]]:
  """Applies the recipe to every sample; a clip that cannot be read is excluded."""
  kept, out, excluded = [], [], []
  for s in tqdm.tqdm(samples, desc=f"preprocess ({recipe_cfg['name']})",
                     unit="clip", leave=False, disable=len(samples) < 50):
    try:
      out.append(recipes.run(read(s), recipe_cfg, apex_index=s.apex - s.onset))
      kept.append(s)
    except ConfigError:
      raise
    except Exception as e:  # A corrupt clip: leave it out, say which and why.
      excluded.append(Exclusion(s.key, f"preprocessing failed: {e}"))
      logging.warning("%s left out: %s", s.key, e)
  if not kept:
    raise DataError(f"no clip could be preprocessed; the first error: {excluded[0].reason}")
  return kept, stack_inputs(out), excluded


def stack_inputs(per_clip: Sequence[Mapping[str, np.ndarray]]) -> Inputs:
  """Stacks the named arrays of every clip: name -> [N, ...]."""
  return {name: np.stack([clip[name] for clip in per_clip]) for name in per_clip[0]}


def take(inputs: Inputs, index: np.ndarray) -> Inputs:
  """The rows `index` of every named array."""
  return {name: x[index] for name, x in inputs.items()}


def concatenate(parts: Sequence[Inputs]) -> Inputs:
  """Joins the inputs of several datasets (same recipe, so the same names and shapes)."""
  return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def uses_cache(name: str, data_cfg: Mapping) -> bool:
  """Whether dataset `name` goes through the TFRecord cache (data/builders.py).

  Every dataset on disk does when `data.cache_dir` is set; the synthetic data
  generated in memory never does (it has no root and takes seconds to make).
  """
  return bool(data_cfg.get("cache_dir")) and bool(data_cfg["roots"].get(name))


def load_prepared(name: str, data_cfg: Mapping
                  ) -> tuple[list[Sample], Inputs, list[Exclusion]]:
  """Dataset `name` preprocessed by `data.recipe`, built into the cache if missing.

  In a multi-host run process 0 builds a missing cache; the others read it after.
  """
  options = dict(data_cfg.get("adapter_options", {}).get(name, {}))
  return multihost.primary_first(f"prepare {name}", lambda: builders.load_prepared(
      name, data_cfg["roots"][name], data_cfg["recipe"],
      os.path.expanduser(data_cfg["cache_dir"]), options, data_cfg["apex"]))


def load_inputs(name: str, data_cfg: Mapping, scheme: labels_lib.LabelScheme
                ) -> tuple[list[Sample], Inputs, list[Exclusion]]:
  """One dataset's labelled samples, their inputs and every exclusion (with reasons)."""
  if uses_cache(name, data_cfg):
    samples, inputs, excluded = load_prepared(name, data_cfg)
  else:
    scan, read = load_dataset(name, data_cfg)
    if not scan.samples:
      raise DataError(f"dataset {name!r} has no samples (root: "
                      f"{data_cfg['roots'].get(name) or 'generated in memory'}); "
                      f"{len(scan.excluded)} were excluded")
    samples, excluded, inputs = scan.samples, list(scan.exclusions), None
  kept, _, left_out = labels_lib.apply_scheme(samples, scheme)
  excluded += [Exclusion(s.key, reason) for s, reason in left_out]
  if not kept:
    return [], {}, excluded
  if inputs is None:  # the clips of the scheme only, preprocessed now
    kept, inputs, unreadable = preprocess(kept, read, data_cfg["recipe"])
    return kept, inputs, excluded + unreadable
  index = {s.key: i for i, s in enumerate(samples)}
  return kept, take(inputs, np.asarray([index[s.key] for s in kept], np.int64)), excluded


def load_experiment_data(data_cfg: Mapping) -> ExperimentData:
  """Samples -> labels (by the label scheme) -> preprocessed inputs."""
  scheme = labels_lib.get_scheme(data_cfg["label_scheme"])
  if scheme.needs_annotated_apex and data_cfg["apex"] != "annotated":
    raise ConfigError(f"label scheme {scheme.name} needs config.data.apex='annotated' "
                      f"(got {data_cfg['apex']!r}): its rule is defined by the annotated "
                      "apexes")
  kept, inputs, excluded = [], [], []
  for name in data_cfg["datasets"]:
    k, x, e = load_inputs(name, data_cfg, scheme)
    kept, excluded = kept + k, excluded + e
    inputs += [x] if k else []
  if not kept:
    raise DataError(
        f"no sample of {list(data_cfg['datasets'])} has a label in scheme "
        f"{scheme.name!r} (classes {scheme.class_names}); {len(excluded)} were excluded")
  y = np.asarray([scheme.label(s) for s in kept], np.int32)
  return ExperimentData(kept, y, concatenate(inputs), scheme.class_names, excluded)
