"""Writes a synthetic dataset in the exact on-disk layout of CASME II.

  <out>/CASME2-coding-20140508.xlsx     Sheet1 (+ empty Sheet2, Sheet3), 9 columns
  <out>/CASME2-ObjectiveClasses.xlsx    Sheet1: Subject, Filename, Objective Class
  <out>/CASME2_RAW_selected/subXX/<clip>/img<N>.jpg      N = onset..offset
  <out>/Cropped/subXX/<clip>/reg_img<N>.jpg

`Cropped/` holds `data.videos` (in the real corpus: tight face crops, about
230x280 px, the size varying per clip); `CASME2_RAW_selected/` holds
`raw_videos` when they are given (the uncropped 640x480 frames, face
anywhere in them), otherwise the same videos as `Cropped/`.

The coding sheet copies the real file's cell types (shared/datasets.md,
section 1): Subject as text '01', empty-header columns C and G, int frame
numbers, `Action Units` an int for a single AU (12) and text otherwise
('6+12'), emotion in lower case. One real quirk is reproduced at a fixed
place so that tests can check the reader repairs it: the ApexFrame of the
sample `slash_apex_index` picks is written as '/' (as sub04 EP12_01f in the
real file). Clip names are the synthetic clip ids ('EP01_02').

  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=3))
  write(data, '/tmp/casme2')      # then mer_jax.data.casme2.load('/tmp/casme2')
  write(data, '/tmp/casme2', raw_videos=uncropped)   # RAW_selected from `uncropped`
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import openpyxl

from mer_jax.data.sample import Sample
from mer_jax.data.synthetic.writers import raw_videos as raw_videos_lib
from mer_jax.preprocess import frames as frames_lib

if TYPE_CHECKING:
  from mer_jax.data.synthetic.generator import SyntheticData

CODING_FILE = "CASME2-coding-20140508.xlsx"
OBJECTIVE_FILE = "CASME2-ObjectiveClasses.xlsx"
# Columns C and G have an empty header in the real file (pandas: 'Unnamed: 2').
CODING_HEADER = ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame",
                 None, "Action Units", "Estimated Emotion")
OBJECTIVE_HEADER = ("Subject", "Filename", "Objective Class")
# Frame folder -> frame file prefix.
FRAME_FOLDERS = {"CASME2_RAW_selected": "img", "Cropped": "reg_img"}
RAW_FOLDER = "CASME2_RAW_selected"
CROPPED_FOLDER = "Cropped"
SLASH_APEX_SUBJECT = "sub04"  # where the real file has its '/' apex


def slash_apex_index(samples: Sequence[Sample]) -> int:
  """Index of the sample whose ApexFrame is written as '/'.

  The first clip of sub04 (as in the real file) when there is a sub04,
  otherwise the first clip of the last subject.
  """
  subjects = [s.subject for s in samples]
  subject = SLASH_APEX_SUBJECT if SLASH_APEX_SUBJECT in subjects else subjects[-1]
  return subjects.index(subject)


def _subject_text(sample: Sample) -> str:
  """'sub01' -> '01', the text the Subject column holds."""
  return f"{int(sample.subject.removeprefix('sub')):02d}"


def _au_cell(action_units: str) -> int | str:
  """12 for a single AU, '6+12' for a combination (as the real cells)."""
  return int(action_units) if action_units.isdigit() else action_units


def _coding_row(sample: Sample, slash_apex: bool) -> list[Any]:
  """One row of the coding sheet, cells typed as in the real file."""
  return [_subject_text(sample), sample.clip, None, sample.onset,
          "/" if slash_apex else sample.apex, sample.offset, None,
          _au_cell(sample.action_units), sample.emotion.lower()]


def _save_book(path: str, rows: list[list[Any]], extra_sheets: Sequence[str]) -> None:
  """Writes `rows` to sheet 'Sheet1' of a new workbook, plus empty `extra_sheets`."""
  book = openpyxl.Workbook()
  sheet = book.active
  sheet.title = "Sheet1"
  for row in rows:
    sheet.append(row)
  for name in extra_sheets:
    book.create_sheet(name)
  book.save(path)


def _write_frames(sample: Sample, videos: dict[str, Any], out_dir: str) -> None:
  """The clip's JPEG frames, videos[top] in each frame folder `top`, replacing older files."""
  for top, prefix in FRAME_FOLDERS.items():
    folder = os.path.join(out_dir, top, sample.subject, sample.clip)
    if os.path.isdir(folder):  # frames of an earlier run would not match onset..offset
      for old in frames_lib.list_frame_files(folder):
        os.remove(old)
    frames_lib.write_frames(videos[top], folder, sample.onset, prefix=prefix, ext=".jpg")


def write(data: SyntheticData, out_dir: str,
          raw_videos: Sequence[np.ndarray] | None = None) -> None:
  """Writes `data` (from synthetic.generate) to `out_dir` in the CASME II layout.

  Args:
    data: synthetic samples and their frames; `data.videos` go to Cropped/.
    out_dir: the dataset root to create (existing frame folders are replaced).
    raw_videos: uint8 RGB [T, H, W, 3] per sample (T as in `data.videos`, any
      H x W, e.g. uncropped 640x480 frames) for CASME2_RAW_selected/; None
      writes `data.videos` there too.

  Raises:
    ConfigError: `raw_videos` not index-aligned with `data` frame for frame.
  """
  if raw_videos is not None:
    raw_videos_lib.check(data, raw_videos)
  os.makedirs(out_dir, exist_ok=True)
  slash = slash_apex_index(data.samples)
  coding = [list(CODING_HEADER)] + [_coding_row(s, i == slash)
                                    for i, s in enumerate(data.samples)]
  _save_book(os.path.join(out_dir, CODING_FILE), coding, ("Sheet2", "Sheet3"))
  objective = [list(OBJECTIVE_HEADER)] + [[_subject_text(s), s.clip, s.objective_class]
                                          for s in data.samples]
  _save_book(os.path.join(out_dir, OBJECTIVE_FILE), objective, ("Sheet2",))
  raws = data.videos if raw_videos is None else raw_videos
  for sample, video, raw in zip(data.samples, data.videos, raws):
    _write_frames(sample, {CROPPED_FOLDER: video, RAW_FOLDER: raw}, out_dir)
