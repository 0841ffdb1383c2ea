"""SMIC (short clips) adapter: HS, VIS and NIR subsets read from the folder tree.

SMIC ships no annotation spreadsheet for the short clips; everything comes
from the layout (shared/datasets.md, section 3):

  <root>/SMIC_all_raw/{HS,VIS,NIR}/s1/micro/{negative,positive,surprise}/
      s1_ne_01/image559757.bmp ...
  <root>/SMIC_all_raw/HS/s1/non_micro/...            (ignored)
  <root>/SMIC_all_cropped/{HS,VIS,NIR}/...           (frames='cropped')

A doubled top folder (`SMIC_all_raw/SMIC_all_raw/HS`) is found as well.

Which tree: frames='auto' (the default; '' means the same) takes whichever
of SMIC_all_raw/<subset> and SMIC_all_cropped/<subset> exists, and when both
do, SMIC_all_cropped: the official face crops, as in the MEGC 2019
distribution. frames='raw' or 'cropped' asks for one tree; when it is
missing the error names both trees and suggests frames='auto'. Cropped
clips get frame_source 'face_crop', raw ones 'uncropped' (whole camera
frames).

- Subject = the folder name ('s1', not zero-padded); clip = the clip folder
  name ('s1_ne_01'); emotion = the emotion folder name, lower case.
- Frame files are found by listing the clip folder (any image extension, any
  prefix: the raw 'image<N>.bmp' and the unverified cropped names alike) and
  sorted by frame number; an image without a frame number ('cover.jpg') is
  ignored, with one repaired note for the clip. The clip is already
  onset..offset, so onset and offset are the first and last frame numbers;
  a gap excludes the clip.
- SMIC annotates no apex. apex='annotated' therefore means 'midpoint' here:
  every clip gets the midpoint, and the Scan holds ONE repaired note for the
  whole dataset (key '<dataset>/*/*') instead of one per clip. Other policies
  ('midpoint', 'frame_difference', ...) apply as usual (data/apex.py).
- Each clip folder is a row of the one corpus load (data/corpus.py): a clip
  folder name that repeats under another emotion folder is excluded once.
- VIS and NIR are assumed to use the same tree and naming as HS; their frame
  names are unverified but any numbered image file is accepted.

  scan = load('/data/SMIC', subset='hs')   # dataset 'smic'
  scan = load('/data/SMIC', subset='vis')  # dataset 'smic_vis'
"""

from __future__ import annotations

import os
import re
from typing import Iterator

from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus
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
FRAME_OPTIONS = ("auto",) + tuple(FRAME_FOLDERS)
# The tree 'auto' prefers when both exist (the MEGC 2019 distribution's).
AUTO_PREFERENCE = ("cropped", "raw")
FRAME_SOURCES = {"raw": "uncropped", "cropped": "face_crop"}
_SUBJECT = re.compile(r"s(\d+)", re.IGNORECASE)


def _check_options(apex: str, subset: str, frames: str) -> tuple[str, str]:
  """Validates the options; returns (subset in lower case, frames with '' -> 'auto')."""
  apex_lib.check_policy(apex)
  if subset.lower() not in SUBSETS:
    raise ConfigError(f"SMIC subset={subset!r}; expected one of {list(SUBSETS)}")
  frames = frames or "auto"
  if frames not in FRAME_OPTIONS:
    raise ConfigError(f"SMIC frames={frames!r}; expected one of {list(FRAME_OPTIONS)}")
  return subset.lower(), frames


def _find_tree(root: str, subset: str, frames: str) -> str | None:
  """<root>/SMIC_all_{raw,cropped}/<HS|VIS|NIR> (also doubled), or None."""
  try:
    return layout.find_dir(root, [f"{FRAME_FOLDERS[frames]}/{SUBSETS[subset]}"],
                           what="SMIC")
  except DataError:
    return None


