"""Tests for the preprocessing cache: builders.prepare / load_prepared, the recipe hash, the CLI.

A small synthetic corpus in the CASME II layout (6 clips; one with the '/'
apex that the adapter repairs, one with a corrupt frame) is prepared with the
'pixels' recipe at small sizes. The frames read back must be identical to what
`pipeline.preprocess` computes directly. TensorFlow is imported once here
(several seconds) and once more by the CLI subprocess that builds.
"""

import dataclasses
import os
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from mer_jax.data import builders
from mer_jax.data import datasets
from mer_jax.data import pipeline
from mer_jax.data import synthetic
from mer_jax.data.sample import Sample
from mer_jax.data.synthetic.writers import casme2 as casme2_writer
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import recipe_hash as recipe_hash_lib
from mer_jax.preprocess import recipes

RECIPE = {"name": "pixels", "image_size": 8, "num_frames": 4, "grayscale": True,
          "temporal": "linear", "subtract_onset": False}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
  """The corpus; the first clip of sub01 has a corrupt frame (left out when preprocessed)."""
  out = tmp_path_factory.mktemp("casme2")
  spec = synthetic.SyntheticSpec(num_subjects=2, clips_per_subject=3, image_size=32)
  casme2_writer.write(synthetic.generate(spec), str(out))
  clip = sorted((out / "Cropped" / "sub01").iterdir())[0]
  sorted(clip.iterdir())[1].write_bytes(b"not a jpeg")
  return str(out)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> str:
  return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="module")
def prepared(root, data_dir) -> str:
  return builders.prepare("casme2", root, RECIPE, data_dir)


@pytest.fixture(scope="module")
def reference(root):
  """(scan, kept samples, frames, unreadable) as the pipeline computes them without a cache."""
  scan = datasets.load("casme2", root)
  kept, frames, unreadable = pipeline.preprocess(scan.samples, pipeline.read_from_disk, RECIPE)
  return scan, kept, frames, unreadable


def file_times(path: str) -> dict[str, int]:
  return {name: os.stat(os.path.join(path, name)).st_mtime_ns for name in os.listdir(path)}

# ------------------------------------------------------------ recipe hash ---


def test_recipe_hash_is_stable_and_canonical():
  h = recipe_hash_lib.recipe_hash(RECIPE)
  assert len(h) == 10 and int(h, 16) >= 0
  assert recipe_hash_lib.recipe_hash(dict(reversed(list(RECIPE.items())))) == h
  assert recipe_hash_lib.recipe_hash(ml_collections.ConfigDict(RECIPE)) == h
  assert recipe_hash_lib.recipe_hash({**RECIPE, "image_size": np.int64(8)}) == h
  assert recipe_hash_lib.recipe_hash({**RECIPE, "image_size": 9}) != h
  assert recipe_hash_lib.recipe_hash({**RECIPE, "name": "other"}) != h
  # Fixed across processes and versions: a changed value would orphan every cache.
  assert recipe_hash_lib.short_hash({"a": [1, 2], "b": True}) == "7bc296510b"


def test_recipe_hash_rejects_what_has_no_json_form():
  with pytest.raises(ConfigError, match="needs a 'name'"):
    recipe_hash_lib.recipe_hash({"image_size": 8})
  with pytest.raises(ConfigError, match="cannot be part of a cache key"):
    recipe_hash_lib.recipe_hash({**RECIPE, "kernel": np.ones(3)})

# ---------------------------------------------------------------- builder ---


def test_frames_are_identical_to_direct_preprocessing(prepared, reference):
  scan, kept, inputs, unreadable = reference
  samples, x, exclusions = builders.read_prepared(prepared)
  assert samples == kept  # every field, frame paths included, in the adapter's order
  assert list(x) == ["frames"]
  assert x["frames"].dtype == np.float32 and x["frames"].shape == (5, 4, 8, 8, 1)
  np.testing.assert_array_equal(x["frames"], inputs["frames"])
  assert exclusions == scan.exclusions + unreadable
  assert [e.repaired for e in exclusions] == [True, False]  # the '/' apex; the corrupt frame
  assert "preprocessing failed" in exclusions[1].reason and "sub01" in exclusions[1].key


