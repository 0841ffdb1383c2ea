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
from typing import Callable, Mapping, Sequence

from absl import logging
import numpy as np
import tqdm

from mer_jax import multihost
from mer_jax.data import builders
from mer_jax.data import datasets
from mer_jax.data import faces
from mer_jax.data import labels as labels_lib
from mer_jax.data import manifests
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import ConfigError, DataError
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
  # How the run covers its published protocol (data/manifests.py), or None.
  coverage: dict | None = None
  # Per dataset, the cache its inputs were read from (`builders.cache_name`);
  # None for data preprocessed at start.
  caches: dict[str, str | None] = dataclasses.field(default_factory=dict)


read_from_disk = builders.read_from_disk  # reads a sample's frames from its `frame_paths`


def load_dataset(name: str, data_cfg: Mapping) -> tuple[Scan, ClipReader]:
  """One dataset's samples and how to read their frames.

  A built-in dataset without a root (datasets.BUILT_IN, the :demo data) is
  generated in memory from `config.data.<name>`.
  """
  root = data_cfg["roots"].get(name, "")
  if not root and name in datasets.BUILT_IN:
    return datasets.generate(name, data_cfg[name])
  options = dict(data_cfg.get("adapter_options", {}).get(name, {}))
  return (datasets.load(name, root, apex=data_cfg.get("apex", "annotated"), **options),
          read_from_disk)


def _frame_reader(read: ClipReader) -> faces.FrameReader | None:
  """What the face step reads frames with: files one by one, or the in-memory clip."""
  if read is read_from_disk:
    return None  # faces.locate_faces reads only the frames it looks at
  return lambda sample, positions: read(sample)[np.asarray(positions)]


def preprocess(samples: Sequence[Sample], read: ClipReader, recipe_cfg: Mapping
               ) -> tuple[list[Sample], Inputs, list[Exclusion]]:
  """Finds the faces (data/faces.py), then applies the recipe to every sample.

  A clip that cannot be read or preprocessed is excluded; a face found only
  by a fallback is listed as repaired (both with the reason).
  """
  located = faces.locate_faces(samples, recipe_cfg.get("face", "none"), _frame_reader(read))
  kept, out, excluded = [], [], list(located.notes)
  for s in tqdm.tqdm(located.samples, desc=f"preprocess ({recipe_cfg['name']})",
                     unit="clip", leave=False, disable=len(samples) < 50):
    inputs, failed = builders.preprocess_one(s, recipe_cfg, located.boxes.get(s.key), read)
    if failed is not None:
      excluded.append(failed)
      continue
    out.append(inputs)
    kept.append(s)
  if not kept:
    raise DataError("no clip could be preprocessed; the first error: "
                    f"{next(e for e in excluded if not e.repaired).reason}")
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
  return bool(builders.resolve_cache_dir(data_cfg.get("cache_dir", ""))) and bool(
      data_cfg["roots"].get(name))


def load_prepared(name: str, data_cfg: Mapping
                  ) -> tuple[list[Sample], Inputs, list[Exclusion], str]:
  """Dataset `name` preprocessed by `data.recipe`, built into the cache if missing.

  In a multi-host run process 0 builds a missing cache; the others read it after.
  The last item is the cache's name (`builders.cache_name`).
  """
  options = dict(data_cfg.get("adapter_options", {}).get(name, {}))
  path = multihost.primary_first(f"prepare {name}", lambda: builders.prepare(
      name, data_cfg["roots"][name], data_cfg["recipe"],
      builders.resolve_cache_dir(data_cfg["cache_dir"]), options, data_cfg["apex"]))
  return (*builders.read_prepared(path), builders.cache_name(path))


def load_inputs(name: str, data_cfg: Mapping, scheme: labels_lib.LabelScheme
                ) -> tuple[list[Sample], Inputs, list[Exclusion], list[Exclusion], str | None]:
  """One dataset's labelled samples, their inputs and every exclusion (with reasons).

  Returns:
    (kept samples, their inputs, every exclusion and repair note, the
    exclusions for a fault: the adapter's, the face step's and
    preprocessing's, not the label scheme's by-design left-outs nor repairs,
    the name of the cache read or None).
  """
  cache = None
  if uses_cache(name, data_cfg):
    samples, inputs, excluded, cache = load_prepared(name, data_cfg)
  else:
    scan, read = load_dataset(name, data_cfg)
    if not scan.samples:
      raise DataError(f"dataset {name!r} has no samples (root: "
                      f"{data_cfg['roots'].get(name) or 'generated in memory'}); "
                      f"{len(scan.excluded)} were excluded")
    samples, excluded, inputs = scan.samples, list(scan.exclusions), None
  kept, _, left_out = labels_lib.apply_scheme(samples, scheme)
  by_scheme = [Exclusion(s.key, reason) for s, reason in left_out]
  if kept and inputs is None:  # the clips of the scheme only, preprocessed now
    kept, inputs, unreadable = preprocess(kept, read, data_cfg["recipe"])
    excluded += unreadable
  elif kept:  # the cache holds every clip of the dataset: take the scheme's
    index = {s.key: i for i, s in enumerate(samples)}
    inputs = take(inputs, np.asarray([index[s.key] for s in kept], np.int64))
  faults = [e for e in excluded if not e.repaired]
  return kept, (inputs if kept else {}), excluded + by_scheme, faults, cache


def load_experiment_data(data_cfg: Mapping) -> ExperimentData:
  """Samples -> labels (by the label scheme) -> preprocessed inputs.

  The recipe's fields are checked first (`recipes.check_config`), before any clip is read.
  """
  recipes.check_config(data_cfg["recipe"])
  scheme = labels_lib.get_scheme(data_cfg["label_scheme"])
  if scheme.needs_annotated_apex and data_cfg["apex"] != "annotated":
    raise ConfigError(f"label scheme {scheme.name} needs config.data.apex='annotated' "
                      f"(got {data_cfg['apex']!r}): its rule is defined by the annotated "
                      "apexes")
  kept, inputs, excluded, candidates, caches = [], [], [], [], {}
  for name in data_cfg["datasets"]:
    k, x, e, faults, caches[name] = load_inputs(name, data_cfg, scheme)
    kept, excluded, candidates = kept + k, excluded + e, candidates + faults
    inputs += [x] if k else []
  coverage = manifests.check(data_cfg.get("manifest", ""), kept, candidates,
                             data_cfg.get("allow_missing", False))
  if not kept:
    raise DataError(
        f"no sample of {list(data_cfg['datasets'])} has a label in scheme "
        f"{scheme.name!r} (classes {scheme.class_names}); {len(excluded)} were excluded")
  if coverage is not None and not manifests.is_complete(coverage):
    logging.warning("config.data.allow_missing=True: the run has %s of %s",
                    manifests.describe(coverage), coverage["title"])
  y = np.asarray([scheme.label(s) for s in kept], np.int32)
  return ExperimentData(kept, y, concatenate(inputs), scheme.class_names, excluded, coverage,
                        caches)

