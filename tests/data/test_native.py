"""Tests for mer_jax.data.synthetic.native: the on-disk layout written and read back.

Checks that synthetic data round-trips exactly (samples and pixels), that a
rewrite replaces old frames, and that every malformed annotation or missing
file raises a DataError naming the file, line and field.
"""

import csv
import dataclasses
import os
import re

import numpy as np
import pytest

from mer_jax.data.synthetic import native
from mer_jax.data import synthetic
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib


def _spec(**kw) -> synthetic.SyntheticSpec:
  base = dict(num_subjects=2, clips_per_subject=6, image_size=32)
  return synthetic.SyntheticSpec(**{**base, **kw})


def test_native_round_trip_gives_back_samples_and_pixels(tmp_path):
  data = synthetic.generate(_spec())
  csv_path = native.write_native(data, str(tmp_path))
  with open(csv_path) as f:
    assert next(csv.reader(f)) == list(native.COLUMNS)
  loaded = native.load_native(str(tmp_path))
  assert [dataclasses.replace(s, frame_paths=()) for s in loaded] == data.samples
  # The drawn faces fill their frames: no face detection needed.
  assert {s.frame_source for s in loaded} == {s.frame_source for s in data.samples} == {
      "face_crop"}
  for s, video in zip(loaded, data.videos):
    assert os.path.basename(s.frame_paths[0]) == f"img{s.onset}.png"
    assert [frames_lib.frame_number(p) for p in s.frame_paths] == list(
        range(s.onset, s.offset + 1))
    np.testing.assert_array_equal(frames_lib.read_frames(s.frame_paths), video)
  # Writing another dataset over it replaces the old frames instead of mixing them.
  other = synthetic.generate(_spec(seed=5))
  native.write_native(other, str(tmp_path))
  assert [dataclasses.replace(s, frame_paths=()) for s in native.load_native(
      str(tmp_path))] == other.samples


@pytest.fixture()
def native_root(tmp_path) -> str:
  data = synthetic.generate(_spec(num_subjects=1, clips_per_subject=2))
  native.write_native(data, str(tmp_path))
  return str(tmp_path)


def _edit_csv(root: str, edit) -> str:
  """Rewrites annotations.csv through edit(rows: list[list[str]])."""
  path = os.path.join(root, "annotations.csv")
  with open(path, newline="") as f:
    rows = list(csv.reader(f))
  edit(rows)
  with open(path, "w", newline="") as f:
    csv.writer(f).writerows(rows)
  return path


def test_missing_column_is_named(native_root):
  path = _edit_csv(native_root, lambda rows: [r.pop(3) for r in rows])  # apex
  with pytest.raises(DataError, match=re.escape(path) + r", line 1.*\['apex'\]"):
    native.load_native(native_root)


def test_non_integer_frame_number_is_named(native_root):
  path = _edit_csv(native_root, lambda rows: rows[2].__setitem__(2, "12a"))
  with pytest.raises(DataError, match=re.escape(path) + ", line 3, field 'onset'.*'12a'"):
    native.load_native(native_root)


def test_apex_outside_onset_offset_is_named(native_root):
  def move_apex(rows):
    rows[1][3] = str(int(rows[1][4]) + 5)  # apex after offset
  path = _edit_csv(native_root, move_apex)
  with pytest.raises(DataError, match=re.escape(path) + ", line 2, field 'apex'.*outside"):
    native.load_native(native_root)


def test_missing_frame_file_is_named(native_root):
  sample = native.load_native(native_root)[1]
  os.remove(os.path.join(native_root, sample.subject, sample.clip, f"img{sample.apex}.png"))
  with pytest.raises(DataError, match=rf"line 3: frame files in .*{sample.clip} do not "
                     rf"match.*missing \[{sample.apex}\]"):
    native.load_native(native_root)


def test_missing_annotation_file_is_named(tmp_path):
  with pytest.raises(DataError, match="annotations.csv: annotation file not found"):
    native.load_native(str(tmp_path))