def test_sample_fields_round_trip_including_no_objective_class():
  sample = Sample("casme2", "sub01", "EP01_01", "others", 3, 5, 9, "midpoint", "4+L10",
                  None, ("/a/img3.jpg", "/a/img4.jpg"))
  example = builders.to_example(sample, {"frames": np.zeros((1, 2, 2, 1), np.float32)})
  assert example["objective_class"] == -1
  as_read = {k: (v.encode() if isinstance(v, str) else v) for k, v in example.items()}
  as_read["frame_paths"] = np.array([p.encode() for p in sample.frame_paths], object)
  assert builders.from_example(as_read) == sample


def test_layout_and_exclusions_file(prepared, data_dir):
  config = os.path.basename(os.path.dirname(prepared))
  assert prepared.startswith(os.path.join(data_dir, "mer_prepared", "casme2-pixels-"))
  assert config.split("-")[2] == recipe_hash_lib.recipe_hash(RECIPE)
  assert os.path.basename(prepared) == builders.FORMAT_VERSION
  summary = builders.read_summary(prepared)
  assert summary["num_samples"] == 5 and summary["recipe"] == RECIPE
  assert summary["adapter_options"] == {"frames": "cropped"}  # defaults filled, '' dropped


def test_second_prepare_reuses_the_cache(prepared, root, data_dir, monkeypatch):
  before = file_times(prepared)

  def no_build(*args, **kwargs):
    raise AssertionError("the dataset was preprocessed again")

  monkeypatch.setattr(builders, "build", no_build)
  monkeypatch.setattr(builders.faces, "locate_faces", no_build)
  same = {"frames": "cropped", "coding": ""}  # the defaults, spelt out: the same key
  assert builders.prepare("casme2", root, dict(reversed(list(RECIPE.items()))), data_dir,
                          same) == prepared
  assert file_times(prepared) == before
  samples, x, _ = builders.load_prepared("casme2", root, RECIPE, data_dir)
  assert len(samples) == x["frames"].shape[0] == 5


def test_changed_parameters_make_new_directories(prepared, root, data_dir, reference):
  bigger = builders.prepare("casme2", root, {**RECIPE, "image_size": 6}, data_dir)
  raw = builders.prepare("casme2", root, RECIPE, data_dir, {"frames": "raw_selected"})
  assert len({prepared, bigger, raw}) == 3 and all(map(os.path.isdir, (prepared, bigger, raw)))
  assert builders.read_prepared(bigger)[1]["frames"].shape[2:4] == (6, 6)
  name = lambda p: os.path.basename(os.path.dirname(p)).split("-")  # noqa: E731
  assert name(bigger)[3] == name(prepared)[3] != name(raw)[3]  # source hash
  assert name(raw)[2] == name(prepared)[2] != name(bigger)[2]  # recipe hash
  np.testing.assert_array_equal(builders.read_prepared(prepared)[1]["frames"],
                                reference[2]["frames"])


def test_interrupted_build_leaves_nothing_and_is_rebuilt(root, tmp_path, reference, monkeypatch):
  original, calls = recipes.RECIPES["pixels"], []

  def interrupted(frames, cfg, apex_index=None, **clip):
    calls.append(1)
    if len(calls) == 4:  # the output shape took call 1; examples 1-2 are written
      raise KeyboardInterrupt
    return original(frames, cfg, apex_index=apex_index, **clip)

  monkeypatch.setitem(recipes.RECIPES, "pixels", interrupted)
  with pytest.raises(KeyboardInterrupt):
    builders.prepare("casme2", root, RECIPE, str(tmp_path))
  config_dir = tmp_path / "mer_prepared" / builders.scan_spec("casme2", root, RECIPE)[0].config_name
  assert os.listdir(config_dir) == []  # no version folder, no incomplete.* left
  monkeypatch.setitem(recipes.RECIPES, "pixels", original)
  samples, x, _ = builders.load_prepared("casme2", root, RECIPE, str(tmp_path))
  assert samples == reference[1]
  np.testing.assert_array_equal(x["frames"], reference[2]["frames"])


