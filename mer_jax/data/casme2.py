"""The CASME II adapter: coding spreadsheet, objective classes and frame folders.

Layout as distributed (see shared/datasets.md, section 1):

  <root>/CASME2-coding-20140508.xlsx     (or the newer CASME2-coding-20190701.xlsx)
  <root>/CASME2-ObjectiveClasses.xlsx    (optional: MEGC objective classes)
  <root>/Cropped/sub01/EP02_01f/reg_img46.jpg ...       (or Cropped-updated/Cropped/)
  <root>/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...

The coding sheet has one header row and 9 columns (two of them with an empty
header): `Subject` ('01' as text, or an int), `Filename`, `OnsetFrame`,
`ApexFrame` (an int, or '/' when unknown), `OffsetFrame`, `Action Units` (12
or '4+7'), `Estimated Emotion` (lower case); the 20190701 revision adds
`Objective Classes`. Frame numbers are absolute.

  scan = load('/data/CASME2')                      # Cropped faces, annotated apex
  scan = load('/data/CASME2', frames='raw_selected', apex='midpoint')

Rows are read through the one corpus load (data/corpus.py): a malformed
row, an emotion that is not one of EMOTIONS ('happyness'), a repeated clip,
a missing sample folder or a missing frame leaves that sample out (listed
in `Scan.excluded`); a missing or invalid apex is repaired to the midpoint
frame (listed in `Scan.repaired`). A root without a coding file or a frame
folder raises DataError.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator

from mer_jax.data import annotations
from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus
from mer_jax.data import layout
from mer_jax.data.annotations import Row
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import ConfigError, DataError

DATASET = "casme2"
# Preferred first: the 20140508 labels match the MEGC protocols.
CODING_FILES = ("CASME2-coding-20140508.xlsx", "CASME2-coding-20190701.xlsx")
OBJECTIVE_FILE = "CASME2-ObjectiveClasses.xlsx"
CODING_COLUMNS = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
                  "Action Units", "Estimated Emotion")
CODING_OBJECTIVE_COLUMN = "Objective Classes"  # 20190701 revision only
OBJECTIVE_COLUMNS = ("Subject", "Filename", "Objective Class")
# frames option -> candidate folders under the root (each also found doubled,
# e.g. CASME2_RAW_selected/CASME2_RAW_selected).
FRAME_DIRS = {
    "cropped": ("Cropped", "Cropped-updated/Cropped"),
    "raw_selected": ("CASME2_RAW_selected",),
}
# frames option -> what the frames show (Sample.frame_source).
FRAME_SOURCES = {"cropped": "face_crop", "raw_selected": "uncropped"}
# The labels of the coding file (lower case), datasets.md section 1.
EMOTIONS = ("happiness", "surprise", "disgust", "repression", "sadness", "fear", "others")


# ---------------------------------------------------------------- cells ---


def _subject(row: Row) -> str:
  """'01', 1 or 'sub01' -> 'sub01' (the subject folder name)."""
  return f"sub{annotations.parse_subject(row, 'Subject'):02d}"


def _parse_emotion(row: Row) -> str:
  """The Estimated Emotion cell, lower case; DataError when empty or unknown."""
  emotion = annotations.parse_text(row, "Estimated Emotion").lower()
  if not emotion:
    raise DataError(f"{row.where}: field 'Estimated Emotion' is empty; expected one of "
                    f"{list(EMOTIONS)}")
  if emotion not in EMOTIONS:
    raise DataError(f"unknown label {emotion!r} in {row.where} (field 'Estimated "
                    f"Emotion'); expected one of {list(EMOTIONS)}; correct the "
                    "annotation file")
  return emotion


def _parse_row(row: Row, frames_dir: str) -> corpus.Entry:
  """One coding row -> its Entry (frames in frames_dir/subXX/<clip>/).

  Raises:
    DataError: naming the file, row and field, for a malformed row.
  """
  subject = _subject(row)
  clip = annotations.parse_text(row, "Filename")
  if not clip:
    raise DataError(f"{row.where}: field 'Filename' is empty; expected a clip name "
                    "such as 'EP02_01f'")
  emotion = _parse_emotion(row)
  onset = annotations.parse_frame(row, "OnsetFrame")
  offset = annotations.parse_frame(row, "OffsetFrame")
  if offset < onset:
    raise DataError(f"{row.where}: field 'OffsetFrame' is {offset}, before "
                    f"'OnsetFrame' {onset}; expected onset <= offset")
  key = f"{DATASET}/{subject}/{clip}"
  apex, source, note = corpus.annotated_apex(row, "ApexFrame", key, onset, offset)
  sample = Sample(dataset=DATASET, subject=subject, clip=clip, emotion=emotion,
                  onset=onset, apex=apex, offset=offset, apex_source=source,
                  action_units=annotations.parse_text(row, "Action Units"),
                  objective_class=annotations.parse_objective(row, CODING_OBJECTIVE_COLUMN))
  return corpus.Entry(sample, row.where, os.path.join(frames_dir, subject, clip), note)


# ---------------------------------------------------------------- files ---


class Casme2(corpus.Corpus):
  """CASME II: the coding sheet's rows, objective classes, frames from one folder.

  Args:
    coding: the coding sheet's rows (`read_sheet`).
    frames_dir: the folder holding subXX/<clip>/ (None: the annotation only).
    frames: the frames option, for `frame_source`.
    classes: (subject, clip) -> objective class, overriding the coding file's.
  """

  title = "CASME II"

  def __init__(self, coding: list[Row], frames_dir: str | None = None,
               frames: str = "cropped", classes: dict | None = None):
    self.coding, self.frames_dir = coding, frames_dir or ""
    self.frame_source = FRAME_SOURCES[frames]
    self.classes = classes or {}

  def rows(self) -> Iterator[corpus.Entry | Exclusion]:
    for row in self.coding:
      try:
        entry = _parse_row(row, self.frames_dir)
      except DataError as e:
        yield Exclusion(corpus.row_key(DATASET, row, "sub{:02d}"), str(e))
        continue
      s = entry.sample
      cls = self.classes.get((s.subject, s.clip), s.objective_class)
      yield dataclasses.replace(entry, sample=dataclasses.replace(s, objective_class=cls))


def read_coding(path: str) -> tuple[list[Sample], list[Exclusion]]:
  """Reads a CASME II coding file (20140508 or 20190701 revision).

  Args:
    path: the .xlsx file; its first sheet (Sheet1) is read, header on row 1.

  Returns:
    (samples sorted by subject then clip, with the apex resolved under the
    'annotated' policy and no frame paths; exclusions: the rows left out in
    row order, then the samples whose apex was repaired to the midpoint).

  Raises:
    DataError: the file is missing or unreadable, or row 1 is not the header
      with CODING_COLUMNS.
  """
  entries, exclusions = corpus.parse_rows(Casme2(_read_sheet(path)))
  notes = [e.apex_note for e in entries if e.apex_note is not None]
  return sorted((e.sample for e in entries), key=lambda s: (s.subject, s.clip)), \
      exclusions + notes


def _read_sheet(path: str) -> list[Row]:
  """The coding sheet's data rows (DataError for a missing file or column)."""
  return annotations.read_sheet(path, sheet=0, required=CODING_COLUMNS)


