"""CAS(ME)^2 adapter: micro-expressions cut from the long videos of `rawpic/`.

Layout (shared/datasets.md, section 5):

  <root>/CAS(ME)^2code_final.xlsx    (or code_final.xlsx)
  <root>/rawpic/s15/15_0101disgustingteeth/img{n}.jpg    n = 1, 2, ... (absolute)

A doubled top folder (`rawpic/rawpic/`) is found too. The workbook has three
header-less sheets (verified for sheet 1; sheets 2 and 3 from two public
loaders, which read them as 'naming rule1' and 'naming rule2'):

1. one row per expression, columns A-I: subject number (1-22), video name
   ('anger1_1'), onset, apex, offset (0 = unknown), AUs, emotion category
   (negative/positive/surprise/others), type ('micro-expression' or
   'macro-expression'), self-reported emotion. Only micro rows are kept; a
   type that is neither raises DataError (it means shifted or missing columns).
2. subject number -> subject folder code ('s15'). ASSUMED layout: each row
   holds one folder code (a cell like 's15') and the subject number is the
   LAST integer cell of the row, so both '[x,] s15, 1' (what the public
   loaders read: code in column B, number in column C) and 'number, code'
   work.
3. video name without the '_<k>' suffix ('anger1') -> 4-digit video code
   ('0401'). ASSUMED layout: one integer-like cell (the code; 401 becomes
   '0401') and the name as the first text cell, in either order.
For sheets 2 and 3, a first row that does not parse is taken for a header and
skipped; any other such row raises DataError naming the file, sheet and row.

The video folder inside the subject folder is `<n>_<code><name>` with n the
folder code's number ('s15' -> '15_0101...'); it is found by that prefix (any
number before '_<code>' is accepted if the exact prefix is absent). Frames
onset..offset are taken from that long-video folder; the other frames are
expected and not reported. Subject = the folder code, clip = the video name,
emotion = the category, one of CATEGORIES (another word excludes the row:
'unknown label'). Frames are whole camera frames (frame_source 'uncropped').
An unknown offset (0) with a known apex is set to the apex (as in public
loaders) and reported as repaired; an unknown onset excludes the row; an
unknown or non-numeric apex goes through the apex policy. As for every
corpus (data/corpus.py, the one `load`), a malformed micro row (a subject,
video, onset or offset cell that does not parse, an offset before the onset,
an unknown category), a repeated clip, or a missing folder or frame is
excluded, the reason naming the file, sheet, row and column; blank rows are
skipped.

  scan = load('/data/CASME_sq')   # dataset 'casme_sq'
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from typing import Any, Iterator

from mer_jax.data import annotations as ann
from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus
from mer_jax.data import layout
from mer_jax.data.sample import Exclusion
from mer_jax.data.sample import Sample
from mer_jax.data.sample import Scan
from mer_jax.errors import DataError

DATASET = "casme_sq"
CODE_FILES = ("CAS(ME)^2code_final.xlsx", "code_final.xlsx")
TYPES = ("micro-expression", "macro-expression")
# Column G, the emotion category (datasets.md section 5).
CATEGORIES = ("negative", "positive", "surprise", "others")
SHEET1 = ("subject number, video name, onset, apex, offset, AUs, emotion category, "
          "type, self-reported emotion")
_FOLDER_CODE = re.compile(r"s(\d+)", re.IGNORECASE)
_SUFFIX = re.compile(r"(.+)_\d+")


def find_annotation(root: str) -> str:
  """The annotation workbook: a CODE_FILES name, else any *code_final*.xlsx."""
  try:
    return layout.find_file(root, CODE_FILES, what="CAS(ME)^2 annotation")
  except DataError:
    found = sorted(glob.glob(os.path.join(glob.escape(root), "*code_final*.xlsx")))
    if not found:
      raise
    return found[0]


def _int_value(value: Any) -> int | None:
  """An int from an int, a whole float or a digit string; None otherwise."""
  if isinstance(value, bool) or value is None:
    return None
  if isinstance(value, (int, float)):
    return int(value) if float(value).is_integer() else None
  text = str(value).strip()
  return int(text) if text.isdigit() else None


def _subject_entry(row: ann.Row) -> tuple[int, str] | None:
  """(subject number, folder code) of a sheet-2 row, or None if it has not both."""
  values = [v for v in row.cells.values() if not ann.is_missing(v)]
  codes = [str(v).strip() for v in values if _FOLDER_CODE.fullmatch(str(v).strip())]
  numbers = [n for v in values if (n := _int_value(v)) is not None]
  return (numbers[-1], codes[0]) if codes and numbers else None


def _video_entry(row: ann.Row) -> tuple[str, str] | None:
  """(video name, 4-digit code) of a sheet-3 row, or None if it has not both."""
  values = [v for v in row.cells.values() if not ann.is_missing(v)]
  codes = [n for v in values if (n := _int_value(v)) is not None]
  names = [str(v).strip() for v in values if _int_value(v) is None]
  if not codes or not names or codes[0] > 9999:
    return None
  return names[0], f"{codes[0]:04d}"


def _read(path: str, index: int, what: str) -> list[ann.Row]:
  """The rows of header-less sheet `index` (0-based), or DataError saying what it holds."""
  try:
    return ann.read_sheet(path, sheet=index, has_header=False)
  except DataError as e:
    raise DataError(f"{e}; CAS(ME)^2 expects sheet {index + 1} to hold {what}") from None


def _read_map(path: str, index: int, what: str,
              parse: Callable[[ann.Row], tuple[Any, str] | None]) -> dict:
  """A key -> value sheet; see the module docstring for the assumed layouts."""
  out: dict = {}
  for i, row in enumerate(_read(path, index, what)):
    entry = parse(row)
    if entry is None and i == 0:
      continue  # A header row.
    if entry is None:
      raise DataError(f"{row.where}: expected {what}; found "
                      f"{[v for v in row.cells.values() if v is not None]}")
    key, value = entry
    if out.get(key, value) != value:
      raise DataError(f"{row.where}: {key!r} maps to {value!r} here but to "
                      f"{out[key]!r} on an earlier row")
    out[key] = value
  if not out:
    raise DataError(f"{path}: sheet {index + 1} is empty; expected {what}")
  return out


def _frame(row: ann.Row, column: str) -> int | None:
  """A frame number; 0 (CAS(ME)^2's 'unknown') and empty cells give None."""
  return ann.parse_frame(row, column, optional=True) or None


def _is_micro(row: ann.Row) -> bool:
  """Whether a sheet-1 row is a micro-expression; DataError when column H is neither type."""
  kind = ann.parse_text(row, "H").lower()
  if kind not in TYPES:
    raise DataError(f"{row.where}: column H (type) is {row['H']!r}; expected one of "
                    f"{list(TYPES)} (sheet 1 has no header; columns A-I: {SHEET1})")
  return kind == "micro-expression"


def _apex(row: ann.Row) -> int | None:
  """Column D, or None when unknown or not a frame number (the apex policy repairs it)."""
  try:
    return _frame(row, "D")
  except DataError:
    return None


def _micro_fields(row: ann.Row) -> dict:
  """The parsed cells of a sheet-1 micro-expression row (DataError names file, row, column)."""
  video = ann.parse_text(row, "B")
  if not video:
    raise DataError(f"{row.where}: column B (video name, e.g. 'anger1_1') is empty")
  return {"number": ann.parse_subject(row, "A"), "video": video,
          "onset": _frame(row, "C"), "apex": _apex(row), "offset": _frame(row, "E"),
          "action_units": ann.parse_text(row, "F"),
          "emotion": ann.parse_text(row, "G").lower()}


def _row_key(row: ann.Row) -> str:
  """'casme_sq/<subject number>/<video>' of a row whose cells do not all parse."""
  return (f"{DATASET}/{ann.parse_text(row, 'A') or '?'}/"
          f"{ann.parse_text(row, 'B') or '?'}")


def _video_dir(subject_dir: str, code: str) -> tuple[str | None, str]:
  """(the `<n>_<code>*` folder in subject_dir, '') or (None, why not)."""
  number = _FOLDER_CODE.fullmatch(os.path.basename(subject_dir)).group(1)
  names = sorted(n for n in os.listdir(subject_dir)
                 if os.path.isdir(os.path.join(subject_dir, n)))
  found = ([n for n in names if n.startswith(f"{number}_{code}")]
           or [n for n in names if re.match(rf"\d+_{code}", n)])
  if len(found) != 1:
    return None, (f"{subject_dir}: expected one video folder named '{number}_{code}*', "
                  f"found {found or 'none'}")
  return os.path.join(subject_dir, found[0]), ""


def _locate(subjects: dict, videos: dict, folders: dict, rawpic: str, where: str,
            f: dict) -> tuple[str | None, str]:
  """(the clip's video folder, '') or (None, why it cannot be found)."""
  code = subjects.get(f["number"])
  if code is None:
    return None, f"{where}: subject {f['number']} is not in sheet 2 (naming rule1)"
  match = _SUFFIX.fullmatch(f["video"])
  base = match.group(1) if match else f["video"]
  if base not in videos:
    return None, f"{where}: video {base!r} is not in sheet 3 (naming rule2)"
  if code.lower() not in folders:
    return None, f"{where}: subject folder {rawpic}/{code} does not exist"
  return _video_dir(folders[code.lower()], videos[base])


def _repair_range(key: str, where: str, f: dict) -> tuple[str, Exclusion | None]:
  """('', repair note or None) for a usable onset..offset, or (why not, None)."""
  if f["onset"] is None:
    return f"{where}: the onset (column C) is unknown", None
  if f["offset"] is None and f["apex"] is None:
    return f"{where}: the offset and apex (columns E, D) are unknown", None
  note = None
  if f["offset"] is None:
    f["offset"] = f["apex"]
    note = Exclusion(key, f"{where}: the offset is unknown (0); using the apex "
                          f"{f['apex']} as the offset", repaired=True)
  if f["onset"] > f["offset"]:
    return f"{where}: onset {f['onset']} is after offset {f['offset']}", None
  return "", note


def _check_category(where: str, emotion: str) -> str:
  """Why the emotion category (column G) is unusable, or ''."""
  if not emotion:
    return f"{where}: the emotion category (column G) is empty"
  if emotion not in CATEGORIES:
    return (f"unknown label {emotion!r} in {where} (column G, emotion category); "
            f"expected one of {list(CATEGORIES)}; correct the annotation file")
  return ""


class CasmeSq(corpus.Corpus):
  """CAS(ME)^2: the micro rows of sheet 1, frames cut from the long videos of rawpic/."""

  title = "CAS(ME)^2"
  clip_field = "B"  # the video name
  note_extra = False  # a long-video folder always holds frames outside onset..offset

  def __init__(self, path: str, rawpic: str):
    self.subjects = _read_map(path, 1, "a subject number and its folder code "
                              "('s15') ('naming rule1')", _subject_entry)
    self.videos = _read_map(path, 2, "a video name ('anger1') and its 4-digit code "
                            "('0401') ('naming rule2')", _video_entry)
    self.folders = {n.lower(): os.path.join(rawpic, n) for n in os.listdir(rawpic)
                    if os.path.isdir(os.path.join(rawpic, n))}
    self.path, self.rawpic = path, rawpic

  def rows(self) -> Iterator[corpus.Entry | Exclusion | None]:
    for row in _read(self.path, 0, f"the expressions ({SHEET1})"):
      yield self._row(row)

  def _row(self, row: ann.Row) -> corpus.Entry | Exclusion | None:
    """One sheet-1 row -> its Entry, its Exclusion, or None for a macro row."""
    if not _is_micro(row):
      return None
    try:
      f = _micro_fields(row)
    except DataError as e:
      return Exclusion(_row_key(row), str(e))
    folder, why = _locate(self.subjects, self.videos, self.folders, self.rawpic,
                          row.where, f)
    subject = (os.path.basename(os.path.dirname(folder)) if folder
               else self.subjects.get(f["number"], str(f["number"])))
    key = f"{DATASET}/{subject}/{f['video']}"
    why = why or _check_category(row.where, f["emotion"])
    range_note = None
    if not why:
      why, range_note = _repair_range(key, row.where, f)
    if why:
      return Exclusion(key, why)
    apex, source, apex_note = corpus.repair_apex(f"{row.where}, column D (apex)", key,
                                                 f["onset"], f["apex"], f["offset"])
    sample = Sample(dataset=DATASET, subject=subject, clip=f["video"], emotion=f["emotion"],
                    onset=f["onset"], apex=apex, offset=f["offset"], apex_source=source,
                    action_units=f["action_units"])
    return corpus.Entry(sample, row.where, folder, apex_note,
                        (range_note,) if range_note else ())


def load(root: str, *, apex: str = "annotated") -> Scan:
  """Reads the CAS(ME)^2 micro-expressions.

  Args:
    root: the folder holding the annotation workbook and rawpic/.
    apex: apex policy (data/apex.py); 'annotated' uses column D.

  Returns:
    Samples sorted by subject then clip, with the rows excluded or repaired.

  Raises:
    ConfigError: an unknown apex policy.
    DataError: a missing root, rawpic/ or workbook, a sheet that does not
      have the expected layout, or a sheet-1 row whose column H is not a type
      (shifted or missing columns), naming the file and row.
  """
  apex_lib.check_policy(apex)
  layout.check_root(root, DATASET)
  rawpic = layout.find_dir(root, ["rawpic"], what="CAS(ME)^2 frames (expected "
                           "<root>/rawpic/s15/15_0101disgustingteeth/img1.jpg ...)")
  return corpus.load(CasmeSq(find_annotation(root), rawpic), apex)
