"""The SAMM adapter: the micro-expression codes spreadsheet and the clip frames.

Layout (datasets.md section 2):

  <root>/SAMM_Micro_FACS_Codes_v2.xlsx   (later copies: SAMM_20181215_Micro_FACS_Codes_v2.xlsx)
  <root>/SAMM/<subject>/<Filename>/<subject>_<NNNNN>.jpg   e.g. SAMM/006/006_1_2/006_05562.jpg

also with a doubled `SAMM/SAMM/` folder, or with the subject folders directly
under <root>. Frame numbers in file names are absolute (5562 is the onset of
006_1_2), so frames are selected by number, never by position.

The codes file has one sheet, MICRO_ONLY: rows 1-13 are free text (title,
citation notes, symbol key), row 14 is the header, data starts on row 15.
`Subject` is text ('006') in the distributed file and an int (6) in re-saved
copies; both give `Sample.subject` '006', the folder name. One public copy has
two apexes outside onset..offset (028_4_1, 032_3_1): with apex='annotated'
they become the midpoint and are listed as repaired, naming the row. Rows
go through the one corpus load (data/corpus.py): a malformed or repeated row
is excluded, naming the file, row and field.

  scan = samm.load('/data/samm')                  # Scan(samples, exclusions)
  samples, exclusions = samm.read_codes(xlsx)     # the annotation only, no frames
"""

from __future__ import annotations

import os
import re
from typing import Iterator

from mer_jax.data import annotations
from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus
from mer_jax.data import layout
from mer_jax.data.annotations import Row
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import DataError

DATASET = "samm"
SHEET = "MICRO_ONLY"
HEADER_ROW = 14
CODES_FILES = ("SAMM_Micro_FACS_Codes_v2.xlsx", "SAMM_20181215_Micro_FACS_Codes_v2.xlsx")
COLUMNS = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame",
           "Offset Frame", "Duration", "Micro", "Action Units", "Estimated Emotion",
           "Objective Classes", "Notes")
# The columns the adapter reads; the others (Duration, Micro, Notes, ...) may be absent.
REQUIRED = ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame",
            "Action Units", "Estimated Emotion", "Objective Classes")
# Tried in order (each also doubled by layout.find_dir), so SAMM/SAMM wins over SAMM.
FRAMES_DIRS = ("SAMM/SAMM", "SAMM")
# The distributed file writes 'Other'; meb maps 'Others' too (datasets.md section 2).
_EMOTION_ALIASES = {"other": "others"}
# The labels of the codes file, lower case and after the alias (datasets.md section 2).
EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise",
            "others")
_SUBJECT_DIR = re.compile(r"^\d{3}$")


class Samm(corpus.Corpus):
  """SAMM: the codes file's rows, frames from <frames_dir>/<subject>/<clip>/.

  Args:
    codes: the codes sheet's data rows (`_read_sheet`).
    frames_dir: the folder holding the subject folders ('' for the annotation only).
  """

  title = "SAMM"
  frame_source = "uncropped"  # SAMM has no official face crops

  def __init__(self, codes: list[Row], frames_dir: str = ""):
    self.codes, self.frames_dir = codes, frames_dir

  def rows(self) -> Iterator[corpus.Entry | Exclusion]:
    for row in self.codes:
      try:
        yield _parse_row(row, self.frames_dir)
      except DataError as e:
        yield Exclusion(corpus.row_key(DATASET, row, "{:03d}"), str(e))


def read_codes(path: str) -> tuple[list[Sample], list[Exclusion]]:
  """Parses a SAMM codes spreadsheet (sheet MICRO_ONLY, header on row 14).

  Args:
    path: `SAMM_Micro_FACS_Codes_v2.xlsx` (or a copy under another name).

  Returns:
    (samples in file order without frame_paths, exclusions): rows with a
    non-numeric or reversed onset/offset, an empty or unknown emotion (not in
    EMOTIONS), a bad objective
    class or a repeated Filename are excluded, naming the file, row and field;
    an apex outside onset..offset (or missing) is set to the midpoint and
    listed as repaired.

  Raises:
    DataError: the file, the sheet or the header on row 14 is missing.
  """
  entries, exclusions = corpus.parse_rows(Samm(_read_sheet(path)))
  notes = [e.apex_note for e in entries if e.apex_note is not None]
  return [e.sample for e in entries], exclusions + notes


