"""Tests for the SAMM adapter (mer_jax.data.samm) and its writer (writers.samm).

Checks the counts read from the real codes file (shared/reference, never
copied into the project), a synthetic dataset written in the exact SAMM
layout and read back (frames, labels, the repaired out-of-range apex, the
doubled SAMM/SAMM folder), and that every malformed input gives a specific
DataError or a listed exclusion without losing the valid samples.
"""

import collections
import os
import re
import shutil

import numpy as np
import openpyxl
import pytest

from mer_jax.data import datasets
from mer_jax.data import samm
from mer_jax.data import synthetic
from mer_jax.data.synthetic.writers import samm as writer
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

REAL_COUNTS = {
    "006": 11, "007": 10, "009": 4, "010": 4, "011": 20, "012": 3, "013": 6, "014": 11,
    "015": 3, "016": 5, "017": 6, "018": 4, "019": 3, "020": 9, "021": 2, "022": 5,
    "023": 1, "024": 1, "025": 4, "026": 13, "028": 3, "030": 3, "031": 1, "032": 6,
    "033": 5, "034": 3, "035": 9, "036": 1, "037": 3}
REAL_EMOTIONS = {"anger": 57, "others": 26, "happiness": 26, "surprise": 15,
                 "contempt": 12, "disgust": 9, "fear": 8, "sadness": 6}
REAL_CLASSES = {7: 84, 1: 24, 3: 20, 2: 13, 4: 8, 6: 7, 5: 3}
ONSET_COLUMN = 4  # D: 'Onset Frame'
EMOTION_COLUMN = 10  # J: 'Estimated Emotion'


# ------------------------------------------------------------- real file ---


def test_real_codes_file_counts(shared_dir):
  path = shared_dir / "reference/annotations/SAMM_Micro_FACS_Codes_v2.xlsx"
  samples, exclusions = samm.read_codes(str(path))
  assert exclusions == []  # this copy has valid apexes (the davidnvq one)
  assert len(samples) == 159
  assert collections.Counter(s.subject for s in samples) == REAL_COUNTS
  assert collections.Counter(s.emotion for s in samples) == REAL_EMOTIONS
  assert collections.Counter(s.objective_class for s in samples) == REAL_CLASSES
  first = samples[0]
  assert (first.key, first.onset, first.apex, first.offset) == (
      "samm/006/006_1_2", 5562, 5588, 5632)
  assert first.action_units == "4+7" and samples[1].action_units == "4"
  assert all(s.apex_source == "annotated" and s.onset <= s.apex <= s.offset
             for s in samples)


# --------------------------------------------------------- synthetic tree ---


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[synthetic.SyntheticData, str]:
  data = synthetic.generate(synthetic.SyntheticSpec(
      num_subjects=3, clips_per_subject=4, image_size=32))
  root = str(tmp_path_factory.mktemp("samm_written"))
  writer.write(data, root)
  return data, root


@pytest.fixture()
def root(written, tmp_path) -> str:
  """A fresh copy of the written tree that a test may damage."""
  return shutil.copytree(written[1], str(tmp_path / "samm"))


def _edit_codes(root: str, edit) -> None:
  """Rewrites the codes file through edit(sheet)."""
  path = os.path.join(root, writer.CODES_FILE)
  book = openpyxl.load_workbook(path)
  edit(book[writer.SHEET])
  book.save(path)


def _check_frames(sample) -> None:
  numbers = [frames_lib.frame_number(p) for p in sample.frame_paths]
  assert numbers == list(range(sample.onset, sample.offset + 1))
  assert os.path.basename(sample.frame_paths[0]) == f"{sample.subject}_{sample.onset:05d}.jpg"


