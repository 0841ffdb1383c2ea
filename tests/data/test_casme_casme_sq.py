"""Tests for the CASME (I) and CAS(ME)^2 adapters on small trees built here.

Each test writes a tiny spreadsheet with openpyxl (reproducing the real
quirks: CASME's '\\' missing cells and blank columns, CAS(ME)^2's header-less
sheets and 0 = unknown) and 4x4 JPEG frames with cv2, then checks the samples,
the repairs and exclusions, and that malformed files raise DataError naming
the file and row.
"""

import os
import re

import cv2
import numpy as np
import pytest

import corpus_trees

from mer_jax.data import casme
from mer_jax.data import casme_sq
from mer_jax.data import datasets
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

CASME_HEADER = ["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None,
                "Onset", "Total", "AU", "Emotion"]


def _jpgs(folder, names) -> None:
  os.makedirs(folder, exist_ok=True)
  for name in names:
    cv2.imwrite(os.path.join(folder, name), np.zeros((4, 4, 3), np.uint8))


# ------------------------------------------------------------------ CASME ---


def _casme_rows():
  return [
      list(CASME_HEADER),
      [1, "EP01_5", None, 10, 13, "\\", 16, None, 0, 117, "4+7", "happiness"],
      [1, "EP02_1", None, 95, "\\", "\\", 102, None, 0, 133, 12, "Disgust"],
      [8, "EP03_2", None, 5, 7, 8, 9, None, 0, 83, "R12", "repression"],
      [9, "EP04_1", None, "\\", 3, "\\", 6, None, 0, 50, "1", "surprise"],
      [9, "EP05_1", None, 1, 2, "\\", 3, None, 0, 50, "1", "surprise"],
  ]


@pytest.fixture()
def casme_root(tmp_path) -> str:
  raw = tmp_path / "CASME_raw_selected"
  _jpgs(raw / "sub01" / "EP01_5", [f"img{n}.jpg" for n in range(10, 17)])
  _jpgs(raw / "sub01" / "EP02_1", [f"EP02_1-{n:03d}.jpg" for n in range(95, 103)])
  _jpgs(raw / "sub08" / "EP03_2", [f"EP03_2-{n:03d}.jpg" for n in range(3, 12)])
  _jpgs(raw / "sub09" / "EP04_1", [f"img{n}.jpg" for n in range(1, 7)])
  _jpgs(tmp_path / "CASME_cropped_selected" / "sub01" / "EP01_5",
        [f"reg_EP01_5-{n}.jpg" for n in range(10, 17)])
  corpus_trees.write_xlsx(tmp_path / "CASME-coded-20190721.xlsx", {"Sheet1": _casme_rows()})
  return str(tmp_path)


def test_casme_samples_repairs_and_exclusions(casme_root):
  scan = datasets.load("casme", casme_root)
  got = {s.key: (s.emotion, s.onset, s.apex, s.offset, s.apex_source, s.action_units)
         for s in scan.samples}
  assert got == {
      "casme/sub01/EP01_5": ("happiness", 10, 13, 16, "annotated", "4+7"),
      "casme/sub01/EP02_1": ("disgust", 95, 98, 102, "midpoint", "12"),
      "casme/sub08/EP03_2": ("repression", 5, 7, 9, "annotated", "R12"),
  }
  repaired = {e.key: e.reason for e in scan.repaired}
  assert "missing" in repaired["casme/sub01/EP02_1"] and "98" in repaired["casme/sub01/EP02_1"]
  assert "outside onset..offset" in repaired["casme/sub08/EP03_2"]
  excluded = {e.key: e.reason for e in scan.excluded}
  assert set(excluded) == {"casme/sub09/EP04_1", "casme/sub09/EP05_1"}
  assert "row 5" in excluded["casme/sub09/EP04_1"] and "OnsetF" in excluded["casme/sub09/EP04_1"]
  assert "does not exist" in excluded["casme/sub09/EP05_1"]


def test_casme_padded_and_plain_frame_names_sort_numerically(casme_root):
  by_clip = {s.clip: s for s in casme.load(casme_root).samples}
  names = [os.path.basename(p) for p in by_clip["EP02_1"].frame_paths]
  assert names[4:6] == ["EP02_1-099.jpg", "EP02_1-100.jpg"]
  for s in by_clip.values():
    assert [frames_lib.frame_number(p) for p in s.frame_paths] == list(
        range(s.onset, s.offset + 1))
  assert os.path.basename(by_clip["EP01_5"].frame_paths[0]) == "img10.jpg"
  assert os.path.basename(by_clip["EP03_2"].frame_paths[0]) == "EP03_2-005.jpg"


