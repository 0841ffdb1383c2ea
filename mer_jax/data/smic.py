"""SMIC (short clips) adapter: HS, VIS and NIR subsets read from the folder tree.

SMIC ships no annotation spreadsheet for the short clips; everything comes
from the layout (shared/datasets.md, section 3):

  <root>/SMIC_all_raw/{HS,VIS,NIR}/s1/micro/{negative,positive,surprise}/
      s1_ne_01/image559757.bmp ...
  <root>/SMIC_all_raw/HS/s1/non_micro/...            (ignored)
  <root>/SMIC_all_cropped/{HS,VIS,NIR}/...           (frames='cropped')

A doubled top folder (`SMIC_all_raw/SMIC_all_raw/HS`) is found as well.

- Subject = the folder name ('s1', not zero-padded); clip = the clip folder
  name ('s1_ne_01'); emotion = the emotion folder name, lower case.
- Frame files are found by listing the clip folder (any image extension, any
  prefix: the raw 'image<N>.bmp' and the unverified cropped names alike) and
  sorted by frame number. The clip is already onset..offset, so onset and
  offset are the first and last frame numbers; a gap excludes the clip.
- SMIC annotates no apex. apex='annotated' therefore means 'midpoint' here:
  every clip gets the midpoint, and the Scan holds ONE repaired note for the
  whole dataset (key '<dataset>/*/*') instead of one per clip. Other policies
  ('midpoint', 'frame_difference', ...) apply as usual (data/apex.py).
- VIS and NIR are assumed to use the same tree and naming as HS; their frame
  names are unverified but any numbered image file is accepted.

  scan = load('/data/SMIC', subset='hs')   # dataset 'smic'
  scan = load('/data/SMIC', subset='vis')  # dataset 'smic_vis'
"""

from __future__ import annotations

import os
import re

from mer_jax.data import apex as apex_lib
from mer_jax.data import layout
from mer_jax.data.sample import Exclusion
from mer_jax.data.sample import Sample
from mer_jax.data.sample import Scan
from mer_jax.errors import ConfigError
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

EMOTIONS = ("negative", "positive", "surprise")
SUBSETS = {"hs": "HS", "vis": "VIS", "nir": "NIR"}
DATASET_NAMES = {"hs": "smic", "vis": "smic_vis", "nir": "smic_nir"}
FRAME_FOLDERS = {"raw": "SMIC_all_raw", "cropped": "SMIC_all_cropped"}
_SUBJECT = re.compile(r"s(\d+)", re.IGNORECASE)


def _check_options(apex: str, subset: str, frames: str) -> str:
  """Validates the options; returns the subset in lower case."""
  apex_lib.check_policy(apex)
  if subset.lower() not in SUBSETS:
    raise ConfigError(f"SMIC subset={subset!r}; expected one of {list(SUBSETS)}")
  if frames not in FRAME_FOLDERS:
    raise ConfigError(f"SMIC frames={frames!r}; expected one of {list(FRAME_FOLDERS)}")
  return subset.lower()


def _subset_dir(root: str, subset: str, frames: str) -> str:
  """<root>/SMIC_all_{raw,cropped}/<HS|VIS|NIR>, or DataError saying what was expected."""
  top, sub = FRAME_FOLDERS[frames], SUBSETS[subset]
  expected = f"{top}/{sub}/s<n>/micro/<negative|positive|surprise>/<clip>/image<N>.bmp"
  return layout.find_dir(root, [f"{top}/{sub}"],
                         what=f"SMIC-{sub} (expected {root}/{expected})")


def _subject_dirs(subset_dir: str) -> list[tuple[str, str]]:
  """(subject, folder) of every s<n> folder, sorted by subject number."""
  found = []
  for name in os.listdir(subset_dir):
    match = _SUBJECT.fullmatch(name)
    if match and os.path.isdir(os.path.join(subset_dir, name)):
      found.append((int(match.group(1)), name))
  if not found:
    raise DataError(f"{subset_dir}: no subject folders s1, s2, ... found")
  return [(name, os.path.join(subset_dir, name)) for _, name in sorted(found)]


