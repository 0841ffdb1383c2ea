"""Tests for mer_jax.preprocess.frames: frame numbers, sorting, reading, writing."""

import os
import re

import cv2
import numpy as np
import pytest

from mer_jax.errors import DataError
from mer_jax.preprocess import frames


@pytest.mark.parametrize("path, number", [
    ("img46.jpg", 46),
    ("006_05562.jpg", 5562),
    ("reg_image0123.bmp", 123),
    ("sub01/EP02_01f/img9.jpg", 9),  # digits in folders do not count
    ("/data/s3/micro/s3_po_05/image012345.bmp", 12345),
])
def test_frame_number_is_last_digit_run_of_stem(path, number):
  assert frames.frame_number(path) == number


def test_frame_number_without_digits_names_the_file():
  with pytest.raises(DataError, match="clip7/apex.jpg"):
    frames.frame_number("clip7/apex.jpg")


def test_sort_is_numeric_not_lexicographic():
  paths = ["c/img10.png", "c/img9.png", "c/img100.png", "c/img11.png", "c/img1.png"]
  assert frames.sort_by_frame_number(paths) == [
      "c/img1.png", "c/img9.png", "c/img10.png", "c/img11.png", "c/img100.png"]
  samm = ["006_05563.jpg", "006_05562.jpg", "006_05570.jpg"]
  assert frames.sort_by_frame_number(samm) == sorted(samm)


def _rgb_frames(t=3, h=6, w=5, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def test_write_then_read_gives_same_rgb_pixels(tmp_path):
  video = _rgb_frames()
  video[0, 0, 0] = (255, 0, 0)  # pure red in RGB: catches a missed BGR swap
  paths = frames.write_frames(video, str(tmp_path / "clip"), first_number=98)
  assert [os.path.basename(p) for p in paths] == ["img98.png", "img99.png", "img100.png"]
  assert frames.list_frame_files(str(tmp_path / "clip")) == paths
  back = frames.read_frames(paths)
  assert back.dtype == np.uint8 and back.shape == video.shape
  np.testing.assert_array_equal(back, video)
  np.testing.assert_array_equal(back[0, 0, 0], [255, 0, 0])


def test_grayscale_file_is_expanded_to_three_channels(tmp_path):
  grey = np.arange(30, dtype=np.uint8).reshape(5, 6)
  path = str(tmp_path / "img1.png")
  cv2.imwrite(path, grey)
  out = frames.read_frames([path])
  assert out.shape == (1, 5, 6, 3)
  for c in range(3):
    np.testing.assert_array_equal(out[0, ..., c], grey)


def test_list_frame_files_ignores_other_files_and_sorts(tmp_path):
  for name in ("img10.png", "img9.png", "notes.txt", "Thumbs.db"):
    (tmp_path / name).write_bytes(b"x")
  names = [os.path.basename(p) for p in frames.list_frame_files(str(tmp_path))]
  assert names == ["img9.png", "img10.png"]
  with pytest.raises(DataError, match="nowhere.*does not exist"):
    frames.list_frame_files(str(tmp_path / "nowhere"))


def test_missing_frame_names_the_file(tmp_path):
  paths = frames.write_frames(_rgb_frames(2), str(tmp_path), 1)
  gone = str(tmp_path / "img7.png")
  with pytest.raises(DataError, match=re.escape(f"{gone}: frame file does not exist")):
    frames.read_frames(paths + [gone])


def test_corrupt_frame_names_the_file(tmp_path):
  bad = tmp_path / "img3.png"
  bad.write_bytes(b"not a png at all")
  with pytest.raises(DataError, match=re.escape(f"{bad}: frame file cannot be decoded")):
    frames.read_frames([str(bad)])


def test_frames_of_different_size_name_the_odd_one(tmp_path):
  paths = frames.write_frames(_rgb_frames(2, 6, 5), str(tmp_path), 1)
  odd = frames.write_frames(_rgb_frames(1, 7, 5), str(tmp_path), 3)
  with pytest.raises(DataError, match=re.escape(f"{odd[0]}: frame is 5x7")):
    frames.read_frames(paths + odd)


def test_no_paths_is_an_error():
  with pytest.raises(DataError, match="no frame files"):
    frames.read_frames([])


def test_jpeg_cut_short_in_its_image_data_is_a_data_error(tmp_path):
  """OpenCV decodes such a file silently (grey fill); read_frames must not."""
  import cv2
  import numpy as np
  import pytest
  from mer_jax.errors import DataError
  from mer_jax.preprocess import frames
  image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
  good = tmp_path / "img1.jpg"
  cv2.imwrite(str(good), image)
  data = good.read_bytes()
  cut = tmp_path / "img2.jpg"
  cut.write_bytes(data[: len(data) * 2 // 3])
  assert cv2.imread(str(cut)) is not None  # The reason for the check.
  assert frames.read_frames([str(good)]).shape == (1, 64, 64, 3)
  with pytest.raises(DataError, match=r"img2.jpg: JPEG file is truncated"):
    frames.read_frames([str(good), str(cut)])


def test_images_without_a_frame_number_are_split_off_not_fatal(tmp_path):
  for name in ("img10.png", "img9.png", "cover.jpg", "Logo.PNG", "Thumbs.db"):
    (tmp_path / name).write_bytes(b"x")
  found, stray = frames.split_frame_files(str(tmp_path))
  assert [os.path.basename(p) for p in found] == ["img9.png", "img10.png"]
  assert stray == ["Logo.PNG", "cover.jpg"]  # Thumbs.db is no image: not listed at all
  assert frames.list_frame_files(str(tmp_path)) == found
  assert not frames.has_frame_number("cover.jpg") and frames.has_frame_number("img9.png")
  with pytest.raises(DataError, match="cover.jpg.*no frame number"):
    frames.frame_number(str(tmp_path / "cover.jpg"))  # direct calls still raise


@pytest.mark.parametrize("name", ["img1.png", "img1.bmp", "img1.jpg"])
def test_empty_frame_file_is_a_data_error_naming_it(tmp_path, name):
  (tmp_path / name).write_bytes(b"")
  with pytest.raises(DataError, match=re.escape(name)):
    frames.read_frames([str(tmp_path / name)])
