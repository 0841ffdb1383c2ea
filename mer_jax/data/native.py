"""The "native" on-disk layout of a micro-expression dataset: write and read.

  <root>/annotations.csv                      one row per clip, columns COLUMNS
  <root>/<subject>/<clip>/img<frame>.png      frames onset..offset, absolute numbers

The annotation columns are subject, clip, onset, apex, offset, emotion,
action_units and objective_class (may be empty). `python -m
mer_jax.data.synthetic` writes the built-in synthetic dataset in this layout.

  path = write_native(data, '/tmp/synth')  # data: synthetic.SyntheticData
  samples = load_native('/tmp/synth')      # Sample.frame_paths filled
"""

from __future__ import annotations

import csv
import os
from typing import TYPE_CHECKING

from mer_jax.data.sample import Sample
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

if TYPE_CHECKING:
  from mer_jax.data.synthetic import SyntheticData

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


def _list_frames(where: str, folder: str, onset: int, offset: int) -> tuple[str, ...]:
  """The frame files of `folder`, which must be exactly onset..offset."""
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
  return tuple(paths)


def _parse_row(where: str, row: dict, root: str, dataset: str,
               apex_source: str) -> Sample:
  """One annotation row -> a validated Sample with its frame_paths."""
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
  return Sample(dataset=dataset, subject=text["subject"], clip=text["clip"],
                emotion=text["emotion"].lower(), onset=onset, apex=apex, offset=offset,
                apex_source=apex_source, action_units=text["action_units"],
                objective_class=_parse_int(where, row, "objective_class"),
                frame_paths=_list_frames(where, folder, onset, offset),
                frame_source="face_crop")  # the built-in faces fill their frames


def load_native(root: str, dataset: str = "synthetic",
                apex_source: str = "synthetic") -> list[Sample]:
  """Reads a dataset in the native layout (as `write_native` writes it).

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
  path = os.path.join(root, "annotations.csv")
  if not os.path.isfile(path):
    raise DataError(f"{path}: annotation file not found (native layout expected)")
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    header = [h.strip() for h in reader.fieldnames or []]
    if missing := [c for c in COLUMNS if c not in header]:
      raise DataError(f"{path}, line 1 (header): missing column(s) {missing}; "
                      f"expected {list(COLUMNS)}, found {header}")
    reader.fieldnames = header
    rows = list(reader)
  samples, seen = [], {}
  for line, row in enumerate(rows, start=2):
    sample = _parse_row(f"{path}, line {line}", row, root, dataset, apex_source)
    if (key := (sample.subject, sample.clip)) in seen:
      raise DataError(f"{path}, line {line}: clip {key} repeats line {seen[key]}")
    seen[key] = line
    samples.append(sample)
  return samples
