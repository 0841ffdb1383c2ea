"""Reading a clip from a video file, and writing one, with OpenCV.

`read_video` gives the frames as the rest of mer_jax takes them: uint8 RGB
`[T, H, W, 3]` (OpenCV decodes to BGR). `write_video` writes such an array
with a lossless codec, so that reading it back gives the same pixels: FFV1 in
an `.avi` (or `.mkv`) file, which the OpenCV wheel's FFmpeg encodes and
decodes exactly (checked with opencv-contrib-python-headless 4.14). MJPG and
mp4v are lossy (grey levels off by tens on sensor noise).

  write_video(clip, 'clip.avi', fps=200)   # a synthetic clip, for example
  frames = read_video('clip.avi')          # the same array back
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from mer_jax.errors import DataError

LOSSLESS_CODEC = "FFV1"


def read_video(path: str, stop: int | None = None) -> np.ndarray:
  """Decodes the frames `0..stop-1` of a video file (all of them when `stop` is None).

  Reading stops after `stop` frames; a shorter video gives all its frames,
  so `len(result) < stop` says how many it has.

  Returns:
    uint8 RGB `[T, H, W, 3]`.

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
    frames = []
    while stop is None or len(frames) < stop:
      ok, bgr = capture.read()
      if not ok:
        break
      frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
  finally:
    capture.release()
  if not frames:
    raise DataError(f"{path}: the video has no frame that OpenCV can decode")
  return np.stack(frames)  # [T, H, W, 3]


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
