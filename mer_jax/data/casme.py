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
repairs it to the midpoint, listed in `Scan.repaired`). As for every
corpus (data/corpus.py, the one `load`), a malformed row (a subject,
Filename, OnsetF or OffsetF cell that does not parse, a missing onset or
offset, OffsetF before OnsetF, an empty emotion or one that is not in
EMOTIONS), a missing frame folder or frame, or a repeated clip is excluded,
the reason naming the file, row and field (`Scan.excluded`); blank rows are
skipped. A missing column raises
DataError naming the file and the header row.

  scan = load('/data/CASME')                       # dataset 'casme'
  scan = load('/data/CASME', frames='cropped', coding='casme.xlsx')
"""

from __future__ import annotations

import glob
import os
from typing import Iterator

from mer_jax.data import annotations as ann
from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus
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


def find_annotation(root: str, coding: str | None = None) -> str:
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


def _parse_emotion(row: ann.Row) -> str:
  """The Emotion cell, lower case and de-aliased; DataError when empty or unknown."""
  emotion = ann.parse_text(row, "Emotion").lower()
  if not emotion:
    raise DataError(f"{row.where}: field 'Emotion' is empty; expected one of "
                    f"{list(EMOTIONS)}")
  emotion = _EMOTION_ALIASES.get(emotion, emotion)
  if emotion not in EMOTIONS:
    raise DataError(f"unknown label {row['Emotion']!r} in {row.where} (field 'Emotion'); "
                    f"expected one of {list(EMOTIONS)}; correct the annotation file")
  return emotion


def _parse_row(row: ann.Row, frames_dir: str) -> corpus.Entry:
  """One coding row -> its Entry (DataError names the file, row and field)."""
  subject = f"sub{ann.parse_subject(row, 'Subject'):02d}"
  clip = ann.parse_text(row, "Filename")
  if not clip:
    raise DataError(f"{row.where}: field 'Filename' is empty; expected a clip name "
                    "such as 'EP01_5'")
  onset, offset = ann.parse_frame(row, "OnsetF"), ann.parse_frame(row, "OffsetF")
  if onset > offset:
    raise DataError(f"{row.where}: OnsetF {onset} is after OffsetF {offset}; expected "
                    "onset <= offset")
  emotion = _parse_emotion(row)
  key = f"{DATASET}/{subject}/{clip}"
  apex, source, note = corpus.annotated_apex(row, "ApexF1", key, onset, offset)
  sample = Sample(dataset=DATASET, subject=subject, clip=clip, emotion=emotion,
                  onset=onset, apex=apex, offset=offset, apex_source=source,
                  action_units=ann.parse_text(row, "AU"))
  return corpus.Entry(sample, row.where, os.path.join(frames_dir, subject, clip), note)


class Casme(corpus.Corpus):
  """CASME (I) under one root: the coding sheet's rows, frames from one folder."""

  title = "CASME (I)"

  def __init__(self, root: str, frames: str = "raw_selected", coding: str | None = None):
    layout.check_root(root, DATASET)
    self.frames_dir = _frames_dir(root, frames)
    self.frame_source = FRAME_SOURCES[frames]
    self.path = find_annotation(root, coding)

  def rows(self) -> Iterator[corpus.Entry | Exclusion]:
    for row in ann.read_sheet(self.path, header_row=1, required=COLUMNS):
      try:
        yield _parse_row(row, self.frames_dir)
      except DataError as e:
        yield Exclusion(corpus.row_key(DATASET, row, "sub{:02d}"), str(e))


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
  return corpus.load(Casme(root, frames, coding), apex)