def _subdirs(folder: str) -> list[str]:
  """Names of the sub-folders of `folder`, sorted ([] when it does not exist)."""
  if not os.path.isdir(folder):
    return []
  return sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))


def _frame_range(key: str, folder: str) -> tuple[int, int] | Exclusion:
  """(onset, offset): the first and last frame numbers of a clip folder, or an exclusion."""
  try:
    files = frames_lib.list_frame_files(folder)
  except DataError as e:
    return Exclusion(key, str(e))
  if not files:
    return Exclusion(key, f"{folder}: no frame files")
  return frames_lib.frame_number(files[0]), frames_lib.frame_number(files[-1])


def _load_clip(dataset: str, subject: str, emotion: str, folder: str,
               policy: str) -> tuple[Sample | None, Exclusion | None]:
  """One clip folder -> (Sample, None) or (None, Exclusion).

  The clip is already onset..offset; a gap in its frame numbers leaves it out.
  SMIC annotates no apex, so 'annotated' means the midpoint here.
  """
  clip = os.path.basename(folder)
  key = f"{dataset}/{subject}/{clip}"
  if emotion not in EMOTIONS:
    parent = os.path.dirname(folder)
    return None, Exclusion(key, f"emotion folder {parent} is not one of {list(EMOTIONS)}")
  found = _frame_range(key, folder)
  if isinstance(found, Exclusion):
    return None, found
  onset, offset = found
  sample = Sample(dataset=dataset, subject=subject, clip=clip, emotion=emotion,
                  onset=onset, apex=apex_lib.midpoint(onset, offset), offset=offset,
                  apex_source="midpoint")
  sample, notes = layout.attach_frames(sample, folder, policy)
  return sample, (notes[0] if notes else None)


def _load_subject(dataset: str, subject: str, folder: str, policy: str) -> Scan:
  """The clips under <subject>/micro/<emotion>/; non_micro is never read."""
  micro = os.path.join(folder, "micro")
  scan = Scan([], [])
  for emotion_dir in _subdirs(micro):
    for clip in _subdirs(os.path.join(micro, emotion_dir)):
      sample, problem = _load_clip(dataset, subject, emotion_dir.lower(),
                                   os.path.join(micro, emotion_dir, clip), policy)
      scan.samples += [sample] if sample else []
      scan.exclusions += [problem] if problem else []
  scan.samples.sort(key=lambda s: s.clip)
  return scan


def load(root: str, *, apex: str = "annotated", subset: str = "hs",
         frames: str = "raw") -> Scan:
  """Reads the SMIC short clips of one subset.

  Args:
    root: the folder that holds SMIC_all_raw/ (and SMIC_all_cropped/).
    apex: apex policy (data/apex.py); 'annotated' uses the midpoint, since
      SMIC has no apex annotation, and adds one repaired note.
    subset: 'hs' (dataset 'smic'), 'vis' ('smic_vis') or 'nir' ('smic_nir').
    frames: 'raw' (SMIC_all_raw) or 'cropped' (SMIC_all_cropped).

  Returns:
    Samples sorted by subject number then clip, and the clips left out.

  Raises:
    ConfigError: an unknown apex policy, subset or frames option.
    DataError: the root, the subset folder or any subject folder is missing.
  """
  subset = _check_options(apex, subset, frames)
  dataset = DATASET_NAMES[subset]
  subset_dir = _subset_dir(layout.check_root(root, dataset), subset, frames)
  policy = "midpoint" if apex == "annotated" else apex
  scan = Scan([], [])
  for subject, folder in _subject_dirs(subset_dir):
    part = _load_subject(dataset, subject, folder, policy)
    scan.samples += part.samples
    scan.exclusions += part.exclusions
  if apex == "annotated" and scan.samples:
    scan.exclusions.append(Exclusion(
        f"{dataset}/*/*", "SMIC has no apex annotation; apex='annotated' uses the "
        f"midpoint frame of every clip ({len(scan.samples)} clips)", repaired=True))
  return scan
