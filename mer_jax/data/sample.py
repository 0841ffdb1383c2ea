"""The `Sample` record: one micro-expression clip and its annotation.

Adapters turn a corpus on disk (or the built-in synthetic generator) into a
`list[Sample]`. A sample knows *what* the clip is; it holds no pixels. Frames
are read from `frame_paths` (sorted by frame number) by the preprocessing
step, or taken from memory for the built-in synthetic data.
"""

from __future__ import annotations

import dataclasses


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
    apex_source: where `apex` came from: 'annotation', 'middle' (fallback
      to the middle frame), 'flow_peak' or 'synthetic'.
    action_units: FACS action units as annotated ('4+7+L10'), '' if none.
    objective_class: MEGC objective class 1-7, or None when not annotated.
    frame_paths: frame files from onset to offset, sorted by frame number;
      empty for in-memory (synthetic) clips.
  """

  dataset: str
  subject: str
  clip: str
  emotion: str
  onset: int
  apex: int
  offset: int
  apex_source: str = "annotation"
  action_units: str = ""
  objective_class: int | None = None
  frame_paths: tuple[str, ...] = ()

  @property
  def key(self) -> str:
    """A unique, human-readable id: 'dataset/subject/clip'."""
    return f"{self.dataset}/{self.subject}/{self.clip}"

  @property
  def num_frames(self) -> int:
    """Number of frames from onset to offset, inclusive."""
    return self.offset - self.onset + 1
