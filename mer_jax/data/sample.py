"""The `Sample` record: one micro-expression clip and its annotation.

Adapters turn a corpus on disk (or the built-in synthetic generator) into a
`list[Sample]`. A sample knows *what* the clip is; it holds no pixels. Frames
are read from `frame_paths` (sorted by frame number) by the preprocessing
step, or taken from memory for the built-in synthetic data.
"""

from __future__ import annotations

import dataclasses

# Datasets that film the same people as another dataset: name -> that corpus.
PERSON_CORPUS = {"smic_vis": "smic", "smic_nir": "smic"}
FRAME_SOURCES = ("face_crop", "uncropped")


@dataclasses.dataclass(frozen=True)
class Sample:
  """One annotated micro-expression clip.

  Attributes:
    dataset: corpus name, e.g. 'casme2', 'samm', 'smic_hs', 'synthetic'.
    subject: subject id as the corpus writes it in folder names ('sub01').
    clip: clip id, unique within (dataset, subject) ('EP02_01f').
    emotion: the corpus' emotion label, lower case ('happiness', 'others').
    onset: absolute frame number of the onset frame.
    apex: absolute frame number of the apex frame.
    offset: absolute frame number of the offset frame.
    apex_source: where `apex` came from: 'annotated', 'midpoint',
      'frame_difference', 'flow_peak' or 'synthetic' (see data/apex.py).
    action_units: FACS action units as annotated ('4+7+L10'), '' if none.
    objective_class: MEGC objective class 1-7, or None when not annotated.
    frame_paths: frame files from onset to offset, sorted by frame number;
      empty for in-memory (synthetic) clips.
    frame_source: what the frames show: 'face_crop' (the corpus' official
      face crops, e.g. CASME II Cropped/, SMIC_all_cropped/, or the built-in
      faces, which fill their frames) or 'uncropped' (whole camera frames:
      the face must be found, data/faces.py).
    face_stage: how the face step found this clip's face (data/faces.py):
      '' before it ran or when the recipe crops no face, 'official_crop',
      a detector stage, 'nearest_frame', 'subject_median' or 'whole_frame'.
  """

  dataset: str
  subject: str
  clip: str
  emotion: str
  onset: int
  apex: int
  offset: int
  apex_source: str = "annotated"
  action_units: str = ""
  objective_class: int | None = None
  frame_paths: tuple[str, ...] = ()
  frame_source: str = "uncropped"
  face_stage: str = ""

  @property
  def person(self) -> str:
    """The person the clip shows, across the cameras of one corpus: 'corpus/subject'.

    SMIC's VIS and NIR clips were filmed in the same sessions as HS, by other
    cameras, of the same people under the same subject folder names, so
    'smic', 'smic_vis' and 'smic_nir' samples of subject 's11' are one person
    'smic/s11'. Every other corpus is its own: 'casme2/sub01'. Protocols split
    by person (data/protocols.py), so no person is ever on both sides of a fold.
    """
    return f"{PERSON_CORPUS.get(self.dataset, self.dataset)}/{self.subject}"

  @property
  def key(self) -> str:
    """A unique, human-readable id: 'dataset/subject/clip'."""
    return f"{self.dataset}/{self.subject}/{self.clip}"

  @property
  def num_frames(self) -> int:
    """Number of frames from onset to offset, inclusive."""
    return self.offset - self.onset + 1


@dataclasses.dataclass(frozen=True)
class Exclusion:
  """A sample an adapter left out, or kept after repairing it, and why.

  Attributes:
    key: 'dataset/subject/clip' of the sample (as `Sample.key`).
    reason: what was wrong, naming the file, row and field.
    repaired: True when the sample was kept after a repair (e.g. its missing
      apex set to the midpoint); False when it was left out.
  """

  key: str
  reason: str
  repaired: bool = False


@dataclasses.dataclass
class Scan:
  """What an adapter found under a dataset root."""

  samples: list[Sample]
  exclusions: list[Exclusion]

  @property
  def excluded(self) -> list[Exclusion]:
    return [e for e in self.exclusions if not e.repaired]

  @property
  def repaired(self) -> list[Exclusion]:
    return [e for e in self.exclusions if e.repaired]
