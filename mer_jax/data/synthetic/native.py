"""The "native" on-disk layout of a micro-expression dataset: write and read.

  <root>/annotations.csv                      one row per clip, columns COLUMNS
  <root>/<subject>/<clip>/img<frame>.png      frames onset..offset, absolute numbers

The annotation columns are subject, clip, onset, apex, offset, emotion,
action_units and objective_class (may be empty). `python -m
mer_jax.data.synthetic` writes the built-in synthetic dataset in this layout.
Reading goes through the one corpus load (data/corpus.py) like every corpus;
the layout is written by code, so `load_native` is strict: any row the load
excludes (a malformed cell, an apex outside onset..offset, a repeated clip,
frame files that are not exactly onset..offset) raises DataError naming the
file, line and field.

  path = write_native(data, '/tmp/synth')  # data: synthetic.SyntheticData
  samples = load_native('/tmp/synth')      # Sample.frame_paths filled
  scan = load('/tmp/synth')                # the Scan, exclusions listed
"""

from __future__ import annotations

import csv
import os
from typing import TYPE_CHECKING, Iterator

from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

if TYPE_CHECKING:
  from mer_jax.data.synthetic.generator import SyntheticData

COLUMNS = ("subject", "clip", "onset", "apex", "offset", "emotion",
           "action_units", "objective_class")


def write_native(data: SyntheticData, out_dir: str) -> str:
  """Writes out_dir/annotations.csv and out_dir/<subject>/<clip>/img<N>.png.

  N is the absolute frame number (onset..offset), as in the real corpora.
  Returns the path of the annotation file.
  """
  for s, video in zip(data.samples, data.videos):
    folder = os.path.join(out_dir, s.subject, s.clip)
    if os.path.isdir(folder):  # frames of an earlier run would not match onset..offset
      for old in frames_lib.list_frame_files(folder):
        os.remove(old)
    frames_lib.write_frames(video, folder, s.onset)
  path = os.path.join(out_dir, "annotations.csv")
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(COLUMNS)
    writer.writerows([s.subject, s.clip, s.onset, s.apex, s.offset, s.emotion,
                      s.action_units, "" if s.objective_class is None else s.objective_class]
                     for s in data.samples)
  return path


def _parse_int(where: str, row: dict, field: str) -> int | None:
  """row[field] as an int (None if empty), or DataError naming file, line, field."""
  text = (row[field] or "").strip()
  try:
    return int(text) if text else None
  except ValueError:
    raise DataError(f"{where}, field {field!r}: expected an integer, got {text!r}"
                    ) from None


def _check_frames(where: str, folder: str, onset: int, offset: int) -> None:
  """Raises DataError unless the frame files of `folder` are exactly onset..offset."""
  try:
    paths = frames_lib.list_frame_files(folder)
  except DataError as e:
    raise DataError(f"{where}: {e}") from None
  numbers = [frames_lib.frame_number(p) for p in paths]
  if numbers != list(range(onset, offset + 1)):
    missing = sorted(set(range(onset, offset + 1)) - set(numbers))
    raise DataError(f"{where}: frame files in {folder} do not match onset..offset "
                    f"{onset}..{offset}: found {len(numbers)} files numbered "
                    f"{numbers[:1]}..{numbers[-1:]}, missing {missing[:10]}")


