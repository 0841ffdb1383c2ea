"""Labelled clip folders for pre-training (data/video_folder.py)."""

import cv2
import numpy as np
import pytest

from mer_jax.data import video_folder
from mer_jax.errors import DataError


def _clip(folder, n, value):
  folder.mkdir(parents=True)
  for i in (10, 2, 1)[:n]:  # written out of order: read back by frame number
    cv2.imwrite(str(folder / f"img{i}.png"), np.full((8, 8, 3), value + i, np.uint8))


def test_clips_are_found_per_class_nested_and_sorted_by_frame_number(tmp_path):
  _clip(tmp_path / "happy" / "c1", 3, 100)
  _clip(tmp_path / "surprise" / "S005" / "001", 2, 50)   # CK+-style subject/clip
  (tmp_path / "surprise" / "notes.txt").write_text("x")
  clips, names = video_folder.load(str(tmp_path))
  assert names == ("happy", "surprise")
  assert [(c.name, c.label) for c in clips] == [("happy/c1", 0), ("surprise/S005/001", 1)]
  assert [p.rsplit("/", 1)[1] for p in clips[0].frame_paths] == ["img1.png", "img2.png",
                                                                  "img10.png"]
  clips, names = video_folder.load(str(tmp_path), classes=("surprise",))
  assert names == ("surprise",) and clips[0].label == 0


def test_a_class_without_clips_or_a_missing_root_names_the_folder(tmp_path):
  (tmp_path / "sad").mkdir()
  with pytest.raises(DataError, match="sad: no clip folder"):
    video_folder.load(str(tmp_path))
  with pytest.raises(DataError, match="nowhere"):
    video_folder.load(str(tmp_path / "nowhere"))
