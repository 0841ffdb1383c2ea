"""The cache of preprocessing: a TFDS builder that writes one recipe's output as TFRecords.

  path = prepare('casme2', '/data/CASME2', {'name': 'pixels', ...}, '~/tensorflow_datasets')
  samples, inputs, exclusions = load_prepared('casme2', '/data/CASME2', recipe, data_dir)

One builder, `mer_prepared`, with one builder config per (dataset, corpus
root, adapter options, apex policy, recipe, data fingerprint, preprocessing
code version). The config name holds the hash of the recipe and the hash of
the rest (preprocess/recipe_hash.py), so any changed parameter is a new
config, hence a new directory, and a stale cache is never read back.

The cache follows the data: the fingerprint (`data_fingerprint`) covers every
parsed annotation row (each sample's fields: a corrected label, onset or apex
changes it), every exclusion the adapter made, and the name, size and
modification time of every frame file. A run scans the corpus (reads the
annotation files and lists the clip folders; no frame is decoded) before it
decides whether the cache can be reused. `PREPROCESS_VERSION` is part of the
key too: it changes when the code of a recipe or of the face step changes its
output.

  <data_dir>/mer_prepared/<dataset>-<recipe>-<recipe hash>-<source hash>/1.2.0/
      mer_prepared-train.tfrecord-*   one example per sample, in the adapter's order
      dataset_info.json features.json (TFDS)
      exclusions.json                 what the adapter excluded or repaired and the
                                      clips that failed preprocessing, with reasons

Examples hold the raw Sample fields, not a label scheme's class (every scheme
reads the same cache), how the face step found the clip's face (`face_stage`,
data/faces.py), and under 'inputs' the recipe's named arrays (one 'frames'
array for most recipes) with their shapes and dtypes.

Where the cache lives (`cache_dir`, `resolve_cache_dir`): `config.data.cache_dir`
(or `python -m mer_jax.prepare --data_dir`); 'auto', the default, is
$TFDS_DATA_DIR when it is set and ~/tensorflow_datasets otherwise; '' turns
the cache off.
`FORMAT_VERSION` changes with the record format, and must also be bumped when
a recipe's *code* changes its output (unhashed).

Interrupted builds: TFDS writes into `incomplete.XXXXXX_1.1.0/` and renames it
to `1.1.0/` after the last record; an exception removes it. So a version
folder exists only when complete and the next `prepare` rebuilds. A killed
process leaves its `incomplete.*` folder: never read, reported, safe to delete.

TensorFlow (tensorflow-cpu) and TFDS are imported on first use only, with
every GPU hidden from TensorFlow, so that it never takes an accelerator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import json
import os
import sys
from typing import Any, Iterator, Mapping, Sequence

from absl import logging
import numpy as np
import tqdm

from mer_jax.data import apex as apex_lib
from mer_jax.data import datasets
from mer_jax.data import faces
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import frames as frames_lib
from mer_jax.preprocess import recipe_outputs
from mer_jax.preprocess import recipes
from mer_jax.preprocess.recipe_hash import recipe_hash, short_hash, to_plain

BUILDER_NAME = "mer_prepared"
FORMAT_VERSION = "1.2.0"  # the version folder; bump when the record format changes
# Part of every cache key: bump when a recipe's or the face step's code changes
# what it computes for the same parameters (their parameters are hashed anyway).
PREPROCESS_VERSION = 2
DEFAULT_DATA_DIR = "~/tensorflow_datasets"
SPLIT = "train"
EXCLUSIONS_FILE = "exclusions.json"
MANUAL_DOWNLOAD_INSTRUCTIONS = """\
The micro-expression corpora are licensed to each research group and cannot be
downloaded. Point --root (config.data.roots.NAME) at your unpacked copy, e.g.
the CASME II folder that holds CASME2-coding-20140508.xlsx and Cropped/.
See datasets.md for the layout each adapter expects.
"""
TEXT_FIELDS = ("dataset", "subject", "clip", "emotion", "action_units", "apex_source",
               "frame_source", "face_stage")
INT_FIELDS = ("onset", "apex", "offset", "objective_class")  # objective_class -1: none

# ------------------------------------------------------------ the cache key ---


@dataclasses.dataclass(frozen=True)
class PrepareSpec:
  """Everything that determines the content of one cache (all JSON-ready).

  Attributes:
    dataset: registry name (data/datasets.py), or 'synthetic' (native layout).
    root: absolute path of the corpus.
    adapter_options: the adapter's options with its defaults filled in and
      '' ("the adapter decides") dropped, as `datasets.load` passes them.
    apex: apex policy.
    recipe: the recipe config as a plain dict (`name` + parameters).
    fingerprint: `data_fingerprint` of the corpus as scanned ('' before the
      scan; `prepare` always fills it).
    code_version: PREPROCESS_VERSION.
  """

  dataset: str
  root: str
  adapter_options: dict[str, Any]
  apex: str
  recipe: dict[str, Any]
  fingerprint: str = ""
  code_version: int = PREPROCESS_VERSION

  @property
  def source(self) -> dict[str, Any]:
    """The part of the key that says which samples and which code: all but the recipe."""
    return {"dataset": self.dataset, "root": self.root,
            "adapter_options": self.adapter_options, "apex": self.apex,
            "fingerprint": self.fingerprint, "code_version": self.code_version}

  @property
  def config_name(self) -> str:
    """'casme2-pixels-<recipe hash>-<source hash>': the builder-config name."""
    return (f"{self.dataset}-{self.recipe['name']}-{recipe_hash(self.recipe)}-"
            f"{short_hash(self.source, 6)}")


def make_spec(dataset: str, root: str, recipe_cfg: Mapping,
              adapter_options: Mapping | None = None, apex: str = "annotated") -> PrepareSpec:
  """Normalises the arguments of `prepare` into the cache key.

  Raises:
    ConfigError: an unknown dataset or recipe, or the in-memory synthetic data.
  """
  if dataset not in datasets.NAMES:
    raise ConfigError(f"dataset {dataset!r} is unknown; expected one of {list(datasets.NAMES)}")
  if not root:  # (the synthetic data generated in memory has none)
    raise ConfigError(f"dataset {dataset!r} needs a root folder to be prepared and cached")
  recipe = to_plain(recipe_cfg)
  recipe_hash(recipe)  # ConfigError without a name
  recipes.check_config(recipe)  # ConfigError: an unknown recipe, a bad field
  options = {**datasets.ADAPTER_OPTIONS.get(dataset, {}), **to_plain(adapter_options or {})}
  return PrepareSpec(dataset, os.path.abspath(os.path.expanduser(root)),
                     {k: v for k, v in sorted(options.items()) if v != ""}, apex, recipe)


def resolve_cache_dir(value: str) -> str:
  """The cache folder for `config.data.cache_dir` / `--data_dir` ('' = no cache).

  'auto' is $TFDS_DATA_DIR when set (TFDS' own variable), else ~/tensorflow_datasets.
  """
  if value == "auto":
    value = os.environ.get("TFDS_DATA_DIR") or DEFAULT_DATA_DIR
  return os.path.expanduser(value) if value else ""


def _frame_stats(paths: Sequence[str]) -> list[list[Any]]:
  """[name, size, mtime_ns] of every frame file ([name, -1, -1] when it is gone)."""
  out = []
  for path in paths:
    try:
      st = os.stat(path)
      out.append([os.path.basename(path), st.st_size, st.st_mtime_ns])
    except OSError:
      out.append([os.path.basename(path), -1, -1])
  return out


def data_fingerprint(scan: Scan) -> str:
  """A hash of what the corpus gives: every sample's fields and frame files, every exclusion.

  A corrected label or frame number in the annotation file, a restored or
  re-saved frame file (its size or modification time), a clip folder that
  appears or disappears: each changes the fingerprint, hence the cache key.
  """
  rows = [[dataclasses.asdict(s) | {"frame_paths": _frame_stats(s.frame_paths)}
           for s in scan.samples],
          [dataclasses.asdict(e) for e in scan.exclusions]]
  return short_hash(rows, 16)


def prepared_dir(spec: PrepareSpec, data_dir: str) -> str:
  """Where the version folder of `spec` is (or will be) under `data_dir`."""
  return os.path.join(os.path.expanduser(data_dir), BUILDER_NAME, spec.config_name,
                      FORMAT_VERSION)


def cache_name(path: str) -> str:
  """'<builder config>/<format version>' of a prepared folder: the key of what it holds."""
  parent, version = os.path.split(os.path.normpath(path))
  return f"{os.path.basename(parent)}/{version}"


def is_prepared(path: str) -> bool:
  """True when `path` holds a finished cache; DataError when it holds a damaged one."""
  if not os.path.isdir(path):
    return False
  for name in ("dataset_info.json", EXCLUSIONS_FILE):
    if not os.path.isfile(os.path.join(path, name)):
      raise DataError(f"{path}: a prepared-data folder without {name} (damaged or not "
                      "written by mer_jax); delete it and prepare again")
  return True

# ------------------------------------------------------------- the samples ---


def scan_dataset(spec: PrepareSpec) -> Scan:
  """The adapter's samples and exclusions for `spec` (a DataError if there are none)."""
  if not os.path.isdir(spec.root):
    raise DataError(f"root {spec.root}: no such directory (the {spec.dataset} corpus "
                    "should be there)")
  scan = datasets.load(spec.dataset, spec.root, apex=spec.apex, **spec.adapter_options)
  if not scan.samples:
    raise DataError(f"dataset {spec.dataset!r} has no samples under {spec.root}; "
                    f"{len(scan.excluded)} were excluded")
  return scan


# The stored form of one clip's inputs: ((name, shape, dtype name), ...), sorted by name.
InputSpec = tuple[tuple[str, tuple[int, ...], str], ...]


def read_from_disk(sample: Sample) -> np.ndarray:
  """Reads a sample's frames (uint8 [T, H, W, 3], onset..offset) from its `frame_paths`."""
  return frames_lib.read_frames(sample.frame_paths)


def preprocess_one(sample: Sample, recipe_cfg: Mapping, face: Any = None,
                   read: Any = read_from_disk
                   ) -> tuple[dict[str, np.ndarray] | None, Exclusion | None]:
  """(named inputs, None), or (None, why) for a clip that cannot be read or preprocessed.

  The one place a recipe is applied to a sample (the cache and `pipeline.preprocess`
  alike): the frames from `read(sample)`, the apex position, whether the
  corpus annotates apexes, and the face found by the face step (`face`, a
  `preprocess.face.FaceBox`, or None). A ConfigError (a bad recipe parameter)
  is raised, not recorded.
  """
  try:
    return recipes.run(read(sample), recipe_cfg, apex_index=sample.apex - sample.onset,
                       face=face, apex_annotated=apex_lib.corpus_annotates_apex(sample)), None
  except ConfigError:
    raise
  except Exception as e:  # pylint: disable=broad-except  # A corrupt clip: record it.
    logging.warning("%s left out: %s", sample.key, e)
    return None, Exclusion(sample.key, f"preprocessing failed: {e}")


def input_spec(inputs: Mapping[str, np.ndarray]) -> InputSpec:
  """The names, shapes and dtypes of one clip's inputs."""
  return tuple((name, tuple(x.shape), x.dtype.name) for name, x in sorted(inputs.items()))


def declared_spec(recipe_cfg: Mapping) -> InputSpec:
  """The names, shapes and dtypes the recipe declares it stores (preprocess/recipe_outputs.py)."""
  return tuple((name, tuple(spec.shape), spec.dtype)
               for name, spec in recipe_outputs.output_spec(recipe_cfg).items())


def to_example(sample: Sample, inputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """The TFDS example of one sample: its inputs and raw annotation."""
  example = {name: getattr(sample, name) for name in TEXT_FIELDS + INT_FIELDS}
  if sample.objective_class is None:
    example["objective_class"] = -1
  return {**example, "inputs": dict(inputs), "frame_paths": list(sample.frame_paths)}


def from_example(example: Mapping[str, Any]) -> Sample:
  """The Sample of one example read back by `tfds.as_numpy` (bytes -> str)."""
  fields = {name: example[name].decode("utf-8") for name in TEXT_FIELDS}
  fields.update({name: int(example[name]) for name in INT_FIELDS})
  if fields["objective_class"] < 0:
    fields["objective_class"] = None
  paths = tuple(p.decode("utf-8") for p in example["frame_paths"])
  return Sample(**fields, frame_paths=paths)


def generate_examples(samples: Sequence[Sample], recipe_cfg: Mapping, spec: InputSpec,
                      failed: list[Exclusion], boxes: Mapping[str, Any] | None = None
                      ) -> Iterator[tuple[str, dict[str, Any]]]:
  """Yields (sample key, example) per clip, with a progress bar; appends failures to `failed`.

  `boxes`: the face step's FaceBox per sample key (data/faces.py), if it ran.
  """
  bar = tqdm.tqdm(samples, desc=f"prepare {samples[0].dataset} ({recipe_cfg['name']})",
                  unit="clip")
  for sample in bar:
    inputs, excluded = preprocess_one(sample, recipe_cfg, (boxes or {}).get(sample.key))
    if excluded is not None:
      failed.append(excluded)
      continue
    if input_spec(inputs) != tuple(spec):
      raise DataError(f"{sample.key}: recipe {recipe_cfg['name']!r} returned "
                      f"{input_spec(inputs)} (name, shape, dtype), but it declares "
                      f"{tuple(spec)} (preprocess/recipe_outputs.py); a recipe must give "
                      "every clip the shapes it declares")
    yield sample.key, to_example(sample, inputs)

# -------------------------------------------------------- exclusions file ---


def write_exclusions(path: str, spec: PrepareSpec, num_samples: int,
                     exclusions: Sequence[Exclusion]) -> None:
  """Writes `exclusions.json` (with the key and the sample count) into `path`."""
  record = {"config": spec.config_name, **dataclasses.asdict(spec),
            "num_samples": num_samples,
            "exclusions": [dataclasses.asdict(e) for e in exclusions]}
  with open(os.path.join(path, EXCLUSIONS_FILE), "w", encoding="utf-8") as f:
    json.dump(record, f, indent=1)


def read_summary(path: str) -> dict[str, Any]:
  """The contents of `exclusions.json` of a prepared folder (no TensorFlow needed)."""
  with open(os.path.join(path, EXCLUSIONS_FILE), encoding="utf-8") as f:
    return json.load(f)

# ------------------------------------------------------------ TensorFlow ---


@functools.cache
def import_tfds() -> Any:
  """Imports TensorFlow with every GPU hidden, then TFDS (its bars off: ours is on)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # no C++ INFO lines
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    tf.config.set_visible_devices([], "GPU")
  except RuntimeError:  # TensorFlow was initialised before us.
    if tf.config.get_visible_devices("GPU"):
      logging.warning("TensorFlow already sees a GPU: %s", tf.config.get_visible_devices("GPU"))
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds.disable_progress_bar()
  return tfds


def features(tfds: Any, spec: InputSpec) -> Any:
  """The feature spec of one example."""
  text = {name: tfds.features.Text() for name in TEXT_FIELDS}
  ints = {name: tfds.features.Scalar(dtype=np.int32) for name in INT_FIELDS}
  inputs = {name: tfds.features.Tensor(shape=tuple(shape), dtype=np.dtype(dtype))
            for name, shape, dtype in spec}
  return tfds.features.FeaturesDict({
      "inputs": tfds.features.FeaturesDict(inputs),
      "frame_paths": tfds.features.Sequence(tfds.features.Text()), **text, **ints})


@functools.cache
def builder_class() -> type:
  """The TFDS builder class, defined on first use; not registered (read by folder)."""
  tfds = import_tfds()

  @dataclasses.dataclass(eq=False)
  class PreparedConfig(tfds.core.BuilderConfig):
    """A builder config: the cache key and the recipe's output names, shapes, dtypes."""
    spec: PrepareSpec | None = None
    inputs: InputSpec = ()

  class MerPrepared(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Micro-expression clips after one preprocessing recipe, one example per sample."""

    VERSION = tfds.core.Version(FORMAT_VERSION)
    RELEASE_NOTES = {"1.0.0": "Raw sample fields + recipe frames; exclusions.json.",
                     "1.1.0": "The recipe's named arrays under 'inputs'.",
                     "1.2.0": "frame_source and face_stage per clip; data fingerprint."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    config_class = PreparedConfig
    # No checksums file to look up (nothing is downloaded); TFDS 4.9.10 needs the
    # undeclared `importlib_resources` to find one (tensorflow/datasets#11212).
    code_path = None

    def __init__(self, *, scan: Scan | None = None, boxes: Mapping | None = None,
                 **kwargs: Any):
      self._scan = scan  # the adapter's result (faces located); needed to build, not to read
      self._boxes = boxes or {}  # the face step's FaceBox per sample key
      super().__init__(**kwargs)

    def _info(self) -> Any:
      cfg = self.builder_config
      return tfds.core.DatasetInfo(
          builder=self, features=features(tfds, cfg.inputs), disable_shuffling=True,
          description=f"{cfg.spec.dataset} preprocessed by recipe {cfg.spec.recipe['name']}")

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator]:
      if self._scan is None or str(dl_manager.manual_dir) != self.builder_config.spec.root:
        raise DataError("MerPrepared is built by mer_jax.data.builders.prepare")
      return {SPLIT: self._generate_examples()}

    def _generate_examples(self) -> Iterator[tuple[str, dict[str, Any]]]:
      cfg, failed, count = self.builder_config, [], 0
      for key, example in generate_examples(self._scan.samples, cfg.spec.recipe,
                                            cfg.inputs, failed, self._boxes):
        count += 1
        yield key, example
      if not count:  # raised inside the build: TFDS removes its incomplete folder
        raise DataError(f"no clip could be preprocessed with recipe {cfg.spec.recipe['name']!r}; "
                        f"the first error: {failed[0].reason}")
      # self.data_dir is TFDS's incomplete.* folder here: renamed with the records.
      write_exclusions(self.data_dir, cfg.spec, count, self._scan.exclusions + failed)

  PreparedConfig.__qualname__ = "PreparedConfig"  # as TFDS logs it, not builder_class.<locals>
  MerPrepared.__qualname__ = "MerPrepared"
  return MerPrepared


def make_builder(spec: PrepareSpec, data_dir: str, inputs: InputSpec,
                 scan: Scan | None = None, boxes: Mapping | None = None) -> Any:
  """A `MerPrepared` builder for `spec` (pass `scan`, and the face boxes, to build)."""
  cls = builder_class()
  config = cls.config_class(name=spec.config_name, spec=spec, inputs=tuple(inputs),
                            description=json.dumps(dataclasses.asdict(spec), sort_keys=True))
  return cls(data_dir=os.path.expanduser(data_dir), config=config, scan=scan, boxes=boxes)

# ------------------------------------------------------------- public API ---


def _warn_leftovers(path: str) -> None:
  """Logs the incomplete.* folders that killed builds of this config left behind."""
  parent, version = os.path.split(path)
  for leftover in glob.glob(os.path.join(parent, f"incomplete.*_{version}")):
    logging.warning("%s: left by an interrupted build, not used; safe to delete", leftover)


def prepare(dataset: str, root: str, recipe_cfg: Mapping, data_dir: str,
            adapter_options: Mapping | None = None, apex: str = "annotated") -> str:
  """Writes the TFRecords of (dataset, recipe) under `data_dir` unless they exist.

  Args:
    dataset: registry name ('casme2', 'samm', ...; 'synthetic' for the native layout).
    root: the corpus folder (the TFDS manual_dir).
    recipe_cfg: `config.data.recipe` (`name` + parameters).
    data_dir: the TFDS data directory (e.g. ~/tensorflow_datasets).
    adapter_options: `config.data.adapter_options[dataset]`; defaults filled in.
    apex: apex policy (`config.data.apex`).

  Returns:
    The prepared version folder (holds the TFRecords and exclusions.json).

  Raises:
    ConfigError: unknown dataset, recipe or recipe parameter.
    DataError: a missing root, no samples, or no clip that can be preprocessed.
  """
  spec, scan = scan_spec(dataset, root, recipe_cfg, adapter_options, apex)
  path = prepared_dir(spec, data_dir)
  if is_prepared(path):
    logging.info("reusing prepared %s (%.1f MB on disk; the corpus is unchanged since it was "
                 "built)", path, folder_bytes(path) / 1e6)
    return path
  located = faces.locate_faces(scan.samples, spec.recipe.get("face", "none"))
  scan = Scan(located.samples, scan.exclusions + located.notes)
  inputs = declared_spec(spec.recipe)
  _warn_leftovers(path)
  build(spec, data_dir, inputs, scan, located.boxes)
  logging.info("prepared %s (%.1f MB on disk)", path, folder_bytes(path) / 1e6)
  return path


def folder_bytes(path: str) -> int:
  """Bytes of the files under `path` (a prepared cache's size on disk)."""
  return sum(os.path.getsize(os.path.join(folder, name))
             for folder, _, names in os.walk(path) for name in names)


def scan_spec(dataset: str, root: str, recipe_cfg: Mapping,
              adapter_options: Mapping | None = None, apex: str = "annotated"
              ) -> tuple[PrepareSpec, Scan]:
  """(the full cache key, the adapter's scan): `make_spec` with the data fingerprint filled in."""
  spec = make_spec(dataset, root, recipe_cfg, adapter_options, apex)
  scan = scan_dataset(spec)
  return dataclasses.replace(spec, fingerprint=data_fingerprint(scan)), scan


def build(spec: PrepareSpec, data_dir: str, inputs: InputSpec, scan: Scan,
          boxes: Mapping | None = None) -> None:
  """Runs the TFDS build; tolerates another process that finished the same build first."""
  tfds = import_tfds()
  config = tfds.download.DownloadConfig(manual_dir=spec.root, try_download_gcs=False)
  try:
    with contextlib.redirect_stdout(sys.stderr):  # TFDS prints progress; stdout is the caller's
      make_builder(spec, data_dir, inputs, scan, boxes).download_and_prepare(
          download_config=config)
  except OSError:  # The final rename failed: the version folder appeared meanwhile.
    if not is_prepared(prepared_dir(spec, data_dir)):
      raise
    logging.warning("%s was prepared by another process meanwhile; using it", spec.config_name)


def read_prepared(path: str) -> tuple[list[Sample], dict[str, np.ndarray], list[Exclusion]]:
  """Reads a prepared folder back: (samples, named inputs {name: [N, ...]}, exclusions)."""
  if not is_prepared(path):
    raise DataError(f"{path}: no prepared data there (run python -m mer_jax.prepare)")
  tfds = import_tfds()
  dataset = tfds.builder_from_directory(path).as_dataset(split=SPLIT, shuffle_files=False)
  samples, inputs = [], []
  for example in tfds.as_numpy(dataset):
    samples.append(from_example(example))
    inputs.append(example["inputs"])
  exclusions = [Exclusion(**e) for e in read_summary(path)["exclusions"]]
  if not inputs:
    raise DataError(f"{path}: no clip was prepared (see {EXCLUSIONS_FILE} for why)")
  return samples, {name: np.stack([x[name] for x in inputs]) for name in inputs[0]}, exclusions


def load_prepared(dataset: str, root: str, recipe_cfg: Mapping, data_dir: str,
                  adapter_options: Mapping | None = None, apex: str = "annotated"
                  ) -> tuple[list[Sample], dict[str, np.ndarray], list[Exclusion]]:
  """`prepare` (if needed), then `read_prepared`: the arguments are those of `prepare`."""
  return read_prepared(prepare(dataset, root, recipe_cfg, data_dir, adapter_options, apex))
