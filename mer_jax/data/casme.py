"""CASME (I) adapter: the coding spreadsheet and the selected frame folders.

Layout (shared/datasets.md, section 4):

  <root>/CASME-coded-20190721.xlsx                       (or coding=...)
  <root>/CASME_raw_selected/sub01/EP01_5/EP01_5-{n}.jpg  (or img{n}.jpg)
  <root>/CASME_cropped_selected/sub01/EP01_5/reg_EP01_5-{n}.jpg   (frames='cropped')

A doubled top folder (`CASME_raw_selected/CASME_raw_selected/`) is found too.
`{n}` is the absolute frame number, zero-padded to 3 digits in Section B;
frames are found by listing the folder and sorting by the number, so padded
and plain names both work.

The coding sheet has 1 header row with (at least) the columns `Subject` (int),
`Filename`, `OnsetF`, `ApexF1`, `OffsetF`, `AU` and `Emotion`; missing cells
hold '\\'. Only .xlsx is read (openpyxl): the distributed
`CASME-coded-20190721.xls` must be opened in a spreadsheet program and saved
as .xlsx first (no xlrd dependency). Apex = ApexF1; a missing, non-numeric
or out-of-range one goes through the apex policy (data/apex.py; 'annotated'
repairs it to the midpoint, listed in `Scan.repaired`). As in the CASME II
and SAMM adapters, a malformed row (a subject, Filename, OnsetF or OffsetF
cell that does not parse, a missing onset or offset, OffsetF before OnsetF,
an empty emotion or one that is not in EMOTIONS), a missing frame folder or
frame, or a repeated clip is excluded, the reason naming the file, row and
field (`Scan.excluded`); blank rows are skipped. A missing column raises
DataError naming the file and the header row.

  scan = load('/data/CASME')                       # dataset 'casme'
  scan = load('/data/CASME', frames='cropped', coding='casme.xlsx')
"""

from __future__ import annotations

import glob
import os

from mer_jax.data import annotations as ann
from mer_jax.data import apex as apex_lib
from mer_jax.data import layout
from mer_jax.data.sample import Exclusion
from mer_jax.data.sample import Sample
from mer_jax.data.sample import Scan
from mer_jax.errors import ConfigError
from mer_jax.errors import DataError

DATASET = "casme"
CODING_GLOB = "CASME-coded*.xls*"  # CASME-coded-20190721.xlsx and older names
COLUMNS = ("Subject", "Filename", "OnsetF", "ApexF1", "OffsetF", "AU", "Emotion")
FRAME_FOLDERS = {"raw_selected": ("CASME_raw_selected", "CASME_RAW_selected"),
                 "cropped": ("CASME_cropped_selected", "CASME_Cropped_selected")}
# frames option -> what the frames show (Sample.frame_source).
FRAME_SOURCES = {"raw_selected": "uncropped", "cropped": "face_crop"}
# The coding sheet's labels, lower case (datasets.md section 4: happiness,
# surprise, disgust, repression and tense seen; the rest are the FG 2013
# paper's categories).
EMOTIONS = ("happiness", "surprise", "disgust", "repression", "tense", "fear", "sadness",
            "contempt")
# The 20190721 sheet notes that the FG 2013 'amusement' became 'happiness'.
_EMOTION_ALIASES = {"amusement": "happiness"}


def _reject_xls(path: str) -> None:
  """Raises DataError for a legacy .xls file, saying how to convert it."""
  if path.lower().endswith(".xls"):
    raise DataError(f"{path} is a legacy .xls file, which mer_jax does not read: open it "
                    "in a spreadsheet program, save it as .xlsx next to it, and pass that "
                    "file (coding=...) or put it in the dataset root")


def find_coding(root: str, coding: str | None = None) -> str:
  """The coding .xlsx: `coding` (absolute or relative to root), else CASME-coded*.xlsx.

  Raises:
    DataError: no coding file is found, or only a .xls one.
  """
  if coding:
    path = coding if os.path.isabs(coding) else os.path.join(root, coding)
    _reject_xls(path)
    return path
  bases = (root, os.path.join(root, os.path.basename(root.rstrip("/"))))
  found = sorted(p for b in bases for p in glob.glob(os.path.join(glob.escape(b), CODING_GLOB)))
  xlsx = [p for p in found if p.lower().endswith(".xlsx")]
  if xlsx:
    return xlsx[-1]  # the newest date sorts last
  if found:
    _reject_xls(found[-1])
  raise DataError(f"CASME coding file: expected {root}/CASME-coded-20190721.xlsx (or any "
                  f"{CODING_GLOB}, or coding=<file>.xlsx); none found")


def _frames_dir(root: str, frames: str) -> str:
  """<root>/CASME_{raw,cropped}_selected, or DataError."""
  if frames not in FRAME_FOLDERS:
    raise ConfigError(f"CASME frames={frames!r}; expected one of {list(FRAME_FOLDERS)}")
  return layout.find_dir(root, FRAME_FOLDERS[frames],
                         what=f"CASME frames ({frames}; expected <root>/"
                              f"{FRAME_FOLDERS[frames][0]}/sub01/EP01_5/...)")


