"""Finding a corpus' folders under the root a user gives, and a clip's frames.

Corpora are unpacked in slightly different ways (`CASME2_RAW_selected/` or
`CASME2_RAW_selected/CASME2_RAW_selected/`, `Cropped/` or
`Cropped-updated/Cropped/`); adapters name the candidates and this module
finds the one present, or says what was expected.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from mer_jax.data import apex as apex_lib
from mer_jax.data.sample import Exclusion, Sample
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib


def check_root(root: str, dataset: str) -> str:
  """Returns `root` if it is an existing folder, else raises DataError."""
  if not root:
    raise DataError(f"no root folder for dataset {dataset!r}; set "
                    f"--config.data.roots.{dataset}=/path/to/{dataset}")
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


def select_frames(key: str, folder: str, onset: int, offset: int
                  ) -> tuple[tuple[str, ...], Exclusion | None]:
  """The frame files onset..offset of a clip folder, sorted by frame number.

  Returns:
    (paths, None) when every frame is there; (paths, repaired Exclusion) when
    extra frames outside onset..offset were ignored; ((), Exclusion) when the
    folder or a frame is missing (the sample must be left out).
  """
  if not os.path.isdir(folder):
    return (), Exclusion(key, f"sample folder {folder} does not exist")
  files = frames_lib.list_frame_files(folder)
  by_number = {}
  for path in files:
    by_number.setdefault(frames_lib.frame_number(path), path)
  wanted = range(onset, offset + 1)
  missing = [n for n in wanted if n not in by_number]
  if missing:
    shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
    return (), Exclusion(key, f"{folder}: {len(missing)} of the frames {onset}..{offset} "
                              f"are missing ({shown})")
  extra = len(by_number) - len(wanted)
  note = None
  if extra:
    note = Exclusion(key, f"{folder}: {extra} frame files outside onset..offset "
                          f"({onset}..{offset}) were ignored", repaired=True)
  return tuple(by_number[n] for n in wanted), note


def attach_frames(sample: Sample, folder: str, policy: str
                  ) -> tuple[Sample | None, list[Exclusion]]:
  """`sample` with its frames onset..offset from `folder` and its apex under `policy`.

  Under 'annotated' the sample keeps the apex its adapter resolved while
  parsing the annotation (with the adapter's own repair note, which names the
  row); under the other policies the apex is recomputed from the frames.
  A missing folder or frame, or a frame that cannot be read (frame_difference
  reads them), leaves only this sample out, with the reason.

  Returns:
    (the sample, or None when it is left out; exclusions and repair notes).
  """
  try:
    paths, note = select_frames(sample.key, folder, sample.onset, sample.offset)
    if not paths:
      return None, [note]
    apex, source = sample.apex, sample.apex_source
    if policy != "annotated":
      apex, source, _ = apex_lib.resolve(sample.key, sample.onset, None, sample.offset,
                                         policy, paths)
  except DataError as e:
    return None, [Exclusion(sample.key, str(e))]
  found = dataclasses.replace(sample, frame_paths=paths, apex=apex, apex_source=source)
  return found, [note] if note else []