def _parse_row(where: str, row: dict, root: str, dataset: str,
               apex_source: str) -> corpus.Entry:
  """One annotation row -> a validated Entry (its folder checked to hold onset..offset)."""
  text = {k: (row[k] or "").strip() for k in ("subject", "clip", "emotion", "action_units")}
  for field in ("subject", "clip", "emotion"):
    if not text[field]:
      raise DataError(f"{where}, field {field!r}: empty")
  onset, apex, offset = (_parse_int(where, row, f) for f in ("onset", "apex", "offset"))
  if None in (onset, apex, offset):
    raise DataError(f"{where}: onset, apex and offset must all be given")
  if not onset <= apex <= offset:
    raise DataError(f"{where}, field 'apex': apex {apex} is outside onset..offset "
                    f"{onset}..{offset}")
  folder = os.path.join(root, text["subject"], text["clip"])
  _check_frames(where, folder, onset, offset)
  sample = Sample(dataset=dataset, subject=text["subject"], clip=text["clip"],
                  emotion=text["emotion"].lower(), onset=onset, apex=apex, offset=offset,
                  apex_source=apex_source, action_units=text["action_units"],
                  objective_class=_parse_int(where, row, "objective_class"))
  return corpus.Entry(sample, where, folder)


def _read_csv(path: str) -> list[dict]:
  """The rows of annotations.csv; DataError when it or a column is missing."""
  if not os.path.isfile(path):
    raise DataError(f"{path}: annotation file not found (native layout expected)")
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    header = [h.strip() for h in reader.fieldnames or []]
    if missing := [c for c in COLUMNS if c not in header]:
      raise DataError(f"{path}, line 1 (header): missing column(s) {missing}; "
                      f"expected {list(COLUMNS)}, found {header}")
    reader.fieldnames = header
    return list(reader)


class Native(corpus.Corpus):
  """The native layout under one root: a row per line of annotations.csv."""

  title = "the native layout"
  clip_field = "clip"
  frame_source = "face_crop"  # the built-in faces fill their frames

  def __init__(self, root: str, dataset: str = "synthetic", apex_source: str = "synthetic"):
    self.path = os.path.join(root, "annotations.csv")
    self.rows_read = _read_csv(self.path)
    self.root, self.dataset, self.apex_source = root, dataset, apex_source

  def rows(self) -> Iterator[corpus.Entry | Exclusion]:
    for line, row in enumerate(self.rows_read, start=2):
      where = f"{self.path}, line {line}"
      try:
        yield _parse_row(where, row, self.root, self.dataset, self.apex_source)
      except DataError as e:
        key = f"{self.dataset}/{(row['subject'] or '?').strip()}/{(row['clip'] or '?').strip()}"
        yield Exclusion(key, str(e))

  def sort_key(self, sample: Sample) -> int:
    """File order: the native layout keeps the order it was written in."""
    return 0


def load(root: str, *, apex: str = "annotated", dataset: str = "synthetic",
         apex_source: str = "synthetic") -> Scan:
  """Reads a dataset in the native layout through the one corpus load.

  Args:
    root: folder with annotations.csv and <subject>/<clip>/img<N>.png.
    apex: apex policy (data/apex.py); 'annotated' keeps the CSV's apex.
    dataset: the value of `Sample.dataset`.
    apex_source: the value of `Sample.apex_source` under 'annotated' (the CSV
      has no column).

  Returns:
    Scan: the samples in file order; the rows excluded, naming file, line and field.

  Raises:
    DataError: the CSV or a column is missing.
  """
  apex_lib.check_policy(apex)
  return corpus.load(Native(root, dataset, apex_source), apex)


def load_native(root: str, dataset: str = "synthetic",
                apex_source: str = "synthetic") -> list[Sample]:
  """Reads a dataset in the native layout (as `write_native` writes it), strictly.

  Args:
    root: folder with annotations.csv and <subject>/<clip>/img<N>.png.
    dataset: the value of `Sample.dataset`.
    apex_source: the value of `Sample.apex_source` (the CSV has no column).

  Returns:
    The samples in file order, frame_paths sorted by frame number,
    frame_source 'face_crop' (the synthetic faces fill their frames).

  Raises:
    DataError: naming the file, line and field, when the CSV or a column is
      missing, a frame number is not an integer, apex is outside
      onset..offset, a clip repeats, or the frame files do not match.
  """
  scan = load(root, dataset=dataset, apex_source=apex_source)
  if scan.excluded:
    raise DataError(scan.excluded[0].reason)
  return scan.samples
