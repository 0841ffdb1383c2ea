"""Writes a synthetic dataset in the exact on-disk layout of SAMM.

  <out>/SAMM_Micro_FACS_Codes_v2.xlsx                   sheet MICRO_ONLY
  <out>/SAMM/<subject>/<clip>/<subject>_<NNNNN>.jpg     grayscale, NNNNN = onset..offset

Frames may have any size: the real clips are uncropped 960x650 (WxH) frames
with the face somewhere in them; RGB frames are written as their luma, grey
frames ([H, W] or [H, W, 1]) as they are.

The sheet copies the real file (shared/datasets.md, section 2): rows 1-13 free
text (title, citation notes, symbol key, AU help), row 14 the 12-column
header, data from row 15; `Subject` as text '006', int frame numbers,
`Duration` = offset - onset + 1, `Micro` = 'Micro - 1/2', `Action Units` an
int for a single AU (12) and text otherwise ('6+12'), `Objective Classes` an
int, `Estimated Emotion` capitalised as SAMM spells it.

Names: the synthetic subject subNN becomes the NN-th subject id of SAMM's
micro set ('006', '007', '009', ..., '037'; beyond 29 subjects '038', ...); its
i-th clip (0-based, file order) becomes '<subject>_<i // 3 + 1>_<i % 3 + 1>'
('006_1_1', '006_1_2', ...), with `Inducement Code` i // 3 + 1.

Emotions (EMOTION_NAMES): the synthetic CASME II-style labels map to SAMM's
vocabulary: happiness, surprise, disgust, sadness, fear -> the same word
capitalised; others -> 'Other' (the real file's spelling, read back as
'others'); repression -> 'Contempt' (SAMM has no repression; contempt is the
nearest suppressed negative expression), read back as 'contempt'.

Quirk: the Apex Frame of the sample `apex_quirk_index` picks is written as
offset + 9, outside onset..offset, as 028_4_1 (apex 1143 > offset 1134) in the
MouathAb copy of the real file; the reader must repair it to the midpoint.

  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=3))
  write(data, '/tmp/samm')        # then mer_jax.data.samm.load('/tmp/samm')
"""

from __future__ import annotations

import collections
import os
from typing import TYPE_CHECKING, Any, Sequence

import cv2
import numpy as np
import openpyxl

from mer_jax.data.sample import Sample
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

if TYPE_CHECKING:
  from mer_jax.data.synthetic.generator import SyntheticData

CODES_FILE = "SAMM_Micro_FACS_Codes_v2.xlsx"
SHEET = "MICRO_ONLY"
HEADER = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame",
          "Offset Frame", "Duration", "Micro", "Action Units", "Estimated Emotion",
          "Objective Classes", "Notes")
HEADER_ROW = 14
FRAMES_DIR = "SAMM"
# The 29 subjects of SAMM's micro set, in order.
SUBJECTS = ("006", "007") + tuple(f"{n:03d}" for n in range(9, 27)) + (
    "028",) + tuple(f"{n:03d}" for n in range(30, 38))
EMOTION_NAMES = {"happiness": "Happiness", "surprise": "Surprise", "disgust": "Disgust",
                 "sadness": "Sadness", "fear": "Fear", "others": "Other",
                 "repression": "Contempt"}
JPEG_QUALITY = 95
APEX_QUIRK_INDEX = 1  # the second sample (the first when there is only one)
APEX_QUIRK_OFFSET = 9  # apex = offset + 9, as 1143 vs offset 1134 in the real copy
# Rows 1-13: (row, column, text), laid out as in the real file.
_PREAMBLE = (
    (1, 1, "SAMM Dataset - Master FACS Codes"),
    (1, 5, "(SYNTHETIC data written by mer_jax.data.synthetic.writers.samm in the layout of "
           "SAMM; not the SAMM corpus. Real SAMM users cite: Davison et al. (2016). "
           "SAMM: A spontaneous micro-facial movement dataset. IEEE TAC.)"),
    (3, 1, "9/9/17 - New updates with Emotional and Objective Classes. For details "
           "please refer to: "),
    (3, 9, "arXiv preprint arXiv:1708.07549."),
    (4, 5, "(Note to the users: if you're using the emotional or objective classes, "
           "please cite: Davison, A. K., Merghani, W., & Yap, M. H. (2017). Objective "
           "Classes for Micro-Facial Expression Recognition.)"),
    (6, 1, "Symbol Key:"),
    (7, 1, '"/" = or'),
    (8, 1, '"?" = some AU\'s continue for a while and have unclear offset'),
    (10, 1, "AU Help:"),
    (11, 1, '"L2 or R2" = Unilateral AU 2 on left side of face / right side of face'),
    (12, 1, '"A2" = Asymmetric AU 2. Occurs on both sides of face but stronger on one '
            "side"),
)


