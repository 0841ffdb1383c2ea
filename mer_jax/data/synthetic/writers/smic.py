"""Writes a synthetic dataset in the exact on-disk layout of SMIC (short clips).

  <out>/SMIC_all_raw/<HS|VIS|NIR>/s<n>/micro/<emotion>/s<n>_<ne|po|sur>_<NN>/image<N>.bmp
  <out>/SMIC_all_raw/<subset>/s<n>/non_micro/s<n>_non_<NN>/image<N>.bmp   ('others')
  <out>/SMIC_all_cropped/<subset>/...   the same tree, frames 'reg_image<N>.bmp'

Synthetic emotions map to SMIC's three classes (happiness -> positive,
surprise -> surprise, disgust/repression/sadness/fear -> negative); 'others'
clips go under `non_micro/`, which a reader must ignore. Subject 'sub03'
becomes folder 's3' (not zero-padded, as in SMIC); clips are numbered 01, 02,
... per subject and class in the order of `data.samples`.

Frame numbers are absolute and 6-digit like the real 'image559757.bmp':
frame t of a clip is FRAME_BASE + onset + t, so a loaded clip has onset
`sample.onset + FRAME_BASE`. The cropped prefix 'reg_image' is an assumption
(the real one is unverified), chosen so that readers must find frames by glob.

`trees` picks the trees written ('raw', 'cropped' or both). The cropped tree
holds `data.videos` (in the real corpus: face crops, about 170x200 px); the
raw tree holds `raw_videos` when they are given (uncropped 640x480 frames),
otherwise the same videos.

  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=3))
  write(data, '/tmp/smic')        # then mer_jax.data.smic.load('/tmp/smic')
  write(data, '/tmp/smic_c', trees=('cropped',))   # SMIC_all_cropped/ only
"""

from __future__ import annotations

import collections
import os
from typing import TYPE_CHECKING, Sequence

import numpy as np

from mer_jax.data.sample import Sample
from mer_jax.data.synthetic.writers import raw_videos as raw_videos_lib
from mer_jax.errors import ConfigError
from mer_jax.preprocess import frames as frames_lib

if TYPE_CHECKING:
  from mer_jax.data.synthetic.generator import SyntheticData

FRAME_BASE = 500_000  # onsets 40..400 -> 6-digit numbers 500040..
# Frame folder -> frame file prefix.
FRAME_FOLDERS = {"SMIC_all_raw": "image", "SMIC_all_cropped": "reg_image"}
# `trees` name -> top folder.
TREES = {"raw": "SMIC_all_raw", "cropped": "SMIC_all_cropped"}
SUBSETS = ("HS", "VIS", "NIR")
# Synthetic emotion -> (SMIC emotion folder, clip-name code); None = non_micro.
EMOTION_MAP: dict[str, tuple[str, str] | None] = {
    "happiness": ("positive", "po"),
    "surprise": ("surprise", "sur"),
    "disgust": ("negative", "ne"),
    "repression": ("negative", "ne"),
    "sadness": ("negative", "ne"),
    "fear": ("negative", "ne"),
    "others": None,
}


def subject_folder(sample: Sample) -> str:
  """'sub03' -> 's3', the SMIC subject folder name."""
  return f"s{int(''.join(ch for ch in sample.subject if ch.isdigit()))}"


def clip_paths(samples: list[Sample]) -> list[str]:
  """Relative clip folder of each sample under <subset>/, e.g. 's1/micro/negative/s1_ne_01'."""
  counts: collections.Counter = collections.Counter()
  out = []
  for s in samples:
    subject = subject_folder(s)
    target = EMOTION_MAP[s.emotion]
    folder, code = ("non_micro", "non") if target is None else (f"micro/{target[0]}", target[1])
    counts[(subject, code)] += 1
    out.append(f"{subject}/{folder}/{subject}_{code}_{counts[(subject, code)]:02d}")
  return out


def _clear_frames(folder: str) -> None:
  """Removes the frame files of an earlier run (they would not match the new clip)."""
  if os.path.isdir(folder):
    for old in frames_lib.list_frame_files(folder):
      os.remove(old)


def _check_trees(trees: Sequence[str]) -> tuple[str, ...]:
  """The trees asked for, validated; raises ConfigError for none or an unknown one."""
  if isinstance(trees, str):
    trees = (trees,)
  if not trees or set(trees) - set(TREES):
    raise ConfigError(f"SMIC trees={tuple(trees)!r}; expected one or both of {tuple(TREES)}")
  return tuple(dict.fromkeys(trees))


def _check_data(data: SyntheticData, subset: str) -> None:
  """Raises ConfigError for an unknown subset or an emotion SMIC cannot hold."""
  if subset.upper() not in SUBSETS:
    raise ConfigError(f"SMIC subset={subset!r}; expected one of {SUBSETS}")
  if unknown := sorted({s.emotion for s in data.samples} - set(EMOTION_MAP)):
    raise ConfigError(f"emotions {unknown} have no SMIC class; known: {list(EMOTION_MAP)}")


def write(data: SyntheticData, out_dir: str, subset: str = "HS",
          trees: Sequence[str] = ("raw", "cropped"),
          raw_videos: Sequence[np.ndarray] | None = None) -> None:
  """Writes `data` as SMIC_all_raw/<subset>/... and/or SMIC_all_cropped/<subset>/....

  Args:
    data: a synthetic dataset (synthetic.generate); `data.videos` go to the
      cropped tree.
    out_dir: the SMIC root to create.
    subset: 'HS', 'VIS' or 'NIR' (any case): the folder the clips go in.
    trees: 'raw' (SMIC_all_raw), 'cropped' (SMIC_all_cropped) or both.
    raw_videos: uint8 RGB [T, H, W, 3] per sample (T as in `data.videos`, any
      H x W, e.g. uncropped 640x480 frames) for the raw tree; None writes
      `data.videos` there too.

  Raises:
    ConfigError: an unknown subset or tree, an emotion SMIC cannot hold, or
      `raw_videos` not index-aligned with `data` frame for frame.
  """
  _check_data(data, subset)
  trees = _check_trees(trees)
  if raw_videos is not None:
    raw_videos_lib.check(data, raw_videos)
  rel_paths = clip_paths(data.samples)
  videos = {"cropped": data.videos,
            "raw": data.videos if raw_videos is None else raw_videos}
  for tree in trees:
    top = TREES[tree]
    for sample, video, rel in zip(data.samples, videos[tree], rel_paths):
      folder = os.path.join(out_dir, top, subset.upper(), *rel.split("/"))
      _clear_frames(folder)
      frames_lib.write_frames(video, folder, FRAME_BASE + sample.onset,
                              prefix=FRAME_FOLDERS[top], ext=".bmp")