def read_objective_classes(path: str) -> dict[tuple[str, str], int]:
  """Reads CASME2-ObjectiveClasses.xlsx: (subject 'sub01', clip) -> class 1-7.

  Rows with an empty class are skipped.

  Raises:
    DataError: the file is missing or unreadable, its header lacks
      OBJECTIVE_COLUMNS, or a class is not a whole number 1-7 (naming the row).
  """
  classes = {}
  for row in annotations.read_sheet(path, sheet=0, required=OBJECTIVE_COLUMNS):
    value = annotations.parse_objective(row, "Objective Class")
    if value is not None:
      classes[(_subject(row), annotations.parse_text(row, "Filename"))] = value
  return classes


def find_annotation(root: str, coding: str | None = None) -> str:
  """The coding file under root (or `coding`), or a DataError saying what a root holds."""
  names = (coding,) if coding else CODING_FILES
  return layout.find_file(
      root, names, what="CASME II coding file",
      root_holds=f"a CASME II root: expected the coding file {' or '.join(names)} there, "
                 f"beside {OBJECTIVE_FILE} and the frame folders Cropped/ (or "
                 "Cropped-updated/Cropped/) and CASME2_RAW_selected/")


def _find_objective(root: str) -> str | None:
  """CASME2-ObjectiveClasses.xlsx under root, or None when it is absent."""
  try:
    return layout.find_file(root, (OBJECTIVE_FILE,), what="CASME II objective classes")
  except DataError:
    return None


def _find_frames(base: str, frames: str) -> str:
  """The folder holding subXX/<clip>/ frame folders for the `frames` option."""
  return layout.find_dir(base, FRAME_DIRS[frames], what=f"CASME II frames (frames={frames!r})")


# ----------------------------------------------------------------- load ---


def _check_options(apex: str, frames: str) -> None:
  """Raises ConfigError for an unknown apex policy or frames option."""
  apex_lib.check_policy(apex)
  if frames not in FRAME_DIRS:
    raise ConfigError(f"CASME II frames={frames!r}; expected one of {tuple(FRAME_DIRS)}")


def _frames_base(root: str, coding_path: str) -> str:
  """Where the frame folders are: beside the coding file when it is in root (or doubled)."""
  folder = os.path.dirname(coding_path)
  doubled = os.path.join(root, os.path.basename(root.rstrip("/")))
  return folder if os.path.normpath(folder) in (os.path.normpath(root),
                                                os.path.normpath(doubled)) else root


def load(root: str, *, apex: str = "annotated", frames: str = "cropped",
         coding: str | None = None) -> Scan:
  """Reads CASME II from `root`.

  Args:
    root: the unpacked corpus (see the module docstring).
    apex: apex policy (data/apex.py POLICIES). Under 'annotated' a missing or
      invalid apex becomes the midpoint (a repaired Exclusion); under the
      others the annotated apex is ignored.
    frames: 'cropped' (Cropped/subXX/<clip>/reg_img<N>.jpg) or
      'raw_selected' (CASME2_RAW_selected/subXX/<clip>/img<N>.jpg).
    coding: an explicit coding file name (relative to root, or absolute);
      default: CODING_FILES, the first one present.

  Returns:
    Scan of the samples with frame paths onset..offset (frame_source
    'face_crop' for Cropped/, 'uncropped' for CASME2_RAW_selected/), sorted
    by subject then clip; objective classes from CASME2-ObjectiveClasses.xlsx when it is
    present (otherwise from the coding file's `Objective Classes`, if any).

  Raises:
    ConfigError: unknown `apex` or `frames`.
    DataError: root is not a folder, has no coding file or no frame folder,
      or a spreadsheet has the wrong header.
  """
  _check_options(apex, frames)
  layout.check_root(root, DATASET)
  coding_path = find_annotation(root, coding)
  rows = _read_sheet(coding_path)
  objective_path = _find_objective(root)
  classes = read_objective_classes(objective_path) if objective_path else {}
  frames_dir = _find_frames(_frames_base(root, coding_path), frames)
  return corpus.load(Casme2(rows, frames_dir, frames, classes), apex)
