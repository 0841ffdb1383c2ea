"""The face step of a corpus: a face box for every clip, never a clip left out.

OpenCV's frontal cascade alone misses many faces: official tight crops (CASME
II `Cropped/`, SMIC `SMIC_all_cropped/`) fill their frames with no margin,
and a face in a whole camera frame can be missed in one frame and found in
the next. `locate_faces` therefore decides per clip, by what its frames show
(`Sample.frame_source`), and falls back step by step instead of failing:

  'face_crop' (official crops, the built-in synthetic faces): the frames are
      the face, stage 'official_crop', nothing is detected (with
      `align_crops=True`, the chain is run on the onset frame and its box
      used when it finds one; the crop as it is otherwise).
  'uncropped' (whole camera frames):
      1. the detector chain (`preprocess.face.find_face`) on the onset frame:
         stage 'haar', or the fallback detector that found it ('haar_alt',
         'haar_alt2', 'haar_alt_tree', 'upscaled', 'padded', 'dlib_hog');
      2. the chain on up to NEAREST_FRAMES (8) other frames spread over the
         clip, nearest the onset first: 'nearest_frame';
      3. the median box of the same person's clips that found one in frames
         of the same size: 'subject_median' (no eye rotation);
      4. the whole frame: 'whole_frame'.

Every clip whose face was not found by the frontal cascade on its onset frame
gets a repaired `Exclusion` note naming the stage. The method 'none' (the
recipe crops no face) runs no face step at all.

  located = locate_faces(samples, "haar")
  located.samples   # the samples, face_stage set
  located.boxes     # sample key -> FaceBox, for recipes.run(..., face=...)
  located.notes     # repaired Exclusions
  stage_counts(located.samples)  # {'haar': 120, 'nearest_frame': 3, ...}
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Callable, Sequence

import numpy as np
import tqdm

from mer_jax.data.sample import Exclusion, Sample
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import face as face_lib
from mer_jax.preprocess import frames as frames_lib
from mer_jax.preprocess.face import FaceBox

# read_frames(sample, positions) -> uint8 [len(positions), H, W, 3], positions within the clip.
FrameReader = Callable[[Sample, Sequence[int]], np.ndarray]
METHODS = ("none", "haar", "dlib")
NEAREST_FRAMES = face_lib.NEAREST_FRAMES
FIRST_STAGE = face_lib.DETECTOR_STAGES[0]  # 'haar': no note when it finds the face
PROGRESS_MIN_CLIPS = 50  # fewer clips: no progress bar


@dataclasses.dataclass(frozen=True)
class LocatedFaces:
  """What the face step found.

  Attributes:
    samples: the samples in the order given, `face_stage` set (unchanged
      for the method 'none').
    boxes: sample key -> FaceBox (empty for the method 'none').
    notes: repaired Exclusions, one per clip found by a fallback stage.
  """

  samples: list[Sample]
  boxes: dict[str, FaceBox]
  notes: list[Exclusion]


def read_from_paths(sample: Sample, positions: Sequence[int]) -> np.ndarray:
  """The frames at `positions` of the clip, read from `sample.frame_paths`."""
  if not sample.frame_paths:
    raise DataError(f"{sample.key}: the sample has no frame_paths; pass read_frames for "
                    "in-memory clips")
  return frames_lib.read_frames([sample.frame_paths[p] for p in positions])


def _onset_note(stage: str) -> str:
  """The repaired note of a face the chain found in the onset frame by a fallback."""
  return (f"face found by {stage} (the frontal cascade {face_lib.FACE_CASCADE} found none "
          "in the onset frame)")


def _search_clip(sample: Sample, method: str, read: FrameReader
                 ) -> tuple[FaceBox | None, tuple[int, int], str | None]:
  """(face or None, frame (H, W), note or None) of one uncropped clip: steps 1 and 2."""
  onset = read(sample, [0])[0]
  shape = tuple(onset.shape[:2])
  found = face_lib.find_face(onset, method)
  if found is not None:
    return found, shape, None if found.stage == FIRST_STAGE else _onset_note(found.stage)
  later = face_lib.search_positions(sample.num_frames, NEAREST_FRAMES)[1:]
  if not later:
    return None, shape, None
  hit = face_lib.first_face(read(sample, later), method)
  if hit is None:
    return None, shape, None
  index, found = hit
  note = (f"face found by {found.stage} in frame {later[index]} of the clip (nearest_frame: "
          "no detector found one in the onset frame)")
  return dataclasses.replace(found, stage="nearest_frame"), shape, note


def _official_crop(sample: Sample, method: str, read: FrameReader, align_crops: bool
                   ) -> FaceBox:
  """The face of an official crop: the frames themselves, or the chain's box when
  `align_crops` and it finds one on the onset frame."""
  if align_crops:
    found = face_lib.find_face(read(sample, [0])[0], method)
    if found is not None:
      return found
  return FaceBox(None, None, "official_crop")


def median_box(boxes: Sequence[face_lib.Box]) -> face_lib.Box:
  """The element-wise median (x, y, w, h) of boxes, rounded to whole pixels."""
  x, y, w, h = (int(round(v)) for v in np.median(np.asarray(boxes, np.float64), axis=0))
  return x, y, w, h


def _fill_missing(missing: dict[str, tuple[Sample, tuple[int, int]]],
                  found: dict[tuple[str, tuple[int, int]], list[face_lib.Box]]
                  ) -> dict[str, tuple[FaceBox, str]]:
  """Steps 3 and 4: key -> (face, note) of the clips no frame gave a face."""
  out = {}
  for key, (sample, shape) in missing.items():
    others = found.get((sample.person, shape), [])
    if others:
      box = median_box(others)
      out[key] = (FaceBox(box, None, "subject_median"),
                  f"no face found in the clip; using the median box {box} of {len(others)} "
                  f"other clip(s) of {sample.person} (subject_median)")
    else:
      out[key] = (FaceBox(None, None, "whole_frame"),
                  f"no face found in the clip nor in other clips of {sample.person}; using "
                  "the whole frame (whole_frame)")
  return out


def _progress(samples: Sequence[Sample]):
  """A tqdm bar over the clips ('faces <dataset>'), off for fewer than 50 clips."""
  names = ", ".join(sorted({s.dataset for s in samples}))
  return tqdm.tqdm(samples, desc=f"faces {names}", unit="clip", leave=False,
                   disable=len(samples) < PROGRESS_MIN_CLIPS)


def locate_faces(samples: Sequence[Sample], method: str,
                 read_frames: FrameReader | None = None, align_crops: bool = False
                 ) -> LocatedFaces:
  """The face of every sample, by the policy of the module docstring; none is left out.

  Args:
    samples: the corpus' samples (any datasets; a person's median box is taken
      over that person's clips among them).
    method: the recipe's `face` field: 'none' (no face step), 'haar' or 'dlib'
      (how eyes are found; see `preprocess.face.find_eyes`).
    read_frames: `read_frames(sample, positions)` -> uint8 `[len(positions),
      H, W, 3]`, frames at positions within the clip (0 = onset); default
      `read_from_paths` (only the frames looked at are read).
    align_crops: detect on official crops too, using the box when found.

  Returns:
    LocatedFaces(samples with face_stage set, key -> FaceBox, repaired notes).

  Raises:
    ConfigError: an unknown method, or 'dlib' without the `mer_jax[faces]` extra.
  """
  if method not in METHODS:
    raise ConfigError(f"config.data.recipe.face={method!r}; expected one of {METHODS}")
  if method == "none":
    return LocatedFaces(list(samples), {}, [])
  face_lib.check_method(method)
  read = read_frames or read_from_paths
  boxes, notes, missing = {}, {}, {}
  found_by_person = collections.defaultdict(list)
  for sample in _progress(samples):
    if sample.frame_source == "face_crop":
      boxes[sample.key] = _official_crop(sample, method, read, align_crops)
      continue
    try:
      found, shape, note = _search_clip(sample, method, read)
    except (DataError, OSError) as e:  # preprocessing reads it again and leaves it out
      boxes[sample.key] = FaceBox(None, None, "whole_frame")
      notes[sample.key] = f"frames cannot be read for the face step ({e}); whole_frame"
      continue
    if found is None:
      missing[sample.key] = (sample, shape)
      continue
    boxes[sample.key] = found
    found_by_person[(sample.person, shape)].append(found.box)
    if note:
      notes[sample.key] = note
  for key, (found, note) in _fill_missing(missing, found_by_person).items():
    boxes[key], notes[key] = found, note
  located = [dataclasses.replace(s, face_stage=boxes[s.key].stage) for s in samples]
  exclusions = [Exclusion(s.key, notes[s.key], repaired=True) for s in samples if s.key in notes]
  return LocatedFaces(located, boxes, exclusions)


def stage_counts(samples: Sequence[Sample]) -> dict[str, int]:
  """How many samples each face stage found, most first ('' = no face step ran)."""
  return dict(collections.Counter(s.face_stage for s in samples).most_common())
