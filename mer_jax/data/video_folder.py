"""Labelled expression videos as frame folders: the macro-expression pre-training data.

Islam et al. pre-train their whole network on macro-expression videos (CK+,
MUG, Oulu-CASIA) before the micro-expressions. Any such collection works when
laid out as `root/<class name>/<clip>/<frames>`: one folder of numbered
frames per clip (`img001.png`, `frame_12.jpg`, ...; CK+'s per-subject
folders are one level deeper: `root/<class>/<subject>/<clip>/` is read too),
sorted by frame number, the expression's peak last (as CK+ is recorded).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from mer_jax.data.image_folder import find_classes
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib


@dataclasses.dataclass(frozen=True)
class VideoClip:
  """One labelled clip: its frame files (sorted by frame number) and class index."""

  name: str                  # the clip folder, relative to the root
  frame_paths: tuple[str, ...]
  label: int


def _has_frames(folder: str) -> bool:
  return any(n.lower().endswith(frames_lib.IMAGE_EXTENSIONS) for n in os.listdir(folder))


def clip_folders(class_folder: str) -> list[str]:
  """Every folder under `class_folder` that holds frames, sorted by path."""
  found = []
  for top, dirs, _ in os.walk(class_folder):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    if top != class_folder and _has_frames(top):
      found.append(top)
  return sorted(found)


def load(root: str, classes: Sequence[str] | None = None
         ) -> tuple[list[VideoClip], tuple[str, ...]]:
  """The clips under `root` and the class names (sorted folder names, or `classes`).

  Raises:
    DataError: no class folders, a class with no clip folder, or a clip whose
      frame names carry no frame number; the message names the folder.
  """
  names = find_classes(root, classes)
  clips = []
  for label, name in enumerate(names):
    folders = clip_folders(os.path.join(root, name))
    if not folders:
      raise DataError(f"{os.path.join(root, name)}: no clip folder (expected "
                      f"root/<class>/<clip>/<numbered frames>)")
    clips += [VideoClip(os.path.relpath(f, root), tuple(frames_lib.list_frame_files(f)), label)
              for f in folders]
  return clips, names
