"""layout.attach_frames: the one place every adapter gets a clip's frames and apex."""

import pathlib

import cv2
import numpy as np
import pytest

from mer_jax.data import apex as apex_lib
from mer_jax.data import datasets, layout, synthetic
from mer_jax.data.sample import Sample
from mer_jax.data.synthetic.writers import samm as samm_writer
from mer_jax.errors import ConfigError


def clip_folder(tmp_path: pathlib.Path, numbers) -> pathlib.Path:
  """Frames img<N>.png; frame 12 differs most from the first."""
  folder = tmp_path / "sub01" / "EP01"
  folder.mkdir(parents=True)
  for n in numbers:
    value = 200 if n == 12 else 100 + n
    cv2.imwrite(str(folder / f"img{n}.png"), np.full((8, 8, 3), value, np.uint8))
  return folder


SAMPLE = Sample(dataset="d", subject="sub01", clip="EP01", emotion="happiness", onset=10,
                apex=11, offset=14)


def test_annotated_apex_is_kept_and_other_policies_use_the_frames(tmp_path):
  folder = clip_folder(tmp_path, range(9, 16))  # 9 and 15 lie outside onset..offset.
  kept, notes = layout.attach_frames(SAMPLE, str(folder), "annotated")
  assert (kept.apex, kept.apex_source) == (11, "annotated")
  assert [pathlib.Path(p).name for p in kept.frame_paths] == [f"img{n}.png"
                                                              for n in range(10, 15)]
  assert len(notes) == 1 and notes[0].repaired and "2 frame files outside" in notes[0].reason
  peak, _ = layout.attach_frames(SAMPLE, str(folder), "frame_difference")
  assert (peak.apex, peak.apex_source) == (12, "frame_difference")
  middle, _ = layout.attach_frames(SAMPLE, str(folder), "midpoint")
  assert (middle.apex, middle.apex_source) == (12, "midpoint")


def test_unreadable_frame_leaves_out_only_that_sample(tmp_path):
  folder = clip_folder(tmp_path, range(10, 15))
  (folder / "img13.png").write_bytes(b"not an image")
  kept, _ = layout.attach_frames(SAMPLE, str(folder), "annotated")  # Frames not decoded.
  assert kept is not None
  left_out, notes = layout.attach_frames(SAMPLE, str(folder), "frame_difference")
  assert left_out is None and "img13.png" in notes[0].reason and not notes[0].repaired


def test_samm_with_frame_difference_survives_a_corrupt_frame(tmp_path):
  """Regression: SAMM's own frame code used to let this DataError stop the whole load."""
  spec = synthetic.SyntheticSpec(num_subjects=2, clips_per_subject=3, image_size=32)
  samm_writer.write(synthetic.generate(spec), str(tmp_path))
  frame = sorted((tmp_path / "SAMM").rglob("*.jpg"))[1]
  frame.write_bytes(b"garbage")
  scan = datasets.load("samm", str(tmp_path), apex="frame_difference")
  assert len(scan.samples) == 5
  assert [e for e in scan.excluded if frame.name in e.reason]


def test_unusable_policies_are_refused_before_reading_anything():
  with pytest.raises(ConfigError, match="expected one of"):
    apex_lib.check_policy("peak")
  with pytest.raises(ConfigError, match="flow_peak' is not implemented"):
    apex_lib.check_policy("flow_peak")
  apex_lib.check_policy("frame_difference")


def test_cover_image_in_a_clip_folder_is_ignored_with_one_note(tmp_path):
  """A 41-frame CASME II-like clip (img46..img86) plus cover.jpg and notes.txt."""
  folder = clip_folder(tmp_path, range(46, 87))
  cv2.imwrite(str(folder / "cover.jpg"), np.zeros((8, 8, 3), np.uint8))
  (folder / "notes.txt").write_text("not an image")
  sample = Sample(dataset="casme2", subject="sub01", clip="EP01", emotion="happiness",
                  onset=46, apex=59, offset=86)
  kept, notes = layout.attach_frames(sample, str(folder), "annotated",
                                     frame_source="face_crop")
  assert kept is not None and len(kept.frame_paths) == 41
  assert kept.frame_source == "face_crop"
  assert [(n.key, n.reason, n.repaired) for n in notes] == [
      ("casme2/sub01/EP01", f"{folder}: cover.jpg has no frame number; ignored", True)]
  peak, notes = layout.attach_frames(sample, str(folder), "frame_difference")
  assert peak is not None and len(notes) == 1 and peak.frame_source == "uncropped"


def test_long_video_folders_can_skip_the_outside_frames_note(tmp_path):
  folder = clip_folder(tmp_path, range(1, 30))
  kept, notes = layout.attach_frames(SAMPLE, str(folder), "annotated", note_extra=False)
  assert kept is not None and notes == []
