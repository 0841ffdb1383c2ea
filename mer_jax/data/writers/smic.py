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

  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=3))
  write(data, '/tmp/smic')        # then mer_jax.data.smic.load('/tmp/smic')
"""

from __future__ import annotations

import collections
import os
from typing import TYPE_CHECKING

from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError
from mer_jax.preprocess import frames as frames_lib

if TYPE_CHECKING:
  from mer_jax.data.synthetic import SyntheticData

FRAME_BASE = 500_000  # onsets 40..400 -> 6-digit numbers 500040..
# Frame folder -> frame file prefix.
FRAME_FOLDERS = {"SMIC_all_raw": "image", "SMIC_all_cropped": "reg_image"}
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


def write(data: SyntheticData, out_dir: str, subset: str = "HS") -> None:
  """Writes `data` as SMIC_all_raw/<subset>/... and SMIC_all_cropped/<subset>/....

  Args:
    data: a synthetic dataset (synthetic.generate).
    out_dir: the SMIC root to create.
    subset: 'HS', 'VIS' or 'NIR' (any case): the folder the clips go in.

  Raises:
    ConfigError: an unknown subset, or an emotion SMIC cannot hold.
  """
  if subset.upper() not in SUBSETS:
    raise ConfigError(f"SMIC subset={subset!r}; expected one of {SUBSETS}")
  if unknown := sorted({s.emotion for s in data.samples} - set(EMOTION_MAP)):
    raise ConfigError(f"emotions {unknown} have no SMIC class; known: {list(EMOTION_MAP)}")
  rel_paths = clip_paths(data.samples)
  for top, prefix in FRAME_FOLDERS.items():
    for sample, video, rel in zip(data.samples, data.videos, rel_paths):
      folder = os.path.join(out_dir, top, subset.upper(), *rel.split("/"))
      _clear_frames(folder)
      frames_lib.write_frames(video, folder, FRAME_BASE + sample.onset, prefix=prefix,
                              ext=".bmp")
