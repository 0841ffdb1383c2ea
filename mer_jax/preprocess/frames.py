"""Reading frame files and ordering them by frame number.

Corpora name frames after their absolute position in the raw video
('img46.jpg' in CASME II, '006_05562.jpg' in SAMM, 'image0123.bmp' in SMIC).
Lexicographic order puts 'img10' before 'img9', so every list of frame files
goes through `sort_by_frame_number`. `read_frames` turns such a list into one
uint8 RGB array and reports a missing, corrupt or odd-sized frame by name;
`list_frame_files` and `write_frames` list and write a clip folder.

A clip folder may hold an image that is no frame (a 'cover.jpg' someone
added): `list_frame_files` leaves out every image file whose name has no
frame number, and `split_frame_files` also says which, so that adapters can
note them (data/layout.py). `frame_number` itself still raises for such a name.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

import cv2
import numpy as np

from mer_jax.errors import DataError

_DIGITS = re.compile(r"\d+")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def frame_number(path: str) -> int:
  """Returns the frame number in a file name: the last run of digits of its stem.

  Args:
    path: a frame file, e.g. 'sub01/EP02_01f/img46.jpg' (-> 46) or
      '006/006_1_2/006_05562.jpg' (-> 5562).

  Raises:
    DataError: the file stem has no digits.
  """
  stem = os.path.splitext(os.path.basename(path))[0]
  runs = _DIGITS.findall(stem)
  if not runs:
    raise DataError(f"{path}: frame file name has no frame number (no digits in "
                    f"{stem!r})")
  return int(runs[-1])


def sort_by_frame_number(paths: Sequence[str]) -> list[str]:
  """Returns `paths` sorted numerically by `frame_number` (img9 before img10).

  Ties (the same number under different names) are broken by the path so the
  order never depends on how the file system listed the folder.
  """
  return sorted(paths, key=lambda p: (frame_number(p), p))


def _read_rgb(path: str) -> np.ndarray:
  """Reads one frame as uint8 RGB [H, W, 3], or raises DataError naming it.

  A missing, empty (0-byte), truncated (JPEG without its end marker) or
  undecodable file is a DataError; mer_jax/inspect.py checks every frame with it.
  """
  if not os.path.isfile(path):
    raise DataError(f"{path}: frame file does not exist")
  with open(path, "rb") as f:
    data = f.read()
  if not data:  # cv2.imdecode asserts on an empty buffer instead of returning None
    raise DataError(f"{path}: frame file is empty (0 bytes); copy the frame again "
                    "from the corpus")
  # OpenCV decodes a JPEG cut short in its image data without an error (it
  # fills the rest grey), so check for the end-of-image marker ourselves.
  if path.lower().endswith((".jpg", ".jpeg")) and not data.rstrip(b"\0").endswith(
      b"\xff\xd9"):
    raise DataError(f"{path}: JPEG file is truncated (no end-of-image marker)")
  # IMREAD_COLOR expands grey-level files to 3 channels and drops alpha.
  try:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
  except cv2.error:  # some decoders assert on malformed headers
    bgr = None
  if bgr is None:
    raise DataError(f"{path}: frame file cannot be decoded as an image "
                    f"(corrupt or unsupported format)")
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_frames(paths: Sequence[str]) -> np.ndarray:
  """Reads frame files into one array, in the order given.

  Args:
    paths: frame files, usually from `Sample.frame_paths` (already sorted).

  Returns:
    uint8 RGB frames [T, H, W, 3], T = len(paths).

  Raises:
    DataError: `paths` is empty, or a file is missing, unreadable, or differs
      in size from the first frame (the message names the file).
  """
  if not paths:
    raise DataError("read_frames: no frame files given")
  frames = []
  for path in paths:
    rgb = _read_rgb(path)
    if frames and rgb.shape != frames[0].shape:
      raise DataError(
          f"{path}: frame is {rgb.shape[1]}x{rgb.shape[0]} (WxH) but {paths[0]} "
          f"is {frames[0].shape[1]}x{frames[0].shape[0]}; all frames of a clip "
          f"must have the same size")
    frames.append(rgb)
  return np.stack(frames)  # [T, H, W, 3]


def has_frame_number(path: str) -> bool:
  """True when the file stem holds a digit, i.e. `frame_number(path)` works."""
  return bool(_DIGITS.search(os.path.splitext(os.path.basename(path))[0]))


def split_frame_files(folder: str) -> tuple[list[str], list[str]]:
  """(frame files sorted by frame number, names of images without a frame number).

  Only image files (IMAGE_EXTENSIONS) are looked at; 'Thumbs.db' or
  'notes.txt' are neither. An image such as 'cover.jpg' is not a frame: it
  goes into the second list, sorted, so the caller can say it was ignored.

  Raises:
    DataError: the folder does not exist.
  """
  if not os.path.isdir(folder):
    raise DataError(f"{folder}: frame folder does not exist")
  images = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
  stray = sorted(n for n in images if not has_frame_number(n))
  frames = [os.path.join(folder, n) for n in images if has_frame_number(n)]
  return sort_by_frame_number(frames), stray


def list_frame_files(folder: str) -> list[str]:
  """Returns the frame files of a clip folder, sorted by frame number.

  Images whose name has no frame number ('cover.jpg') and non-image files
  are left out (`split_frame_files` names the former).

  Raises:
    DataError: the folder does not exist.
  """
  return split_frame_files(folder)[0]


def write_frames(frames: np.ndarray, folder: str, first_number: int,
                 prefix: str = "img", ext: str = ".png") -> list[str]:
  """Writes RGB frames [T, H, W, 3] as <folder>/<prefix><number><ext>.

  Frame t gets number first_number + t (absolute frame numbers, as corpora
  name them). PNG is lossless, so `read_frames` gives the same pixels back.

  Returns:
    The paths written, in frame order.
  """
  os.makedirs(folder, exist_ok=True)
  paths = []
  for number, frame in enumerate(frames, start=first_number):
    path = os.path.join(folder, f"{prefix}{number}{ext}")
    if not cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)):
      raise DataError(f"{path}: could not write the frame")
    paths.append(path)
  return paths