def _subset_dir(root: str, subset: str, frames: str) -> tuple[str, str]:
  """(the subset folder, 'raw' or 'cropped'), or DataError naming both trees.

  frames='auto' takes the tree that exists, SMIC_all_cropped when both do.
  """
  sub = SUBSETS[subset]
  found = {f: _find_tree(root, subset, f) for f in FRAME_FOLDERS}
  wanted = AUTO_PREFERENCE if frames == "auto" else (frames,)
  for f in wanted:
    if found[f] is not None:
      return found[f], f
  trees = " nor ".join(f"{root}/{FRAME_FOLDERS[f]}/{sub}" for f in AUTO_PREFERENCE)
  layout_hint = f"<tree>/{sub}/s<n>/micro/<negative|positive|surprise>/<clip>/image<N>.bmp"
  if frames == "auto":
    raise DataError(f"SMIC-{sub}: neither {trees} exists (also looked for a doubled top "
                    f"folder); expected {layout_hint}")
  other = next(f for f in FRAME_FOLDERS if f != frames)
  there = (f"{FRAME_FOLDERS[other]}/{sub} exists" if found[other]
           else f"neither {trees} exists")
  raise DataError(f"SMIC-{sub}: frames={frames!r} needs {root}/{FRAME_FOLDERS[frames]}/"
                  f"{sub}, which does not exist ({there}); set frames='auto' to use "
                  "whichever tree is there")


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
  """(onset, offset): the first and last frame numbers of a clip folder, or an exclusion.

  Images without a frame number ('cover.jpg') are not frames; the note that
  they were ignored comes from layout.attach_frames, once per clip.
  """
  try:
    files = frames_lib.list_frame_files(folder)
  except DataError as e:
    return Exclusion(key, str(e))
  if not files:
    return Exclusion(key, f"{folder}: no frame files")
  return frames_lib.frame_number(files[0]), frames_lib.frame_number(files[-1])


def _clip_entry(dataset: str, subject: str, emotion: str, folder: str
                ) -> corpus.Entry | Exclusion:
  """One clip folder -> its Entry, or its Exclusion (unknown emotion, no frames).

  The clip is already onset..offset; SMIC annotates no apex, so the apex is
  the midpoint (under 'annotated' too).
  """
  clip = os.path.basename(folder)
  key = f"{dataset}/{subject}/{clip}"
  if emotion not in EMOTIONS:
    parent = os.path.dirname(folder)
    return Exclusion(key, f"emotion folder {parent} is not one of {list(EMOTIONS)}")
  found = _frame_range(key, folder)
  if isinstance(found, Exclusion):
    return found
  onset, offset = found
  sample = Sample(dataset=dataset, subject=subject, clip=clip, emotion=emotion,
                  onset=onset, apex=apex_lib.midpoint(onset, offset), offset=offset,
                  apex_source="midpoint")
  return corpus.Entry(sample, folder, folder)


class Smic(corpus.Corpus):
  """One SMIC subset: a row per clip folder <subject>/micro/<emotion>/<clip>/."""

  title = "SMIC"
  clip_field = "clip folder"
  annotates_apex = False

  def __init__(self, dataset: str, subset_dir: str, tree: str):
    self.dataset, self.subset_dir = dataset, subset_dir
    self.frame_source = FRAME_SOURCES[tree]

  def rows(self) -> Iterator[corpus.Entry | Exclusion]:
    """The clips under <subject>/micro/<emotion>/; non_micro is never read."""
    for subject, folder in _subject_dirs(self.subset_dir):
      micro = os.path.join(folder, "micro")
      for emotion_dir in _subdirs(micro):
        for clip in _subdirs(os.path.join(micro, emotion_dir)):
          yield _clip_entry(self.dataset, subject, emotion_dir.lower(),
                            os.path.join(micro, emotion_dir, clip))

  def sort_key(self, sample: Sample) -> tuple[int, str]:
    """By subject number (s2 before s10), then clip."""
    return int(_SUBJECT.fullmatch(sample.subject).group(1)), sample.clip


def load(root: str, *, apex: str = "annotated", subset: str = "hs",
         frames: str = "auto") -> Scan:
  """Reads the SMIC short clips of one subset.

  Args:
    root: the folder that holds SMIC_all_raw/ (and SMIC_all_cropped/).
    apex: apex policy (data/apex.py); 'annotated' uses the midpoint, since
      SMIC has no apex annotation, and adds one repaired note.
    subset: 'hs' (dataset 'smic'), 'vis' ('smic_vis') or 'nir' ('smic_nir').
    frames: 'auto' (or ''): SMIC_all_cropped when it holds the subset,
      else SMIC_all_raw; 'raw' (SMIC_all_raw) or 'cropped' (SMIC_all_cropped)
      to ask for one tree.

  Returns:
    Samples sorted by subject number then clip (frame_source 'face_crop'
    from SMIC_all_cropped, 'uncropped' from SMIC_all_raw), and the clips left
    out or repaired.

  Raises:
    ConfigError: an unknown apex policy, subset or frames option.
    DataError: the root or the subset folder (of the tree asked for, or of
      both trees under 'auto') is missing, or it has no subject folders.
  """
  subset, frames = _check_options(apex, subset, frames)
  dataset = DATASET_NAMES[subset]
  subset_dir, tree = _subset_dir(layout.check_root(root, dataset), subset, frames)
  return corpus.load(Smic(dataset, subset_dir, tree), apex)
