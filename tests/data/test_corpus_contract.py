"""Tests for the one adapter contract (mer_jax.data.corpus): every corpus, one load.

Each corpus is written small (the synthetic writers for CASME II, SAMM, SMIC
and the native layout; tiny spreadsheets for CASME and CAS(ME)^2), then read
through its adapter, checking that:
  - every adapter reads through `corpus.load` with its own `Corpus`;
  - a malformed cell in CASME's coding file excludes only that row, naming
    the file, row and field (an infinite frame number used to abort the load);
  - a repeated clip is excluded once, naming the repeated row, in every corpus.
"""

import csv
import dataclasses
import os
import re
import shutil

import cv2
import numpy as np
import openpyxl
import pytest

import corpus_trees

from mer_jax.data import casme
from mer_jax.data import casme2
from mer_jax.data import casme_sq
from mer_jax.data import corpus
from mer_jax.data import datasets
from mer_jax.data import samm
from mer_jax.data import smic
from mer_jax.data import synthetic
from mer_jax.data.synthetic import native
from mer_jax.data.synthetic.writers import casme2 as casme2_writer
from mer_jax.data.synthetic.writers import samm as samm_writer
from mer_jax.data.synthetic.writers import smic as smic_writer
from mer_jax.errors import ConfigError, DataError

SPEC = synthetic.SyntheticSpec(num_subjects=2, clips_per_subject=3, image_size=16,
                               min_duration_s=0.02, max_duration_s=0.03)
CASME_HEADER = ["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None,
                "Onset", "Total", "AU", "Emotion"]
CASME_ROWS = [[1, "EP01_5", None, 10, 13, "\\", 16, None, 0, 117, "4+7", "happiness"],
              [1, "EP02_1", None, 10, 12, "\\", 16, None, 0, 50, "12", "disgust"]]
# CAS(ME)^2 sheets 1-3 (datasets.md section 5; header-less).
CASME_SQ_CODES = [[1, "anger1_1", 100, 104, 108, "4+7", "negative", "micro-expression", "x"],
                  [1, "anger1_2", 200, 202, 205, 12, "positive", "micro-expression", "y"]]
CASME_SQ_SUBJECTS = [[15, "s15", 1]]
CASME_SQ_VIDEOS = [[401, "anger1"]]


def _jpgs(folder, numbers, prefix="img") -> None:
  os.makedirs(folder, exist_ok=True)
  for n in numbers:
    cv2.imwrite(os.path.join(folder, f"{prefix}{n}.jpg"), np.zeros((4, 4, 3), np.uint8))


def _append_copy(path: str, sheet_name: str | int, row: int) -> int:
  """Appends a copy of sheet row `row` (1-based) to the workbook; returns its row number."""
  book = openpyxl.load_workbook(path)
  sheet = book.worksheets[sheet_name] if isinstance(sheet_name, int) else book[sheet_name]
  sheet.append([c.value for c in sheet[row]])
  number = sheet.max_row
  book.save(path)
  return number


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
  return synthetic.generate(SPEC)


def _casme_root(root, rows=None) -> str:
  for clip in ("EP01_5", "EP02_1"):
    _jpgs(os.path.join(root, "CASME_raw_selected", "sub01", clip), range(10, 17))
  corpus_trees.write_xlsx(os.path.join(root, "CASME-coded-20190721.xlsx"),
        {"Sheet1": [CASME_HEADER] + (rows or [list(r) for r in CASME_ROWS])})
  return str(root)


def _casme_sq_root(root, codes=None) -> str:
  folder = os.path.join(root, "rawpic", "s15", "15_0401angryman")
  _jpgs(folder, range(95, 211))
  corpus_trees.write_xlsx(os.path.join(root, "CAS(ME)^2code_final.xlsx"),
        {"codes": codes or CASME_SQ_CODES, "naming rule1": CASME_SQ_SUBJECTS,
         "naming rule2": CASME_SQ_VIDEOS})
  return str(root)


def _roots(data, tmp_path) -> dict:
  """name -> (root, load function) for every corpus, each written under tmp_path."""
  roots = {name: str(tmp_path / name) for name in
           ("casme", "casme2", "samm", "smic", "casme_sq", "native")}
  casme2_writer.write(data, roots["casme2"])
  samm_writer.write(data, roots["samm"])
  smic_writer.write(data, roots["smic"])
  native.write_native(data, roots["native"])
  _casme_root(roots["casme"])
  _casme_sq_root(roots["casme_sq"])
  loads = {"casme": casme.load, "casme2": casme2.load, "samm": samm.load,
           "smic": smic.load, "casme_sq": casme_sq.load, "native": native.load}
  return {name: (roots[name], loads[name]) for name in roots}


def test_every_adapter_reads_through_the_one_load(data, tmp_path, monkeypatch):
  seen = []
  real_load = corpus.load

  def spy(c, apex="annotated"):
    seen.append(type(c).__name__)
    assert isinstance(c, corpus.Corpus)
    return real_load(c, apex)

  monkeypatch.setattr(corpus, "load", spy)
  for name, (root, load) in _roots(data, tmp_path).items():
    scan = load(root)
    assert scan.samples, name
    assert scan.samples == sorted(scan.samples, key=lambda s: (s.subject, s.clip)), name
    assert all(s.frame_paths for s in scan.samples), name
  assert seen == ["Casme", "Casme2", "Samm", "Smic", "CasmeSq", "Native"]


def test_synthetic_native_layout_round_trips_through_the_load(data, tmp_path):
  native.write_native(data, str(tmp_path))
  samples = native.load_native(str(tmp_path))
  assert [(s.subject, s.clip, s.onset, s.apex, s.offset) for s in samples] == [
      (s.subject, s.clip, s.onset, s.apex, s.offset) for s in data.samples]
  assert {s.apex_source for s in samples} == {"synthetic"}