def test_casme_cropped_frames_and_coding_argument(casme_root):
  os.rename(os.path.join(casme_root, "CASME-coded-20190721.xlsx"),
            os.path.join(casme_root, "casme.xlsx"))
  with pytest.raises(DataError, match="CASME-coded-20190721.xlsx"):
    casme.load(casme_root)
  scan = casme.load(casme_root, frames="cropped", coding="casme.xlsx")
  [sample] = scan.samples
  assert os.path.basename(sample.frame_paths[0]) == "reg_EP01_5-10.jpg"
  assert sample.frame_source == "face_crop"
  assert len(scan.excluded) == 4
  raw = casme.load(casme_root, coding="casme.xlsx")
  assert raw.samples and {s.frame_source for s in raw.samples} == {"uncropped"}


def test_casme_xls_is_rejected_with_advice(tmp_path):
  (tmp_path / "CASME_raw_selected").mkdir()
  (tmp_path / "CASME-coded-20190721.xls").write_bytes(b"\xd0\xcf\x11\xe0")
  with pytest.raises(DataError, match=r"legacy \.xls.*save it as \.xlsx"):
    casme.load(str(tmp_path))


def test_casme_missing_column_raises_and_bad_cell_excludes_naming_file_and_row(casme_root):
  path = os.path.join(casme_root, "CASME-coded-20190721.xlsx")
  rows = _casme_rows()
  rows[0][4] = "Apex"
  corpus_trees.write_xlsx(path, {"Sheet1": rows})
  with pytest.raises(DataError, match=r"CASME-coded-20190721\.xlsx.*row 1.*ApexF1"):
    casme.load(casme_root)
  rows = _casme_rows()
  rows[2][3] = "ninety-five"
  corpus_trees.write_xlsx(path, {"Sheet1": rows})
  scan = casme.load(casme_root)
  assert "casme/sub01/EP02_1" not in {s.key for s in scan.samples}
  reason = {e.key: e.reason for e in scan.excluded}["casme/sub01/EP02_1"]
  assert re.search(r"CASME-coded-20190721\.xlsx.*row 3: field 'OnsetF' is 'ninety-five'",
                   reason)


MALFORMED_CASME_ROWS = {  # sheet row -> (row, the sample key, what the reason names)
    7: (["one", "EP06_1", None, 1, 2, "\\", 3, None, 0, 50, "1", "fear"],
        "casme/one/EP06_1", "field 'Subject' is 'one'"),
    8: ([9, "EP07_1", None, "ten", 12, "\\", 14, None, 0, 50, "1", "fear"],
        "casme/sub09/EP07_1", "field 'OnsetF' is 'ten'"),
    9: ([9, "EP08_1", None, 10, 12, "\\", "end", None, 0, 50, "1", "fear"],
        "casme/sub09/EP08_1", "field 'OffsetF' is 'end'"),
    10: ([9, "EP09_1", None, 10, 12, "\\", 14, None, 0, 50, "1", None],
         "casme/sub09/EP09_1", "field 'Emotion' is empty"),
    11: ([9, "EP10_1", None, 10, 12, "\\", 14, None, 0, 50, "1", "joy"],
         "casme/sub09/EP10_1", "unknown label 'joy'"),
    12: ([9, "EP11_1", None, 14, 12, "\\", 10, None, 0, 50, "1", "fear"],
         "casme/sub09/EP11_1", "OnsetF 14 is after OffsetF 10"),
}


def test_casme_malformed_rows_are_excluded_naming_file_row_and_field(casme_root):
  path = os.path.join(casme_root, "CASME-coded-20190721.xlsx")
  corpus_trees.write_xlsx(path, {"Sheet1": _casme_rows() + [r for r, _, _ in MALFORMED_CASME_ROWS.values()]})
  scan = casme.load(casme_root)  # no DataError: the good rows still give samples
  assert [s.clip for s in scan.samples] == ["EP01_5", "EP02_1", "EP03_2"]
  excluded = {e.key: e.reason for e in scan.excluded}
  for number, (_, key, named) in MALFORMED_CASME_ROWS.items():
    assert path in excluded[key] and named in excluded[key]
    assert re.search(rf"row {number}\b", excluded[key]), excluded[key]
  assert "field 'Emotion'" in excluded["casme/sub09/EP10_1"]


