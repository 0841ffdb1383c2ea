"""Video files: FFV1 gives the same pixels back; bad files are DataErrors that name them."""

import numpy as np
import pytest

from mer_jax.errors import DataError
from mer_jax.preprocess import video


def test_ffv1_round_trip_is_exact_and_stop_reads_the_first_frames(tmp_path):
  clip = np.random.default_rng(0).integers(0, 256, (5, 24, 32, 3)).astype(np.uint8)
  path = video.write_video(clip, str(tmp_path / "clip.avi"), fps=200)
  np.testing.assert_array_equal(video.read_video(path), clip)  # RGB in, RGB out
  np.testing.assert_array_equal(video.read_video(path, stop=2), clip[:2])
  assert len(video.read_video(path, stop=50)) == 5  # a shorter video: all its frames


def test_missing_and_unreadable_files_name_the_file(tmp_path):
  with pytest.raises(DataError, match="missing.avi: video file does not exist"):
    video.read_video(str(tmp_path / "missing.avi"))
  (tmp_path / "text.avi").write_text("not a video")
  with pytest.raises(DataError, match="text.avi: OpenCV cannot open"):
    video.read_video(str(tmp_path / "text.avi"))
  with pytest.raises(ValueError, match="uint8 RGB"):
    video.write_video(np.zeros((2, 8, 8), np.uint8), str(tmp_path / "grey.avi"))


def truncated_video(tmp_path, frames=41, keep=0.4):
  """An FFV1 .avi of `frames` random 64x64 frames, cut to its first `keep` of the bytes."""
  clip = np.random.default_rng(0).integers(0, 256, (frames, 64, 64, 3)).astype(np.uint8)
  path = video.write_video(clip, str(tmp_path / "whole.avi"), fps=200)
  data = open(path, "rb").read()
  cut = tmp_path / "cut.avi"
  cut.write_bytes(data[:int(len(data) * keep)])
  return str(cut), clip


def test_decode_gives_the_frames_and_the_count_the_header_declares(tmp_path):
  clip = np.random.default_rng(1).integers(0, 256, (7, 24, 32, 3)).astype(np.uint8)
  path = video.write_video(clip, str(tmp_path / "clip.avi"), fps=200)
  decoded = video.decode(path, stop=3)
  np.testing.assert_array_equal(decoded.frames, clip[:3])
  assert decoded.declared == 7  # the whole file's count, whatever `stop` reads
  assert video.decode(path).declared == len(video.decode(path).frames) == 7


def test_decode_of_a_truncated_file_reads_fewer_frames_than_declared(tmp_path):
  path, clip = truncated_video(tmp_path)
  decoded = video.decode(path)
  assert decoded.declared == 41 and 0 < len(decoded.frames) < 41
  np.testing.assert_array_equal(decoded.frames, clip[:len(decoded.frames)])