def _row_key(row: ann.Row) -> str:
  """The row's 'casme/subject/clip' for messages, even when its cells are malformed."""
  try:
    subject = f"sub{ann.parse_subject(row, 'Subject'):02d}"
  except DataError:
    subject = ann.parse_text(row, "Subject") or "?"
  return f"{DATASET}/{subject}/{ann.parse_text(row, 'Filename') or '?'}"


def _apex_cell(row: ann.Row) -> int | None:
  """ApexF1, or None when it is empty or not a frame number (the apex policy repairs it)."""
  try:
    return ann.parse_frame(row, "ApexF1", optional=True)
  except DataError:
    return None


def _row_fields(row: ann.Row) -> dict:
  """The cells of one coding row, parsed (DataError names the file, row and field)."""
  clip = ann.parse_text(row, "Filename")
  if not clip:
    raise DataError(f"{row.where}: field 'Filename' is empty; expected a clip name "
                    "such as 'EP01_5'")
  emotion = ann.parse_text(row, "Emotion").lower()
  return {"subject": f"sub{ann.parse_subject(row, 'Subject'):02d}", "clip": clip,
          "onset": ann.parse_frame(row, "OnsetF", optional=True),
          "apex": _apex_cell(row),
          "offset": ann.parse_frame(row, "OffsetF", optional=True),
          "emotion": _EMOTION_ALIASES.get(emotion, emotion),
          "action_units": ann.parse_text(row, "AU")}


def _check_fields(row: ann.Row, f: dict) -> str | None:
  """Why the row cannot become a sample, or None."""
  where = row.where
  if f["onset"] is None or f["offset"] is None:
    return f"{where}: OnsetF or OffsetF is missing"
  if f["onset"] > f["offset"]:
    return f"{where}: OnsetF {f['onset']} is after OffsetF {f['offset']}"
  if ann.is_missing(f["emotion"]):
    return f"{where}: field 'Emotion' is empty"
  if f["emotion"] not in EMOTIONS:
    return (f"unknown label {row['Emotion']!r} in {where} (field 'Emotion'); expected one "
            f"of {list(EMOTIONS)}; correct the annotation file")
  return None


def _row_sample(row: ann.Row, frames_dir: str, policy: str, frame_source: str
                ) -> tuple[Sample | None, list]:
  """One coding row -> (Sample or None, exclusions and repair notes)."""
  try:
    f = _row_fields(row)
  except DataError as e:
    return None, [Exclusion(_row_key(row), str(e))]
  key = f"{DATASET}/{f['subject']}/{f['clip']}"
  if problem := _check_fields(row, f):
    return None, [Exclusion(key, problem)]
  apex, source, repair = apex_lib.resolve(key, f["onset"], f["apex"], f["offset"],
                                          "annotated")
  if repair is not None:
    repair = Exclusion(key, f"{row.where}, field 'ApexF1' is {row['ApexF1']!r}: "
                            f"{repair.reason}", repaired=True)
  sample = Sample(dataset=DATASET, subject=f["subject"], clip=f["clip"],
                  emotion=f["emotion"], onset=f["onset"], apex=apex, offset=f["offset"],
                  apex_source=source, action_units=f["action_units"])
  found, notes = layout.attach_frames(
      sample, os.path.join(frames_dir, f["subject"], f["clip"]), policy,
      frame_source=frame_source)
  if found is not None and policy == "annotated" and repair is not None:
    notes.append(repair)  # The repair matters only for the annotated apex.
  return found, notes


def load(root: str, *, apex: str = "annotated", frames: str = "raw_selected",
         coding: str | None = None) -> Scan:
  """Reads CASME (I): the coding sheet, checked against the frame folders.

  Args:
    root: the dataset folder (holding the coding .xlsx and the frame folders).
    apex: apex policy (data/apex.py); 'annotated' uses ApexF1.
    frames: 'raw_selected' (CASME_raw_selected) or 'cropped'
      (CASME_cropped_selected).
    coding: the coding .xlsx (absolute, or relative to `root`); default: the
      CASME-coded*.xlsx in `root`.

  Returns:
    Samples sorted by subject then clip (frame_source 'face_crop' for
    CASME_cropped_selected, else 'uncropped'), with the rows excluded or
    repaired.

  Raises:
    ConfigError: an unknown apex policy or frames option.
    DataError: a missing root, folder or coding file, or a missing column
      (naming the file and the header row).
  """
  apex_lib.check_policy(apex)
  layout.check_root(root, DATASET)
  frames_dir = _frames_dir(root, frames)
  rows = ann.read_sheet(find_coding(root, coding), header_row=1, required=COLUMNS)
  scan, seen = Scan([], []), {}
  for row in rows:
    sample, notes = _row_sample(row, frames_dir, apex, FRAME_SOURCES[frames])
    if sample is not None and sample.key in seen:
      sample, notes = None, [Exclusion(sample.key, f"{row.where}: the clip repeats "
                                                   f"{seen[sample.key]}")]
    if sample is not None:
      seen[sample.key] = row.where
      scan.samples.append(sample)
    scan.exclusions += notes
  scan.samples.sort(key=lambda s: (s.subject, s.clip))
  return scan