def test_casme_non_numeric_apex_is_repaired_and_amusement_is_happiness(casme_root):
  rows = _casme_rows()
  rows[1][4] = "thirteen"       # EP01_5's ApexF1
  rows[3][11] = "Amusement"     # EP03_2's label in the FG 2013 paper
  corpus_trees.write_xlsx(os.path.join(casme_root, "CASME-coded-20190721.xlsx"), {"Sheet1": rows})
  scan = casme.load(casme_root)
  by_clip = {s.clip: s for s in scan.samples}
  assert (by_clip["EP01_5"].apex, by_clip["EP01_5"].apex_source) == (13, "midpoint")
  assert by_clip["EP03_2"].emotion == "happiness"
  note = {e.key: e.reason for e in scan.repaired}["casme/sub01/EP01_5"]
  assert re.search(r"row 2, field 'ApexF1' is 'thirteen'.*midpoint frame 13", note)


# -------------------------------------------------------------- CAS(ME)^2 ---

CODES = [
    [1, "anger1_1", 100, 104, 108, "4+7", "negative", "micro-expression", "anger"],
    [1, "anger1_2", 200, 0, 205, 12, "positive", "micro-expression", "happyiness"],
    [1, "disgust1_1", 10, 20, 50, "9", "negative", "macro-expression", "disgust"],
    [2, "happy1_1", 5, 7, 0, "12", "positive", "micro-expression", "happy"],
    [2, "anger2_1", 1, 3, 6, None, "others", "micro-expression", None],
]
SUBJECTS = [[15, "s15", 1], [16, "s16", 2]]
VIDEOS = [[401, "anger1"], ["0101", "disgust1"], ["0102", "happy1"]]


def _casme_sq_root(tmp_path, codes=CODES, subjects=SUBJECTS, videos=VIDEOS,
                   name="CAS(ME)^2code_final.xlsx") -> str:
  raw = tmp_path / "rawpic"
  _jpgs(raw / "s15" / "15_0401angryman", [f"img{n}.jpg" for n in range(95, 211)])
  _jpgs(raw / "s15" / "15_0101disgustingteeth", ["img1.jpg"])
  _jpgs(raw / "s16" / "16_0102happyface", [f"img{n}.jpg" for n in range(1, 11)])
  corpus_trees.write_xlsx(tmp_path / name, {"CASFEcode_final": codes, "naming rule1": subjects,
                          "naming rule2": videos})
  return str(tmp_path)


def test_casme_sq_samples_and_repairs(tmp_path):
  scan = datasets.load("casme_sq", _casme_sq_root(tmp_path))
  got = {s.key: (s.emotion, s.onset, s.apex, s.offset, s.apex_source, s.num_frames)
         for s in scan.samples}
  assert got == {
      "casme_sq/s15/anger1_1": ("negative", 100, 104, 108, "annotated", 9),
      "casme_sq/s15/anger1_2": ("positive", 200, 202, 205, "midpoint", 6),
      "casme_sq/s16/happy1_1": ("positive", 5, 7, 7, "annotated", 3),
  }
  sample = scan.samples[0]
  assert os.path.dirname(sample.frame_paths[0]).endswith(os.path.join("s15", "15_0401angryman"))
  assert os.path.basename(sample.frame_paths[0]) == "img100.jpg"
  repaired = {e.key: e.reason for e in scan.repaired}
  assert set(repaired) == {"casme_sq/s15/anger1_2", "casme_sq/s16/happy1_1"}
  assert "offset is unknown" in repaired["casme_sq/s16/happy1_1"]
  [excluded] = scan.excluded  # the macro row is skipped silently
  assert excluded.key == "casme_sq/s16/anger2_1" and "'anger2'" in excluded.reason
  assert "row 5" in excluded.reason and "sheet 3" in excluded.reason


def test_casme_sq_unknown_category_is_excluded_and_frames_are_uncropped(tmp_path):
  codes = [list(r) for r in CODES]
  codes[0][6] = "negitive"
  root = _casme_sq_root(tmp_path, codes=codes)
  scan = casme_sq.load(root)
  assert {s.frame_source for s in scan.samples} == {"uncropped"}
  assert "casme_sq/s15/anger1_1" not in {s.key for s in scan.samples}
  excluded = {e.key: e.reason for e in scan.excluded}
  path = os.path.join(root, "CAS(ME)^2code_final.xlsx")
  assert excluded["casme_sq/s15/anger1_1"] == (
      f"unknown label 'negitive' in {path}, sheet 'CASFEcode_final', row 1 (column G, "
      "emotion category); expected one of ['negative', 'positive', 'surprise', 'others']; "
      "correct the annotation file")


