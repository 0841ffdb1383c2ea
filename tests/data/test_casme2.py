"""Tests for the CASME II adapter (mer_jax.data.casme2) and its synthetic writer.

Three parts: counts read from the real coding and objective-class files in
../shared (skipped when absent); an end-to-end load of a tree written by
writers.casme2 from synthetic data; and malformed trees (the writer's output
edited with openpyxl / os.remove), each giving a specific DataError or a
listed exclusion while every valid sample is kept.
"""

import collections
import dataclasses
import os
import shutil

import openpyxl
import pytest

from mer_jax.data import casme2
from mer_jax.data import datasets
from mer_jax.data import synthetic
from mer_jax.data.synthetic.writers import casme2 as writer
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import frames as frames_lib

REAL_COUNTS = {"others": 99, "disgust": 63, "happiness": 32, "repression": 27,
               "surprise": 25, "sadness": 7, "fear": 2}
# shared/datasets.md, section 1: samples per subject in the 20140508 file.
REAL_PER_SUBJECT = [9, 13, 7, 5, 19, 5, 9, 3, 14, 14, 10, 12, 8, 4, 3, 4, 36, 3, 16,
                    11, 2, 2, 12, 10, 7, 17]
REAL_OBJECTIVE = {1: 25, 2: 15, 3: 99, 4: 26, 5: 20, 6: 1, 7: 69}


# ------------------------------------------------------------ real files ---


@pytest.fixture(scope="module")
def real_dir(shared_dir):
  return shared_dir / "reference" / "annotations"


def test_real_coding_file_counts(real_dir):
  samples, exclusions = casme2.read_coding(str(real_dir / "CASME2-coding-20140508.xlsx"))
  assert len(samples) == 255
  assert len({s.subject for s in samples}) == 26
  assert dict(collections.Counter(s.emotion for s in samples)) == REAL_COUNTS
  per_subject = collections.Counter(s.subject for s in samples)
  assert [per_subject[f"sub{i:02d}"] for i in range(1, 27)] == REAL_PER_SUBJECT
  assert samples == sorted(samples, key=lambda s: (s.subject, s.clip))
  assert all(s.dataset == "casme2" and not s.frame_paths for s in samples)
  assert sum(s.action_units == "?" for s in samples) == 5


def test_real_slash_apex_is_repaired_to_the_midpoint(real_dir):
  samples, exclusions = casme2.read_coding(str(real_dir / "CASME2-coding-20140508.xlsx"))
  assert [(e.key, e.repaired) for e in exclusions] == [("casme2/sub04/EP12_01f", True)]
  assert "row 31" in exclusions[0].reason and "ApexFrame" in exclusions[0].reason
  by_key = {s.key: s for s in samples}
  repaired = by_key["casme2/sub04/EP12_01f"]
  assert (repaired.onset, repaired.apex, repaired.offset) == (261, 261 + 30, 321)
  assert repaired.apex_source == "midpoint"
  assert sum(s.apex_source == "annotated" for s in samples) == 254
  assert by_key["casme2/sub01/EP02_01f"].action_units == "12"


def test_real_objective_classes(real_dir):
  classes = casme2.read_objective_classes(str(real_dir / "CASME2-ObjectiveClasses.xlsx"))
  assert dict(collections.Counter(classes.values())) == REAL_OBJECTIVE
  samples, _ = casme2.read_coding(str(real_dir / "CASME2-coding-20140508.xlsx"))
  assert set(classes) == {(s.subject, s.clip) for s in samples}
  assert classes[("sub01", "EP02_01f")] == 1


def test_writer_copies_the_real_sheet_structure(real_dir, casme2_tree):
  for name in (writer.CODING_FILE, writer.OBJECTIVE_FILE):
    real = openpyxl.load_workbook(real_dir / name, read_only=True)
    ours = openpyxl.load_workbook(os.path.join(casme2_tree, name), read_only=True)
    assert ours.sheetnames == real.sheetnames
    header = [next(b["Sheet1"].iter_rows(max_row=1, values_only=True)) for b in (real, ours)]
    # read-only mode pads the real header with the sheet's wider stored dimension
    assert header[0][:len(header[1])] == header[1] and not any(header[0][len(header[1]):])


# ------------------------------------------------------------ synthetic ---


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
  return synthetic.generate(synthetic.SyntheticSpec(num_subjects=3, clips_per_subject=4,
                                                    image_size=32))


@pytest.fixture(scope="module")
def casme2_tree(data, tmp_path_factory) -> str:
  root = str(tmp_path_factory.mktemp("casme2"))
  writer.write(data, root)
  return root


