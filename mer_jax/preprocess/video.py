"""Reading a clip from a video file, and writing one, with OpenCV.

`read_video` gives the frames as the rest of mer_jax takes them: uint8 RGB
`[T, H, W, 3]` (OpenCV decodes to BGR). `write_video` writes such an array
with a lossless codec, so that reading it back gives the same pixels: FFV1 in
an `.avi` (or `.mkv`) file, which the OpenCV wheel's FFmpeg encodes and
decodes exactly (checked with opencv-contrib-python-headless 4.14). MJPG and
mp4v are lossy (grey levels off by tens on sensor noise).

`decode` also gives the frame count the file's header declares
(CAP_PROP_FRAME_COUNT), so that a caller can tell a truncated or damaged file
(fewer frames decode than it declares) from a short one.

  write_video(clip, 'clip.avi', fps=200)   # a synthetic clip, for example
  frames = read_video('clip.avi')          # the same array back
  decoded = decode('clip.avi', stop=10)    # decoded.frames, decoded.declared
"""

from __future__ import annotations

import dataclasses
import os

import cv2
import numpy as np

from mer_jax.errors import DataError

LOSSLESS_CODEC = "FFV1"


@dataclasses.dataclass(frozen=True)
class Decoded:
  """The frames read from a video file, and how many its header declares."""

  frames: np.ndarray     # uint8 RGB [T, H, W, 3]
  declared: int | None   # CAP_PROP_FRAME_COUNT; None when the container does not say


def decode(path: str, stop: int | None = None) -> Decoded:
  """Decodes the frames `0..stop-1` of a video file (all of them when `stop` is None).

  Reading stops after `stop` frames; a shorter video gives all the frames that
  decode, so `len(frames) < stop` says how many it has, and
  `len(frames) < declared` that the file ends before its header says it does
  (truncated or damaged).

  Raises:
    DataError: the file does not exist, OpenCV cannot open it as a video, or
      no frame of it can be decoded (the message names the file).
  """
  if not os.path.isfile(path):
    raise DataError(f"{path}: video file does not exist")
  capture = cv2.VideoCapture(path)
  try:
    if not capture.isOpened():
      raise DataError(f"{path}: OpenCV cannot open this file as a video (not a video, or a "
                      "container or codec its FFmpeg cannot read); a folder of the frames "
                      "as images can be read instead")
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = _read_frames(capture, stop)
  finally:
    capture.release()
  if not frames:
    raise DataError(f"{path}: the video has no frame that OpenCV can decode")
  return Decoded(np.stack(frames), declared if declared > 0 else None)  # [T, H, W, 3]


def _read_frames(capture: cv2.VideoCapture, stop: int | None) -> list[np.ndarray]:
  """RGB frames from an open capture until it ends or `stop` frames are read."""
  frames = []
  while stop is None or len(frames) < stop:
    ok, bgr = capture.read()
    if not ok:
      break
    frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
  return frames


def read_video(path: str, stop: int | None = None) -> np.ndarray:
  """The frames of `decode(path, stop)`: uint8 RGB `[T, H, W, 3]` (DataError as there)."""
  return decode(path, stop).frames


def write_video(frames: np.ndarray, path: str, fps: float = 25.0,
                codec: str = LOSSLESS_CODEC) -> str:
  """Writes uint8 RGB frames `[T, H, W, 3]` as a video file; returns `path`.

  Args:
    frames: the clip; every frame the same size.
    path: the file to write; its extension picks the container ('.avi').
    fps: the frame rate stored in the file (the synthetic clips are 200 fps).
    codec: a FourCC; the default FFV1 is lossless.

  Raises:
    DataError: OpenCV cannot write that codec to that file.
  """
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
    raise ValueError(f"expected uint8 RGB frames [T, H, W, 3], got {frames.dtype} "
                     f"{frames.shape}")
  height, width = frames.shape[1:3]
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), fps, (width, height))
  try:
    if not writer.isOpened():
      raise DataError(f"{path}: OpenCV cannot write a {codec!r} video to this file (check "
                      "the folder and the extension, e.g. '.avi')")
    for frame in frames:
      writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  finally:
    writer.release()
  return path
