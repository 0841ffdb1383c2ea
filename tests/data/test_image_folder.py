"""Tests for mer_jax.data.image_folder: class folders of face images, read with OpenCV.

Images are written with cv2 into tmp_path and the expected arrays are made
with cv2 directly (BGR -> RGB -> grey, INTER_AREA resize). The face case uses
the project's procedural face renderer, which the Haar cascade finds
(tests/preprocess/test_face.py).
"""

import os

import cv2
import numpy as np
import pytest

from mer_jax.data import image_folder
from mer_jax.data.synthetic import face_drawing
from mer_jax.errors import ConfigError, DataError


def _image(seed, h=30, w=40):
  """uint8 RGB `[h, w, 3]` with smooth random content."""
  noise = np.random.default_rng(seed).uniform(0, 255, (h, w, 3)).astype(np.float32)
  return np.clip(cv2.GaussianBlur(noise, (0, 0), 2) * 3 - 255, 0, 255).astype(np.uint8)


def _write(path, rgb):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
  return str(path)


def _expected(path, size, grey=True):
  """What the loader must give for `path`: cv2 read, grey, INTER_AREA resize."""
  rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
  img = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if grey else rgb
  return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).reshape(size, size, -1)


@pytest.fixture
def tree(tmp_path):
  """root/{surprise,happy,neutral}/... with a nested subject folder and mixed case."""
  root = tmp_path / "macro"
  files = {
      "surprise": ["a.png", "S010/b.JPG"],
      "happy": ["S005/001/c.png", "d.jpeg", "e.Bmp"],
      "neutral": ["f.tiff"],  # and g.PGM below
  }
  paths = {c: [_write(root / c / n, _image(i * 10 + k)) for k, n in enumerate(names)]
           for i, (c, names) in enumerate(files.items())}
  grey = cv2.cvtColor(_image(50), cv2.COLOR_RGB2GRAY)
  assert cv2.imwrite(str(root / "neutral" / "g.PGM"), grey)  # portable grey map, upper case
  paths["neutral"].append(str(root / "neutral" / "g.PGM"))
  (root / "happy" / "notes.txt").write_text("not an image")
  (root / "happy" / ".hidden").mkdir()
  _write(root / "happy" / ".hidden" / "x.png", _image(99))  # hidden folder: skipped
  return str(root), paths


def test_labels_follow_sorted_class_folders(tree):
  root, paths = tree
  data = image_folder.load(root, image_size=16)
  assert data.class_names == ("happy", "neutral", "surprise")
  assert data.images.shape == (7, 16, 16, 1) and data.images.dtype == np.uint8
  assert data.labels.dtype == np.int32 and data.labels.tolist() == [0, 0, 0, 1, 1, 2, 2]
  assert data.paths == tuple(p for c in data.class_names for p in sorted(paths[c]))
  for img, label, path in zip(data.images, data.labels, data.paths):
    assert path.startswith(os.path.join(root, data.class_names[label], ""))
    np.testing.assert_array_equal(img, _expected(path, 16))
  assert data.excluded == []


def test_classes_choose_the_order_and_a_subset(tree):
  root, paths = tree
  data = image_folder.load(root, image_size=8, classes=("surprise", "happy"))
  assert data.class_names == ("surprise", "happy")
  assert data.labels.tolist() == [0, 0, 1, 1, 1]
  assert set(data.paths[:2]) == set(paths["surprise"])


def test_colour_images_and_resize_equal_opencv(tree):
  root, _ = tree
  data = image_folder.load(root, image_size=12, grayscale=False)
  assert data.images.shape == (7, 12, 12, 3)
  for img, path in zip(data.images, data.paths):
    np.testing.assert_array_equal(img, _expected(path, 12, grey=False))


def test_corrupt_and_truncated_files_are_excluded_with_their_path(tree):
  root, _ = tree
  bad = os.path.join(root, "neutral", "broken.png")
  with open(bad, "wb") as f:
    f.write(b"not a png at all")
  cut = os.path.join(root, "surprise", "cut.jpg")
  _write(cut, _image(5))
  data_bytes = open(cut, "rb").read()
  with open(cut, "wb") as f:
    f.write(data_bytes[:len(data_bytes) // 2])
  data = image_folder.load(root, image_size=8)
  assert len(data.images) == 7 and bad not in data.paths and cut not in data.paths
  assert {e.key for e in data.excluded} == {bad, cut}
  assert all(e.key in e.reason and not e.repaired for e in data.excluded)


def test_missing_root_and_empty_trees_name_the_path(tmp_path):
  missing = str(tmp_path / "nowhere")
  with pytest.raises(DataError, match=f"{missing}: image folder does not exist"):
    image_folder.load(missing, image_size=8)
  root = tmp_path / "flat"
  _write(root / "a.png", _image(0))  # images, but no class folder
  with pytest.raises(DataError, match=f"{root}: no class folders"):
    image_folder.load(str(root), image_size=8)
  (root / "empty" / "sub").mkdir(parents=True)
  (root / "empty" / "sub" / "readme.txt").write_text("x")
  with pytest.raises(DataError, match=f"{root / 'empty'}: class folder holds no image"):
    image_folder.load(str(root), image_size=8)
  with pytest.raises(DataError, match=f"{root / 'angry'}: class folder does not exist"):
    image_folder.load(str(root), image_size=8, classes=("angry",))


def test_all_images_unreadable_names_the_root(tmp_path):
  root = tmp_path / "bad"
  (root / "c").mkdir(parents=True)
  (root / "c" / "x.png").write_bytes(b"garbage")
  with pytest.raises(DataError, match=f"{root}: none of its 1 images could be read.*x.png"):
    image_folder.load(str(root), image_size=8)


def test_bad_arguments_are_config_errors(tree):
  root, _ = tree
  with pytest.raises(ConfigError, match="face='dlib'"):
    image_folder.load(root, image_size=8, face="dlib")
  with pytest.raises(ConfigError, match="distinct"):
    image_folder.load(root, image_size=8, classes=("happy", "happy"))


def test_haar_crops_the_face_and_excludes_an_image_without_one(tmp_path):
  g = face_drawing.draw_subject(np.random.default_rng(0))
  rgb = np.clip(face_drawing.render_neutral(g, 240), 0, 255).astype(np.uint8)
  face_path = _write(tmp_path / "root" / "neutral" / "face.png", rgb)
  blank = _write(tmp_path / "root" / "neutral" / "blank.png", np.zeros((240, 240, 3), np.uint8))
  data = image_folder.load(str(tmp_path / "root"), image_size=32, face="haar")
  assert data.paths == (face_path,)
  x, y, w, h = image_folder.face_lib.detect(rgb)
  grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[y:y + h, x:x + w]
  want = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA)
  np.testing.assert_array_equal(data.images[0, ..., 0], want)
  assert w < 0.9 * 240  # a real crop, not the whole image
  [e] = data.excluded
  assert e.key == blank and "no face found" in e.reason and blank in e.reason
