"""Finding a corpus' folders under the root a user gives, and a clip's frames.

Corpora are unpacked in slightly different ways (`CASME2_RAW_selected/` or
`CASME2_RAW_selected/CASME2_RAW_selected/`, `Cropped/` or
`Cropped-updated/Cropped/`); adapters name the candidates and this module
finds the one present, or says what was expected (`holds_any` tells which
corpus' marks a folder has, for an error about a root of another corpus).
`attach_frames` gives a
sample its frames onset..offset (and what they show, `frame_source`), noting
ignored files: frames outside onset..offset, and images without a frame
number ('cover.jpg'), ONE note per clip.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from typing import Sequence

from mer_jax.data import apex as apex_lib
from mer_jax.data import root_settings
from mer_jax.data.sample import Exclusion, FRAME_SOURCES, Sample
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib


def check_root(root: str, dataset: str) -> str:
  """Returns `root` if it is an existing folder, else raises DataError."""
  if not root:
    how = (root_settings.how_to_set(dataset) if dataset in root_settings.DISTRIBUTED_NAMES
           else f"set --config.data.roots.{dataset}=/path/to/it")
    raise DataError(f"no root folder for dataset {dataset!r}; {how} (or try a config's "
                    "':demo' variant, which runs on the built-in data)")
  if not os.path.isdir(root):
    raise DataError(f"the root of dataset {dataset!r}, {root}, is not a folder")
  return root


def find_dir(root: str, candidates: Sequence[str], *, what: str) -> str:
  """The first candidate folder under `root` that exists, also one level doubled.

  Each candidate 'A/B' is tried as root/A/A/B first (an archive that unpacks
  into a folder of its own name inside the folder the user made), then as
  root/A/B.
  """
  tried = []
  for rel in candidates:
    parts = rel.split("/")
    for path in (os.path.join(root, parts[0], *parts), os.path.join(root, *parts)):
      tried.append(path)
      if os.path.isdir(path):
        return path
  raise DataError(f"{what}: none of these folders exists: {', '.join(tried)}")


def find_file(root: str, candidates: Sequence[str], *, what: str,
              root_holds: str | None = None) -> str:
  """The first candidate file under `root` (or in a doubled top folder) that exists.

  Raises DataError listing the paths tried; with `root_holds` (what a root of
  this dataset contains), the message says `root` does not look like one.
  """
  tried = []
  for rel in candidates:
    for base in (root, os.path.join(root, os.path.basename(root.rstrip("/")))):
      path = os.path.join(base, rel)
      tried.append(path)
      if os.path.isfile(path):
        return path
  missing = f"{what}: none of these files exists: {', '.join(tried)}"
  if root_holds:
    raise DataError(f"{root} does not look like {root_holds} ({missing})")
  raise DataError(missing)


def holds_any(root: str, patterns: Sequence[str]) -> list[str]:
  """What matches the glob `patterns` under `root` (or its doubled top folder), relative
  to `root`: the first match of each pattern that matches, in pattern order."""
  bases = (root, os.path.join(root, os.path.basename(root.rstrip("/"))))
  found = []
  for pattern in patterns:
    matches = sorted(m for base in bases
                     for m in glob.glob(os.path.join(glob.escape(base), pattern)))
    found += [os.path.relpath(matches[0], root)] if matches else []
  return found


def stray_note(key: str, folder: str, names: Sequence[str]) -> Exclusion | None:
  """The one repaired note for images without a frame number in a clip folder, or None.

  '<folder>: cover.jpg has no frame number; ignored' (several names: 'have').
  """
  if not names:
    return None
  verb = "has" if len(names) == 1 else "have"
  return Exclusion(key, f"{folder}: {', '.join(names)} {verb} no frame number; ignored",
                   repaired=True)


def select_frames(key: str, folder: str, onset: int, offset: int, *,
                  note_extra: bool = True
                  ) -> tuple[tuple[str, ...], list[Exclusion]]:
  """The frame files onset..offset of a clip folder, sorted by frame number.

  Args:
    key: the sample's key, for the notes.
    folder: the clip folder.
    onset, offset: the frame numbers wanted (inclusive).
    note_extra: note frames outside onset..offset (False for folders that
      always hold more, such as CAS(ME)^2's long videos).

  Returns:
    (paths, notes): the frames and repaired notes (frames outside
    onset..offset ignored; ONE note for images without a frame number, such
    as 'cover.jpg'); or ((), [the exclusion]) when the folder or a frame is
    missing (the sample must be left out).
  """
  if not os.path.isdir(folder):
    return (), [Exclusion(key, f"sample folder {folder} does not exist")]
  files, stray = frames_lib.split_frame_files(folder)
  by_number = {}
  for path in files:
    by_number.setdefault(frames_lib.frame_number(path), path)
  wanted = range(onset, offset + 1)
  missing = [n for n in wanted if n not in by_number]
  if missing:
    shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
    return (), [Exclusion(key, f"{folder}: {len(missing)} of the frames {onset}..{offset} "
                               f"are missing ({shown})")]
  notes = [n for n in (stray_note(key, folder, stray),) if n]
  extra = len(by_number) - len(wanted)
  if extra and note_extra:
    notes.append(Exclusion(key, f"{folder}: {extra} frame files outside onset..offset "
                                f"({onset}..{offset}) were ignored", repaired=True))
  return tuple(by_number[n] for n in wanted), notes


def attach_frames(sample: Sample, folder: str, policy: str, *,
                  frame_source: str | None = None, note_extra: bool = True
                  ) -> tuple[Sample | None, list[Exclusion]]:
  """`sample` with its frames onset..offset from `folder` and its apex under `policy`.

  Under 'annotated' the sample keeps the apex its adapter resolved while
  parsing the annotation (with the adapter's own repair note, which names the
  row); under the other policies the apex is recomputed from the frames.
  A missing folder or frame, or a frame that cannot be read (frame_difference
  reads them), leaves only this sample out, with the reason.

  Args:
    sample: the sample as parsed from the annotation (no frame paths).
    folder: its clip folder.
    policy: the apex policy (data/apex.py).
    frame_source: when given, set on the sample ('face_crop' or 'uncropped',
      what the adapter's frame folder shows).
    note_extra: as in `select_frames`.

  Returns:
    (the sample, or None when it is left out; exclusions and repair notes).
  """
  if frame_source is not None and frame_source not in FRAME_SOURCES:
    raise ValueError(f"frame_source={frame_source!r}; expected one of {FRAME_SOURCES}")
  try:
    paths, notes = select_frames(sample.key, folder, sample.onset, sample.offset,
                                 note_extra=note_extra)
    if not paths:
      return None, notes
    apex, source = sample.apex, sample.apex_source
    if policy != "annotated":
      apex, source, _ = apex_lib.resolve(sample.key, sample.onset, None, sample.offset,
                                         policy, paths)
  except DataError as e:
    return None, [Exclusion(sample.key, str(e))]
  found = dataclasses.replace(sample, frame_paths=paths, apex=apex, apex_source=source,
                              frame_source=frame_source or sample.frame_source)
  return found, notes