def subject_id(synthetic_subject: str) -> str:
  """'sub01' -> '006', 'sub02' -> '007', ... (SUBJECTS, then '038', ...)."""
  number = int("".join(ch for ch in synthetic_subject if ch.isdigit()) or 0)
  if number < 1:
    raise ValueError(f"synthetic subject {synthetic_subject!r} has no number >= 1")
  if number <= len(SUBJECTS):
    return SUBJECTS[number - 1]
  return f"{int(SUBJECTS[-1]) + number - len(SUBJECTS):03d}"


def names(samples: Sequence[Sample]) -> list[tuple[str, str]]:
  """(SAMM subject, SAMM clip) of every sample, index-aligned ('006', '006_1_1')."""
  seen = collections.Counter()
  out = []
  for s in samples:
    subject = subject_id(s.subject)
    i = seen[subject]
    seen[subject] += 1
    out.append((subject, f"{subject}_{i // 3 + 1}_{i % 3 + 1}"))
  return out


def apex_quirk_index(samples: Sequence[Sample]) -> int:
  """Index of the sample whose Apex Frame is written outside onset..offset."""
  return min(APEX_QUIRK_INDEX, len(samples) - 1)


def _emotion_name(emotion: str) -> str:
  """The SAMM spelling of a synthetic emotion (EMOTION_NAMES)."""
  if emotion not in EMOTION_NAMES:
    raise DataError(f"emotion {emotion!r} has no SAMM name; expected one of "
                    f"{sorted(EMOTION_NAMES)}")
  return EMOTION_NAMES[emotion]


def _au_cell(action_units: str) -> int | str:
  """12 for a single AU, '6+12' for a combination (as the real cells)."""
  return int(action_units) if action_units.isdigit() else action_units


def _codes_row(sample: Sample, subject: str, clip: str, quirk: bool) -> list[Any]:
  """One data row of MICRO_ONLY, cells typed as in the real file."""
  apex = sample.offset + APEX_QUIRK_OFFSET if quirk else sample.apex
  inducement = int(clip.split("_")[1])
  return [subject, clip, inducement, sample.onset, apex, sample.offset,
          sample.offset - sample.onset + 1, "Micro - 1/2", _au_cell(sample.action_units),
          _emotion_name(sample.emotion), sample.objective_class, None]


def _save_codes(path: str, rows: list[list[Any]]) -> None:
  """Writes the preamble, the header on row 14 and `rows` below it."""
  book = openpyxl.Workbook()
  sheet = book.active
  sheet.title = SHEET
  for r, c, text in _PREAMBLE:
    sheet.cell(row=r, column=c, value=text)
  for r, values in enumerate([list(HEADER)] + rows, start=HEADER_ROW):
    for c, value in enumerate(values, start=1):
      cell = sheet.cell(row=r, column=c, value=value)
      if c == 1:
        cell.number_format = "@"  # Subject is a text cell in the real file.
  book.save(path)


def _grey(frame: np.ndarray) -> np.ndarray:
  """uint8 RGB [H, W, 3] (luma), grey [H, W, 1] or [H, W] -> contiguous grey [H, W]."""
  frame = np.asarray(frame)
  if frame.ndim == 3 and frame.shape[-1] == 3:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
  if frame.ndim == 3 and frame.shape[-1] == 1:
    frame = frame[..., 0]
  if frame.ndim != 2:
    raise DataError(f"SAMM frame of shape {frame.shape}; expected [H, W, 3], [H, W, 1] "
                    "or [H, W]")
  return np.ascontiguousarray(frame)


def _write_frames(video: np.ndarray, folder: str, subject: str, onset: int) -> None:
  """Grayscale JPEGs <subject>_<NNNNN>.jpg of any size, replacing older frame files."""
  if os.path.isdir(folder):  # frames of an earlier run would not match onset..offset
    for old in frames_lib.list_frame_files(folder):
      os.remove(old)
  os.makedirs(folder, exist_ok=True)
  for number, frame in enumerate(video, start=onset):  # frame: RGB [H, W, 3] or grey
    path = os.path.join(folder, frame_name(subject, number))
    if not cv2.imwrite(path, _grey(frame), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
      raise DataError(f"{path}: could not write the frame")


def frame_name(subject: str, number: int) -> str:
  """'006', 5562 -> '006_05562.jpg', the SAMM frame file name."""
  return f"{subject}_{number:05d}.jpg"


def write(data: SyntheticData, out_dir: str) -> None:
  """Writes `data` (from synthetic.generate) to `out_dir` in the SAMM layout.

  Args:
    data: synthetic samples and their frames (any size, RGB or grey).
    out_dir: the dataset root to create (existing frame folders are replaced).
  """
  os.makedirs(out_dir, exist_ok=True)
  ids = names(data.samples)
  quirk = apex_quirk_index(data.samples)
  rows = [_codes_row(s, subject, clip, i == quirk)
          for i, (s, (subject, clip)) in enumerate(zip(data.samples, ids))]
  _save_codes(os.path.join(out_dir, CODES_FILE), rows)
  for s, video, (subject, clip) in zip(data.samples, data.videos, ids):
    _write_frames(video, os.path.join(out_dir, FRAMES_DIR, subject, clip), subject, s.onset)
