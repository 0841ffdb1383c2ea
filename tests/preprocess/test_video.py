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