@pytest.fixture()
def tree(casme2_tree, tmp_path) -> str:
  """A private copy of the written tree, for tests that edit it."""
  return shutil.copytree(casme2_tree, str(tmp_path / "CASME2"))


def _plain(sample):
  return dataclasses.replace(sample, dataset="synthetic", frame_paths=(),
                             apex_source="synthetic", frame_source="face_crop")


def test_writer_cell_types(casme2_tree, data):
  sheet = openpyxl.load_workbook(os.path.join(casme2_tree, writer.CODING_FILE))["Sheet1"]
  rows = list(sheet.iter_rows(min_row=2, values_only=True))
  assert len(rows) == len(data.samples)
  for row, s in zip(rows, data.samples):
    assert row[0] == s.subject[3:] and isinstance(row[0], str)
    assert row[2] is None and row[6] is None
    assert isinstance(row[3], int) and isinstance(row[5], int)
    assert row[7] == (int(s.action_units) if "+" not in s.action_units else s.action_units)
  slash = writer.slash_apex_index(data.samples)
  assert [r[4] for r in rows].count("/") == 1 and rows[slash][4] == "/"


@pytest.mark.parametrize("frames, prefix, source", [("cropped", "reg_img", "face_crop"),
                                                    ("raw_selected", "img", "uncropped")])
def test_load_finds_every_sample(casme2_tree, data, frames, prefix, source):
  scan = casme2.load(casme2_tree, frames=frames)
  assert {s.frame_source for s in scan.samples} == {source}
  expected = sorted(data.samples, key=lambda s: (s.subject, s.clip))
  slash = data.samples[writer.slash_apex_index(data.samples)]
  assert [s.key.split("/", 1)[1] for s in scan.samples] == [
      s.key.split("/", 1)[1] for s in expected]
  for got, want in zip(scan.samples, expected):
    numbers = [frames_lib.frame_number(p) for p in got.frame_paths]
    assert numbers == list(range(want.onset, want.offset + 1))
    assert os.path.basename(got.frame_paths[0]) == f"{prefix}{want.onset}.jpg"
    if want is slash:
      assert got.apex_source == "midpoint"
      assert got.apex == want.onset + (want.offset - want.onset) // 2
      want = dataclasses.replace(want, apex=got.apex)
    else:
      assert got.apex_source == "annotated"
    assert _plain(got) == want  # emotion, AUs, objective class, frames
  assert scan.excluded == []
  assert [e.key for e in scan.repaired] == [f"casme2/{slash.subject}/{slash.clip}"]


def test_load_through_the_registry_and_other_apex_policies(casme2_tree, data):
  scan = datasets.load("casme2", casme2_tree, apex="midpoint", coding="")
  assert scan.exclusions == [] and len(scan.samples) == len(data.samples)
  assert {s.apex_source for s in scan.samples} == {"midpoint"}
  scan = casme2.load(casme2_tree, apex="frame_difference", frames="raw_selected")
  assert {s.apex_source for s in scan.samples} == {"frame_difference"}
  assert all(s.onset <= s.apex <= s.offset for s in scan.samples)
  with pytest.raises(ConfigError, match="frames='aligned'"):
    casme2.load(casme2_tree, frames="aligned")


def test_doubled_top_folder_is_found(tree, data):
  outer = os.path.join(tree, "CASME2_RAW_selected")
  shutil.move(outer, tree + "_tmp")
  os.makedirs(outer)
  shutil.move(tree + "_tmp", os.path.join(outer, "CASME2_RAW_selected"))
  scan = casme2.load(tree, frames="raw_selected")
  assert len(scan.samples) == len(data.samples) and scan.excluded == []
  assert "CASME2_RAW_selected/CASME2_RAW_selected/" in scan.samples[0].frame_paths[0]


def test_cropped_updated_and_newer_coding_name(tree, data):
  os.makedirs(os.path.join(tree, "Cropped-updated"))
  shutil.move(os.path.join(tree, "Cropped"), os.path.join(tree, "Cropped-updated"))
  os.rename(os.path.join(tree, writer.CODING_FILE),
            os.path.join(tree, "CASME2-coding-20190701.xlsx"))
  scan = casme2.load(tree)
  assert len(scan.samples) == len(data.samples)
  assert "Cropped-updated/Cropped/" in scan.samples[0].frame_paths[0]


# ------------------------------------------------------------ malformed ---