def test_the_built_in_data_goes_through_the_dataset_registry(data, tmp_path):
  """'synthetic' is read by `datasets.load` from a root and made by `datasets.generate`
  without one, like any registered dataset: no caller names it."""
  native.write_native(data, str(tmp_path))
  scan = datasets.load("synthetic", str(tmp_path))
  assert scan.samples == native.load_native(str(tmp_path)) and not scan.exclusions
  generated, read = datasets.generate("synthetic", dataclasses.asdict(SPEC))
  assert [s.key for s in generated.samples] == [s.key for s in data.samples]
  np.testing.assert_array_equal(read(generated.samples[2]), data.videos[2])
  with pytest.raises(ConfigError, match="needs a root folder"):
    datasets.generate("casme2", {})
  with pytest.raises(ConfigError, match="config.data.synthetic: .*'num_subject'"):
    datasets.generate("synthetic", {"num_subject": 3})
  with pytest.raises(ConfigError, match="has no option"):
    datasets.load("synthetic", str(tmp_path), frames="raw")


def test_a_bad_row_of_the_built_in_layout_raises_naming_the_line(data, tmp_path):
  native.write_native(data, str(tmp_path))
  path = tmp_path / "annotations.csv"
  lines = path.read_text().splitlines()
  lines[2] = lines[2].replace(f",{data.samples[1].apex},", ",x,", 1)
  path.write_text("\n".join(lines) + "\n")
  with pytest.raises(DataError, match="annotations.csv, line 3"):
    datasets.load("synthetic", str(tmp_path))


@pytest.mark.parametrize("cell", ["inf", "1e400", "ninety-five"])
def test_non_numeric_casme_cell_excludes_only_its_row(tmp_path, cell):
  rows = [list(r) for r in CASME_ROWS]
  rows[1][3] = cell  # EP02_1's OnsetF, sheet row 3
  root = _casme_root(tmp_path, rows)
  scan = casme.load(root)  # no abort: the other row still gives its sample
  assert [s.clip for s in scan.samples] == ["EP01_5"]
  [excluded] = scan.excluded
  assert excluded.key == "casme/sub01/EP02_1"
  path = os.path.join(root, "CASME-coded-20190721.xlsx")
  assert re.search(re.escape(path) + r", sheet 'Sheet1', row 3: field 'OnsetF' is ",
                   excluded.reason), excluded.reason
  assert "expected" in excluded.reason and "\n" not in excluded.reason


def _repeat_row(name: str, root: str) -> str:
  """Writes a second copy of the corpus' first clip; returns what names the repeat."""
  if name == "casme":
    path = os.path.join(root, "CASME-coded-20190721.xlsx")
    return f"row {_append_copy(path, 'Sheet1', 2)}\\b"
  if name == "casme2":
    path = os.path.join(root, casme2_writer.CODING_FILE)
    return f"row {_append_copy(path, 0, 2)}\\b"
  if name == "samm":
    path = os.path.join(root, samm_writer.CODES_FILE)
    return f"row {_append_copy(path, samm_writer.SHEET, samm_writer.HEADER_ROW + 1)}\\b"
  if name == "casme_sq":
    path = os.path.join(root, "CAS(ME)^2code_final.xlsx")
    return f"row {_append_copy(path, 'codes', 1)}\\b"
  if name == "native":
    path = os.path.join(root, "annotations.csv")
    with open(path, newline="") as f:
      lines = list(csv.reader(f))
    with open(path, "a", newline="") as f:
      csv.writer(f).writerow(lines[1])
    return f"line {len(lines) + 1}\\b"
  # SMIC: the same clip folder under a second emotion folder of the same subject.
  clip = smic.load(root).samples[0]
  folder = os.path.dirname(clip.frame_paths[0])
  emotion_dir = os.path.dirname(folder)
  other = next(e for e in smic.EMOTIONS if e != os.path.basename(emotion_dir))
  copy = os.path.join(os.path.dirname(emotion_dir), other, os.path.basename(folder))
  shutil.copytree(folder, copy)
  return re.escape(copy) if other > os.path.basename(emotion_dir) else re.escape(folder)


def test_a_repeated_clip_is_excluded_once_in_every_corpus(data, tmp_path):
  for name, (root, load) in _roots(data, tmp_path).items():
    before = load(root)
    names_repeat = _repeat_row(name, root)
    scan = load(root)
    assert [s.key for s in scan.samples] == [s.key for s in before.samples], name
    repeats = [e for e in scan.excluded if "repeats" in e.reason]
    assert len(repeats) == 1, (name, scan.excluded)
    assert repeats[0].key in {s.key for s in scan.samples}, name
    assert re.search(names_repeat, repeats[0].reason), (name, repeats[0].reason)
    assert len(scan.excluded) == len(before.excluded) + 1, name


def test_native_load_native_stays_strict_about_a_repeat(data, tmp_path):
  native.write_native(data, str(tmp_path))
  _repeat_row("native", str(tmp_path))
  with pytest.raises(DataError, match=r"annotations\.csv, line \d+, field 'clip'.*repeats"):
    native.load_native(str(tmp_path))


def test_apex_policies_apply_once_for_every_corpus(data, tmp_path):
  for name, (root, load) in _roots(data, tmp_path).items():
    mid = load(root, apex="midpoint")
    assert {s.apex_source for s in mid.samples} == {"midpoint"}, name
    assert not [e for e in mid.repaired if "apex" in e.reason], name
    assert all(s.apex == s.onset + (s.offset - s.onset) // 2 for s in mid.samples), name