def test_written_codes_file_has_the_real_layout(written):
  data, root = written
  book = openpyxl.load_workbook(os.path.join(root, writer.CODES_FILE))
  assert book.sheetnames == ["MICRO_ONLY"]
  rows = list(book["MICRO_ONLY"].iter_rows(values_only=True))
  assert rows[0][0] == "SAMM Dataset - Master FACS Codes" and rows[5][0] == "Symbol Key:"
  assert rows[13] == samm.COLUMNS
  first = rows[14]
  assert first[0] == "006" and isinstance(first[0], str)
  assert first[6] == first[5] - first[3] + 1 and first[7] == "Micro - 1/2"
  assert {type(r[8]) for r in rows[14:]} <= {int, str} and all(
      isinstance(r[8], int) for r in rows[14:] if str(r[8]).isdigit())
  assert {r[9] for r in rows[14:]} <= set(writer.EMOTION_NAMES.values())


def test_load_finds_every_written_sample(written):
  data, root = written
  scan = samm.load(root)
  ids = writer.names(data.samples)
  by_key = {s.key: s for s in scan.samples}
  assert len(scan.samples) == len(data.samples) == 12
  assert [s.key for s in scan.samples] == sorted(by_key)
  assert {s.frame_source for s in scan.samples} == {"uncropped"}  # no official crops
  quirk = writer.apex_quirk_index(data.samples)
  for i, (want, (subject, clip)) in enumerate(zip(data.samples, ids)):
    got = by_key[f"samm/{subject}/{clip}"]
    assert (got.onset, got.offset, got.action_units, got.objective_class) == (
        want.onset, want.offset, want.action_units, want.objective_class)
    name = writer.EMOTION_NAMES[want.emotion]
    assert got.emotion == {"Other": "others"}.get(name, name.lower())
    _check_frames(got)
    if i != quirk:
      assert (got.apex, got.apex_source) == (want.apex, "annotated")
  bad = by_key["samm/{}/{}".format(*ids[quirk])]
  assert (bad.apex, bad.apex_source) == ((bad.onset + bad.offset) // 2, "midpoint")
  assert [e.key for e in scan.repaired] == [bad.key] and scan.excluded == []
  assert f"row {15 + quirk}" in scan.repaired[0].reason
  assert "'Apex Frame'" in scan.repaired[0].reason
  video = frames_lib.read_frames(bad.frame_paths)  # [T, 32, 32, 3], grey
  assert video.shape == (bad.num_frames, 32, 32, 3)
  np.testing.assert_array_equal(video[..., 0], video[..., 2])


def test_emotion_mapping_covers_every_synthetic_emotion():
  assert set(writer.EMOTION_NAMES) == set(synthetic.EMOTIONS)
  assert writer.EMOTION_NAMES["repression"] == "Contempt"
  assert writer.EMOTION_NAMES["others"] == "Other"


@pytest.mark.parametrize("move", ["doubled", "flat"])
def test_doubled_or_flat_frames_folder(root, move):
  inner = os.path.join(root, "SAMM")
  if move == "doubled":
    os.rename(inner, root + "_tmp")
    os.makedirs(inner)
    os.rename(root + "_tmp", os.path.join(inner, "SAMM"))
  else:  # subject folders directly under root
    for name in os.listdir(inner):
      shutil.move(os.path.join(inner, name), root)
    os.rmdir(inner)
  scan = samm.load(root)
  assert len(scan.samples) == 12 and scan.excluded == []
  for s in scan.samples:
    _check_frames(s)


def test_registry_later_file_name_and_apex_policies(root):
  os.rename(os.path.join(root, writer.CODES_FILE),
            os.path.join(root, "SAMM_20181215_Micro_FACS_Codes_v2.xlsx"))
  assert len(datasets.load("samm", root).samples) == 12
  mid = samm.load(root, apex="midpoint")
  assert all(s.apex == (s.onset + s.offset) // 2 and s.apex_source == "midpoint"
             for s in mid.samples)
  assert mid.exclusions == []  # the annotated apex is not used, so nothing to repair
  diff = samm.load(root, apex="frame_difference")
  assert all(s.onset <= s.apex <= s.offset and s.apex_source == "frame_difference"
             for s in diff.samples)


def test_int_subjects_and_others_spelling(root):
  def edit(sheet):
    for r in range(15, sheet.max_row + 1):
      sheet.cell(row=r, column=1).value = int(sheet.cell(row=r, column=1).value)
      if sheet.cell(row=r, column=10).value == "Other":
        sheet.cell(row=r, column=10).value = "Others"
  _edit_codes(root, edit)
  scan = samm.load(root)
  assert len(scan.samples) == 12
  assert {s.subject for s in scan.samples} == {"006", "007", "009"}
  assert "other" not in {s.emotion for s in scan.samples}


# ------------------------------------------------------- malformed inputs ---


def test_header_not_on_row_14_is_an_error(root):
  _edit_codes(root, lambda sheet: sheet.delete_rows(1))
  with pytest.raises(DataError, match=r"row 14 should be the header.*'Onset Frame'"):
    samm.load(root)


def test_text_frame_number_excludes_only_that_row(root):
  _edit_codes(root, lambda sheet: setattr(sheet.cell(row=17, column=ONSET_COLUMN),
                                          "value", "12a"))
  scan = samm.load(root)
  assert len(scan.samples) == 11
  [excluded] = scan.excluded
  assert excluded.key == "samm/006/006_1_3"
  assert "row 17" in excluded.reason and "'Onset Frame'" in excluded.reason
  assert len(scan.repaired) == 1  # the apex quirk is still repaired


def test_unknown_label_is_excluded_naming_the_row(root):
  _edit_codes(root, lambda sheet: setattr(sheet.cell(row=16, column=EMOTION_COLUMN),
                                          "value", "Happyness"))
  scan = samm.load(root)
  assert len(scan.samples) == 11
  [excluded] = scan.excluded
  path = os.path.join(root, writer.CODES_FILE)
  assert excluded.key == "samm/006/006_1_2"
  assert excluded.reason.startswith(
      f"unknown label 'Happyness' in {path}, sheet 'MICRO_ONLY', row 16 (field "
      "'Estimated Emotion'); expected one of ['anger', 'contempt', 'disgust', 'fear', "
      "'happiness', 'sadness', 'surprise'] or other/others")
  assert excluded.reason.endswith("; correct the annotation file")


def test_offset_before_onset_is_excluded(root):
  _edit_codes(root, lambda sheet: setattr(sheet.cell(row=15, column=ONSET_COLUMN),
                                          "value", 99999))
  scan = samm.load(root)
  assert len(scan.samples) == 11
  assert "row 15" in scan.excluded[0].reason
  assert "'Offset Frame'" in scan.excluded[0].reason


def test_missing_sample_folder_is_excluded(root):
  folder = os.path.join(root, "SAMM", "007", "007_1_2")
  shutil.rmtree(folder)
  scan = samm.load(root)
  assert len(scan.samples) == 11
  assert [(e.key, folder in e.reason) for e in scan.excluded] == [
      ("samm/007/007_1_2", True)]


def test_corrupt_jpeg_is_reported_when_read(root):
  sample = samm.load(root).samples[3]
  path = sample.frame_paths[2]
  with open(path, "rb") as f:
    head = f.read(100)  # a JPEG cut inside its header does not decode
  with open(path, "wb") as f:
    f.write(head)
  again = samm.load(root)  # load lists files; it does not decode them
  assert [s.key for s in again.samples].count(sample.key) == 1
  with pytest.raises(DataError, match=re.escape(path)):
    frames_lib.read_frames(sample.frame_paths)


def test_root_without_codes_file_is_an_error(root):
  os.remove(os.path.join(root, writer.CODES_FILE))
  with pytest.raises(DataError, match="does not look like a SAMM root.*"
                                      "SAMM_Micro_FACS_Codes_v2.xlsx"):
    samm.load(root)


def test_root_without_frames_is_an_error(tmp_path, written):
  shutil.copy(os.path.join(written[1], writer.CODES_FILE), tmp_path)
  with pytest.raises(DataError, match=r"expected the frames in .*SAMM/<subject>"):
    samm.load(str(tmp_path))