def _edit_coding(root: str, edit) -> str:
  """Applies edit(sheet) to the coding file's Sheet1 and saves it."""
  path = os.path.join(root, writer.CODING_FILE)
  book = openpyxl.load_workbook(path)
  edit(book["Sheet1"])
  book.save(path)
  return path


def test_title_row_above_the_header_is_a_data_error(tree):
  def add_title(sheet):
    sheet.insert_rows(1)
    sheet["A1"] = "CASME II coding"
  _edit_coding(tree, add_title)
  with pytest.raises(DataError, match=r"row 1 should be the header") as e:
    casme2.load(tree)
  assert "OnsetFrame" in str(e.value) and writer.CODING_FILE in str(e.value)


def test_text_frame_number_excludes_only_that_row(tree, data):
  def bad_onset(sheet):
    sheet["D3"] = "12a"
  _edit_coding(tree, bad_onset)
  scan = casme2.load(tree)
  s = data.samples[1]
  assert [e.key for e in scan.excluded] == [f"casme2/{s.subject}/{s.clip}"]
  assert "row 3" in scan.excluded[0].reason and "'OnsetFrame'" in scan.excluded[0].reason
  assert "'12a'" in scan.excluded[0].reason
  assert len(scan.samples) == len(data.samples) - 1


def test_offset_before_onset_is_excluded(tree, data):
  _edit_coding(tree, lambda sheet: sheet.cell(2, 6, value=1))
  scan = casme2.load(tree)
  assert len(scan.samples) == len(data.samples) - 1
  assert "row 2" in scan.excluded[0].reason and "OffsetFrame" in scan.excluded[0].reason


def test_unknown_label_is_excluded_naming_the_row(tree, data):
  path = _edit_coding(tree, lambda sheet: sheet.cell(3, 9, value="happyness"))
  scan = casme2.load(tree)
  s = data.samples[1]
  assert len(scan.samples) == len(data.samples) - 1
  [excluded] = scan.excluded
  assert excluded.key == f"casme2/{s.subject}/{s.clip}"
  assert excluded.reason == (
      f"unknown label 'happyness' in {path}, sheet 'Sheet1', row 3 (field 'Estimated "
      f"Emotion'); expected one of {list(casme2.EMOTIONS)}; correct the annotation file")


def test_label_case_and_spaces_are_normalised(tree, data):
  _edit_coding(tree, lambda sheet: sheet.cell(2, 9, value="  Happiness "))
  scan = casme2.load(tree)
  s = data.samples[0]
  assert len(scan.samples) == len(data.samples) and scan.excluded == []
  assert {x.key: x for x in scan.samples}[f"casme2/{s.subject}/{s.clip}"].emotion == "happiness"


def test_missing_sample_folder_is_excluded(tree, data):
  s = data.samples[5]
  folder = os.path.join(tree, "Cropped", s.subject, s.clip)
  shutil.rmtree(folder)
  scan = casme2.load(tree)
  assert [e.key for e in scan.excluded] == [f"casme2/{s.subject}/{s.clip}"]
  assert folder in scan.excluded[0].reason
  assert len(scan.samples) == len(data.samples) - 1
  assert len(casme2.load(tree, frames="raw_selected").samples) == len(data.samples)


def test_missing_middle_frame_is_excluded(tree, data):
  s = data.samples[2]
  middle = (s.onset + s.offset) // 2
  os.remove(os.path.join(tree, "Cropped", s.subject, s.clip, f"reg_img{middle}.jpg"))
  scan = casme2.load(tree)
  assert [e.key for e in scan.excluded] == [f"casme2/{s.subject}/{s.clip}"]
  assert str(middle) in scan.excluded[0].reason
  assert len(scan.samples) == len(data.samples) - 1


def test_extra_frames_are_ignored_with_a_note(tree, data):
  s = data.samples[0]
  folder = os.path.join(tree, "Cropped", s.subject, s.clip)
  shutil.copy(os.path.join(folder, f"reg_img{s.offset}.jpg"),
              os.path.join(folder, f"reg_img{s.offset + 1}.jpg"))
  scan = casme2.load(tree)
  assert len(scan.samples) == len(data.samples) and scan.excluded == []
  assert any("outside onset..offset" in e.reason for e in scan.repaired)


def test_root_without_coding_file_names_the_expected_files(tree):
  os.remove(os.path.join(tree, writer.CODING_FILE))
  with pytest.raises(DataError, match="does not look like a CASME II root") as e:
    casme2.load(tree)
  for name in ("CASME2-coding-20140508.xlsx", "CASME2-coding-20190701.xlsx",
               "CASME2_RAW_selected", "Cropped"):
    assert name in str(e.value)