def test_leftover_of_a_killed_build_is_ignored(root, tmp_path):
  spec = builders.scan_spec("casme2", root, RECIPE)[0]
  leftover = (tmp_path / "mer_prepared" / spec.config_name /
              f"incomplete.ABC123_{builders.FORMAT_VERSION}")
  leftover.mkdir(parents=True)
  (leftover / "mer_prepared-train.tfrecord-00000-of-00001").write_bytes(b"partial")
  path = builders.prepare("casme2", root, RECIPE, str(tmp_path))
  assert builders.read_prepared(path)[1]["frames"].shape[0] == 5 and leftover.is_dir()


def test_bad_input_raises_before_anything_is_written(root, tmp_path):
  with pytest.raises(ConfigError, match="temporal='cubic'"):
    builders.prepare("casme2", root, {**RECIPE, "temporal": "cubic"}, str(tmp_path))
  with pytest.raises(DataError, match="no such directory"):
    builders.prepare("casme2", str(tmp_path / "missing"), RECIPE, str(tmp_path))
  with pytest.raises(ConfigError, match="needs a root folder"):
    builders.prepare("synthetic", "", RECIPE, str(tmp_path))
  assert not (tmp_path / "mer_prepared").exists()
  damaged = builders.prepared_dir(builders.scan_spec("casme2", root, RECIPE)[0], str(tmp_path))
  os.makedirs(damaged)
  with pytest.raises(DataError, match="delete it"):
    builders.prepare("casme2", root, RECIPE, str(tmp_path))

# -------------------------------------------------------------------- CLI ---


def run_prepare(repo_root, *args):
  return subprocess.run([sys.executable, "-m", "mer_jax.prepare", *args], cwd=repo_root,
                        capture_output=True, text=True, timeout=120)


def test_cli_prepares_then_reuses(repo_root, root, tmp_path, reference):
  args = ["--dataset=casme2", f"--root={root}", "--recipe=pixels", f"--data_dir={tmp_path}",
          '--recipe_overrides={"image_size": 8, "num_frames": 4, "temporal": "linear"}']
  first = run_prepare(repo_root, *args)
  assert first.returncode == 0, first.stderr
  path = builders.prepare("casme2", root, RECIPE, str(tmp_path))  # the same key: reused
  assert f"TFRecords: {path}" in first.stdout and "samples: 5" in first.stdout
  assert "excluded: 1, repaired: 1" in first.stdout
  np.testing.assert_array_equal(builders.read_prepared(path)[1]["frames"], reference[2]["frames"])
  again = run_prepare(repo_root, *args)
  assert again.returncode == 0 and again.stdout == first.stdout


@pytest.mark.parametrize("args, message", [
    (["--root=/no/such/dir"], "no such directory"),
    (['--recipe_overrides={"size": 8}'], "has no field(s) ['size']"),
    (["--recipe_overrides=[1]"], "must be a JSON object"),
])
def test_cli_bad_input_is_one_line_with_status_2(repo_root, tmp_path, args, message):
  result = run_prepare(repo_root, "--dataset=casme2", "--root=/no/such/dir",
                       f"--data_dir={tmp_path}", *args)
  assert result.returncode == 2
  assert result.stderr.startswith("mer_jax: error: ") and message in result.stderr
  assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_cli_prepares_what_a_config_reads(repo_root, root, tmp_path, reference):
  """--config prepares each dataset of the config as its run will read it."""
  result = run_prepare(repo_root, "--config=configs/elrcn_temporal_only.py:smoke",
                       "--config.data.datasets=('casme2',)", f"--config.data.roots.casme2={root}",
                       f"--config.data.cache_dir={tmp_path}")
  assert result.returncode == 0, result.stderr
  assert "prepared casme2 with recipe" in result.stdout and "samples: 5" in result.stdout
  assert "TFRecords: " + str(tmp_path) in result.stdout
  both = run_prepare(repo_root, "--config=configs/elrcn_temporal_only.py:smoke",
                     "--dataset=casme2", f"--root={root}")
  assert both.returncode == 2 and "not both" in both.stderr