def load(root: str, *, apex: str = "annotated") -> Scan:
  """Reads the SAMM micro-expression clips under `root`.

  Args:
    root: the folder holding the codes file and the SAMM/ frames folder.
    apex: apex policy (data/apex.py POLICIES).

  Returns:
    Scan with the samples sorted by subject then clip, frame_paths onset..offset
    sorted by frame number (frame_source 'uncropped': SAMM has no official
    face crops), and every excluded or repaired sample.

  Raises:
    DataError: `root` does not look like SAMM (no codes file, no frames
      folder), or the codes file has no header on row 14.
    ConfigError: unknown apex policy.
  """
  apex_lib.check_policy(apex)
  layout.check_root(root, DATASET)
  codes_path, frames_dir = find_annotation(root), find_frames_dir(root)
  return corpus.load(Samm(_read_sheet(codes_path), frames_dir), apex)


def find_annotation(root: str) -> str:
  """The codes spreadsheet under `root` (or under root/SAMM), else DataError."""
  candidates = CODES_FILES + tuple(f"SAMM/{name}" for name in CODES_FILES)
  return layout.find_file(
      root, candidates, what="SAMM codes file",
      root_holds=f"a SAMM root: expected the codes file {os.path.join(root, CODES_FILES[0])} "
                 f"(or {CODES_FILES[1]}) beside the SAMM/<subject>/<clip>/ frame folders")


def find_frames_dir(root: str) -> str:
  """The folder holding the subject folders: root/SAMM/SAMM, root/SAMM or root."""
  try:
    return layout.find_dir(root, FRAMES_DIRS, what="SAMM frames folder")
  except DataError as e:
    if any(_SUBJECT_DIR.match(n) and os.path.isdir(os.path.join(root, n))
           for n in os.listdir(root)):
      return root
    raise DataError(
        f"{root} does not look like a SAMM root: expected the frames in "
        f"{os.path.join(root, 'SAMM')}/<subject>/<clip>/<subject>_<NNNNN>.jpg "
        f"(subject folders such as 006), or subject folders directly in {root} "
        f"({e})") from None


# --------------------------------------------------------------- the codes ---


def _read_sheet(path: str) -> list[Row]:
  """The data rows of the codes file (DataError for a missing sheet or header)."""
  return annotations.read_sheet(path, sheet=SHEET, header_row=HEADER_ROW, required=REQUIRED)


def _parse_row(row: Row, frames_dir: str) -> corpus.Entry:
  """One data row -> its Entry with the apex resolved under 'annotated'."""
  subject = f"{annotations.parse_subject(row, 'Subject'):03d}"
  clip = annotations.parse_text(row, "Filename")
  if not clip:
    raise DataError(f"{row.where}: field 'Filename' is empty; expected a clip name "
                    "such as '006_1_2'")
  onset = annotations.parse_frame(row, "Onset Frame")
  offset = annotations.parse_frame(row, "Offset Frame")
  if offset < onset:
    raise DataError(f"{row.where}: field 'Offset Frame' is {offset}, before "
                    f"'Onset Frame' {onset}; expected onset <= offset")
  key = f"{DATASET}/{subject}/{clip}"
  apex, source, note = corpus.annotated_apex(
      row, "Apex Frame", key, onset, offset,
      where=f"{row.where}, field 'Apex Frame' ({row['Apex Frame']!r})")
  sample = Sample(dataset=DATASET, subject=subject, clip=clip, onset=onset, apex=apex,
                  offset=offset, apex_source=source, **_parse_labels(row))
  return corpus.Entry(sample, row.where, os.path.join(frames_dir, subject, clip), note)


def _parse_labels(row: Row) -> dict:
  """emotion, action_units and objective_class of a row, as Sample fields."""
  emotion = annotations.parse_text(row, "Estimated Emotion").lower()
  if not emotion:
    raise DataError(f"{row.where}: field 'Estimated Emotion' is empty; expected an "
                    "emotion such as 'Anger'")
  emotion = _EMOTION_ALIASES.get(emotion, emotion)
  if emotion not in EMOTIONS:
    raise DataError(f"unknown label {row['Estimated Emotion']!r} in {row.where} (field "
                    f"'Estimated Emotion'); expected one of {list(EMOTIONS[:-1])} or "
                    "other/others (any case); correct the annotation file")
  return dict(emotion=emotion,
              action_units=annotations.parse_text(row, "Action Units"),
              objective_class=annotations.parse_objective(row, "Objective Classes"))