MALFORMED_MICRO = {  # sheet row -> (row, the sample key, what the reason names)
    6: ([1, "anger1_3", "one", 2, 3, "4", "negative", "micro-expression", "anger"],
        "casme_sq/1/anger1_3", "field 'C' is 'one'"),
    7: ([1, "anger1_4", 1, 2, "three", "4", "negative", "micro-expression", "anger"],
        "casme_sq/1/anger1_4", "field 'E' is 'three'"),
    8: (["one", "anger1_5", 1, 2, 3, "4", "negative", "micro-expression", "anger"],
        "casme_sq/one/anger1_5", "field 'A' is 'one'"),
    9: ([1, None, 1, 2, 3, "4", "negative", "micro-expression", "anger"],
        "casme_sq/1/?", "column B"),
}


def test_casme_sq_malformed_micro_rows_are_excluded_naming_file_row_and_column(tmp_path):
  root = _casme_sq_root(tmp_path, codes=CODES + [r for r, _, _ in MALFORMED_MICRO.values()])
  scan = casme_sq.load(root)  # no DataError: the good rows still give samples
  assert len(scan.samples) == 3
  path = os.path.join(root, "CAS(ME)^2code_final.xlsx")
  excluded = {e.key: e.reason for e in scan.excluded}
  for number, (_, key, named) in MALFORMED_MICRO.items():
    assert excluded[key].startswith(f"{path}, sheet 'CASFEcode_final', row {number}: ")
    assert named in excluded[key]


def test_casme_sq_non_numeric_apex_is_repaired_naming_column_d(tmp_path):
  codes = [list(r) for r in CODES]
  codes[0][3] = "x104"
  scan = casme_sq.load(_casme_sq_root(tmp_path, codes=codes))
  sample = {s.key: s for s in scan.samples}["casme_sq/s15/anger1_1"]
  assert (sample.apex, sample.apex_source) == (104, "midpoint")
  note = {e.key: e.reason for e in scan.repaired}["casme_sq/s15/anger1_1"]
  assert re.search(r"row 1, column D \(apex\): .*midpoint frame 104", note), note


def test_casme_sq_other_sheet_layouts(tmp_path):
  """Two-column subject map, a header row on sheet 3, the MEAN file name."""
  root = _casme_sq_root(tmp_path, subjects=[[1, "s15"], ["s16", 2]],
                        videos=[["code", "video"]] + VIDEOS, name="code_final.xlsx")
  keys = [s.key for s in casme_sq.load(root).samples]
  assert keys == ["casme_sq/s15/anger1_1", "casme_sq/s15/anger1_2", "casme_sq/s16/happy1_1"]


def test_casme_sq_shifted_row_names_file_and_row(tmp_path):
  shifted = [1, "anger1_3", 1, 2, 3, "negative", "micro-expression", "anger"]
  root = _casme_sq_root(tmp_path, codes=CODES + [shifted])
  with pytest.raises(DataError, match=r"code_final\.xlsx.*row 6: column H"):
    casme_sq.load(root)


def test_casme_sq_bad_mapping_sheets(tmp_path):
  root = _casme_sq_root(tmp_path, subjects=SUBJECTS + [[17, "seventeen", "x"]])
  with pytest.raises(DataError, match=r"'naming rule1', row 3: expected a subject number"):
    casme_sq.load(root)
  path = os.path.join(root, "CAS(ME)^2code_final.xlsx")
  corpus_trees.write_xlsx(path, {"CASFEcode_final": CODES, "naming rule1": SUBJECTS})
  with pytest.raises(DataError, match="expects sheet 3"):
    casme_sq.load(root)


def test_casme_sq_missing_files(tmp_path):
  with pytest.raises(DataError, match="rawpic"):
    casme_sq.load(str(tmp_path))
  (tmp_path / "rawpic").mkdir()
  with pytest.raises(DataError, match=r"CAS\(ME\)\^2code_final\.xlsx"):
    casme_sq.load(str(tmp_path))