def test_cache_dir_auto_is_tfds_data_dir_then_home(monkeypatch, tmp_path):
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
  assert builders.resolve_cache_dir("auto") == str(tmp_path)
  monkeypatch.delenv("TFDS_DATA_DIR")
  assert builders.resolve_cache_dir("auto") == os.path.expanduser("~/tensorflow_datasets")
  assert builders.resolve_cache_dir("") == "" and builders.resolve_cache_dir("~/c").endswith("/c")


def test_the_cache_follows_the_annotation_and_the_frames(root, tmp_path):
  """A corrected label, or a restored frame file, is a new cache: never the old one read back."""
  import shutil
  import openpyxl
  corpus = str(tmp_path / "corpus")
  shutil.copytree(root, corpus)
  data_dir = str(tmp_path / "tfds")
  first = builders.prepare("casme2", corpus, RECIPE, data_dir)
  assert builders.prepare("casme2", corpus, RECIPE, data_dir) == first  # unchanged: reused
  coding = os.path.join(corpus, casme2_writer.CODING_FILE)
  book = openpyxl.load_workbook(coding)
  sheet = book["Sheet1"]
  old = sheet.cell(row=3, column=9).value
  sheet.cell(row=3, column=9).value = "surprise" if old != "surprise" else "happiness"
  book.save(coding)
  relabelled = builders.prepare("casme2", corpus, RECIPE, data_dir)
  assert relabelled != first
  emotions = {s.key: s.emotion for s in builders.read_prepared(relabelled)[0]}
  assert sorted(emotions.values()) != sorted(s.emotion for s in builders.read_prepared(first)[0])
  frame = builders.read_prepared(relabelled)[0][0].frame_paths[0]
  os.utime(frame, ns=(1, 1))  # a frame file restored from a backup
  assert builders.prepare("casme2", corpus, RECIPE, data_dir) not in (first, relabelled)


def test_spec_is_json_ready(root):
  spec = builders.make_spec("casme2", root, ml_collections.ConfigDict(RECIPE), apex="midpoint")
  assert dataclasses.asdict(spec)["recipe"] == RECIPE and spec.root == os.path.abspath(root)


def test_elrcn_recipe_round_trips_through_the_cache(root, data_dir, reference):
  """The ELRCN SE input (flow image, strain, grey) read back equals direct preprocessing."""
  recipe = {"name": "elrcn_stack", "image_size": 16, "num_frames": 3, "temporal": "tim",
            "channels": ("flow", "strain", "gray")}
  samples, frames, _ = builders.load_prepared("casme2", root, recipe, data_dir)
  kept, direct, _ = pipeline.preprocess(reference[0].samples, pipeline.read_from_disk, recipe)
  assert [s.key for s in samples] == [s.key for s in kept]
  assert frames["frames"].shape == (len(kept), 3, 16, 16, 5)
  np.testing.assert_array_equal(frames["frames"], direct["frames"])
  assert builders.prepare("casme2", root, recipe, data_dir) != builders.prepare(
      "casme2", root, RECIPE, data_dir)  # Another recipe, another cache.


def test_named_inputs_keep_their_dtypes_through_the_cache(root, data_dir, reference):
  """MER-RCNN's uint8 'sequence' and int32 'length' come back as they went in."""
  recipe = {"name": "mer_rcnn", "image_size": 10, "center_crop": 0.8, "alpha": 10.0,
            "low": 0.05, "high": 0.4, "max_frames": 39}
  samples, inputs, _ = builders.load_prepared("casme2", root, recipe, data_dir)
  kept, direct, _ = pipeline.preprocess(reference[0].samples, pipeline.read_from_disk, recipe)
  assert [s.key for s in samples] == [s.key for s in kept] and sorted(inputs) == sorted(direct)
  assert inputs["sequence"].dtype == np.uint8
  assert inputs["sequence"].shape == (len(kept), 39, 64, 3)
  assert inputs["length"].dtype == np.int32  # the clip's frames, 39 for the one 40 long
  np.testing.assert_array_equal(inputs["length"], [min(len(s.frame_paths), 39) for s in kept])
  assert 39 in inputs["length"] and min(inputs["length"]) < 39
  for name in direct:
    np.testing.assert_array_equal(inputs[name], direct[name])
