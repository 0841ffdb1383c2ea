"""Tests for mer_jax.data.smic on trees written by mer_jax.data.synthetic.writers.smic.

End to end: a small synthetic dataset is written in the SMIC layout and read
back (classes, subjects, frame ranges, pixels, midpoint apex, non_micro
ignored, cropped copy, VIS subset), then the tree is damaged (a misspelt
emotion folder, a missing frame, a wrong root) to check exclusions and errors.
"""

import collections
import os
import shutil

import cv2
import numpy as np
import pytest

from mer_jax.data import apex as apex_lib
from mer_jax.data import datasets
from mer_jax.data import smic
from mer_jax.data import synthetic
from mer_jax.data.synthetic.writers import smic as smic_writer
from mer_jax.errors import ConfigError
from mer_jax.errors import DataError
from mer_jax.preprocess import frames as frames_lib

SPEC = synthetic.SyntheticSpec(num_subjects=3, clips_per_subject=4, image_size=32)


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
  return synthetic.generate(SPEC)


@pytest.fixture(scope="module")
def hs_root(data, tmp_path_factory) -> str:
  root = str(tmp_path_factory.mktemp("smic_hs"))
  smic_writer.write(data, root)
  return root


def _expected(data) -> dict:
  """(subject, clip) -> (synthetic sample, video) for the clips SMIC keeps."""
  out = {}
  for s, video, rel in zip(data.samples, data.videos, smic_writer.clip_paths(data.samples)):
    subject, kind, *_, clip = rel.split("/")
    if kind == "micro":
      out[(subject, clip)] = (s, video)
  return out


def test_load_gives_the_micro_clips_by_class(data, hs_root):
  scan = smic.load(hs_root)
  mapped = [smic_writer.EMOTION_MAP[s.emotion] for s in data.samples]
  expected = collections.Counter(m[0] for m in mapped if m is not None)
  assert collections.Counter(s.emotion for s in scan.samples) == expected
  assert {s.dataset for s in scan.samples} == {"smic"}
  assert [s.subject for s in scan.samples] == sorted(
      (s.subject for s in scan.samples), key=lambda x: int(x[1:]))
  assert {s.subject for s in scan.samples} <= {"s1", "s2", "s3"}
  assert scan.excluded == []


def test_non_micro_clips_are_ignored(data, hs_root):
  others = sum(s.emotion == "others" for s in data.samples)
  assert others >= 1  # the spec's weights give at least one 'others' clip
  non_micro = [os.path.join(dp) for dp, _, files in os.walk(hs_root)
               if "non_micro" in dp and files]
  assert len(non_micro) == 2 * others  # raw + cropped copies exist on disk
  scan = smic.load(hs_root)
  assert len(scan.samples) == len(data.samples) - others
  assert not any("non_micro" in p for s in scan.samples for p in s.frame_paths)
  assert not any("non_micro" in e.reason for e in scan.exclusions)


def test_frames_ranges_pixels_and_midpoint_apex(data, hs_root):
  scan = smic.load(hs_root, frames="raw")
  expected = _expected(data)
  assert {(s.subject, s.clip) for s in scan.samples} == set(expected)
  for s in scan.samples:
    original, video = expected[(s.subject, s.clip)]
    assert (s.onset, s.offset) == (original.onset + smic_writer.FRAME_BASE,
                                   original.offset + smic_writer.FRAME_BASE)
    assert [frames_lib.frame_number(p) for p in s.frame_paths] == list(
        range(s.onset, s.offset + 1))
    assert os.path.basename(s.frame_paths[0]) == f"image{s.onset}.bmp"
    assert (s.apex, s.apex_source) == (apex_lib.midpoint(s.onset, s.offset), "midpoint")
    np.testing.assert_array_equal(frames_lib.read_frames(s.frame_paths), video)


def test_annotated_apex_gives_one_dataset_note(hs_root):
  scan = smic.load(hs_root, apex="annotated")
  assert len(scan.repaired) == 1
  note = scan.repaired[0]
  assert note.key == "smic/*/*" and "no apex annotation" in note.reason
  assert smic.load(hs_root, apex="midpoint").exclusions == []
  diff = smic.load(hs_root, apex="frame_difference")
  assert {s.apex_source for s in diff.samples} == {"frame_difference"}
  assert all(s.onset <= s.apex <= s.offset for s in diff.samples)


def test_cropped_frames_are_found_by_glob(data, hs_root):
  raw, cropped = smic.load(hs_root, frames="raw"), smic.load(hs_root, frames="cropped")
  assert [(s.clip, s.onset, s.offset) for s in cropped.samples] == [
      (s.clip, s.onset, s.offset) for s in raw.samples]
  first = cropped.samples[0].frame_paths[0]
  assert "SMIC_all_cropped" in first and os.path.basename(first).startswith("reg_image")


def test_vis_subset(data, tmp_path):
  smic_writer.write(data, str(tmp_path), subset="VIS")
  scan = datasets.load("smic_vis", str(tmp_path))
  assert {s.dataset for s in scan.samples} == {"smic_vis"}
  assert len(scan.samples) == len(_expected(data))
  assert scan.repaired[0].key == "smic_vis/*/*"
  with pytest.raises(DataError, match="SMIC_all_raw/HS"):
    smic.load(str(tmp_path), subset="hs")


def _write_bmps(folder: str, numbers) -> None:
  os.makedirs(folder, exist_ok=True)
  for n in numbers:
    cv2.imwrite(os.path.join(folder, f"image{n}.bmp"), np.full((8, 8, 3), n % 256, np.uint8))


def test_frames_sort_numerically_across_a_digit_boundary_in_a_doubled_folder(tmp_path):
  clip = tmp_path / "SMIC_all_raw" / "SMIC_all_raw" / "HS" / "s12" / "micro" / "positive"
  _write_bmps(str(clip / "s12_po_01"), [98, 99, 100, 101, 102])
  _write_bmps(str(tmp_path / "SMIC_all_raw" / "SMIC_all_raw" / "HS" / "s2" / "micro" /
                  "Surprise" / "s2_sur_01"), [7, 8, 9, 10])
  scan = smic.load(str(tmp_path))
  assert [(s.subject, s.emotion) for s in scan.samples] == [("s2", "surprise"),
                                                           ("s12", "positive")]
  s = scan.samples[1]
  assert [os.path.basename(p) for p in s.frame_paths] == [
      "image98.bmp", "image99.bmp", "image100.bmp", "image101.bmp", "image102.bmp"]
  assert (s.onset, s.apex, s.offset) == (98, 100, 102)
  assert scan.samples[0].apex == 8


@pytest.fixture()
def damaged_root(hs_root, tmp_path) -> str:
  root = str(tmp_path / "smic")
  shutil.copytree(os.path.join(hs_root, "SMIC_all_raw"), os.path.join(root, "SMIC_all_raw"))
  return root


def test_unknown_emotion_folder_is_excluded_with_reason(damaged_root):
  before = smic.load(damaged_root)
  negatives = [s for s in before.samples if s.emotion == "negative"]
  subject = negatives[0].subject
  micro = os.path.join(damaged_root, "SMIC_all_raw", "HS", subject, "micro")
  os.rename(os.path.join(micro, "negative"), os.path.join(micro, "negativ"))
  scan = smic.load(damaged_root)
  lost = [s for s in negatives if s.subject == subject]
  assert len(scan.samples) == len(before.samples) - len(lost)
  assert sorted(e.key for e in scan.excluded) == sorted(s.key for s in lost)
  assert all("negativ" in e.reason and "not one of" in e.reason for e in scan.excluded)


def test_missing_middle_frame_excludes_the_clip(damaged_root):
  victim = smic.load(damaged_root).samples[0]
  middle = victim.frame_paths[2]
  os.remove(middle)
  scan = smic.load(damaged_root)
  assert victim.key not in {s.key for s in scan.samples}
  [excluded] = scan.excluded
  assert excluded.key == victim.key and "missing" in excluded.reason
  assert str(frames_lib.frame_number(middle)) in excluded.reason


def test_bad_root_and_options(tmp_path):
  with pytest.raises(DataError, match="SMIC_all_raw"):
    smic.load(str(tmp_path))
  with pytest.raises(DataError, match="not a folder"):
    smic.load(str(tmp_path / "nowhere"))
  (tmp_path / "SMIC_all_raw" / "HS").mkdir(parents=True)
  with pytest.raises(DataError, match="no subject folders"):
    smic.load(str(tmp_path))
  with pytest.raises(ConfigError, match="subset"):
    smic.load(str(tmp_path), subset="thermal")
  with pytest.raises(ConfigError, match="apex"):
    smic.load(str(tmp_path), apex="guess")


# ------------------------------------------------------- which frame tree ---


@pytest.fixture(scope="module")
def trees(hs_root, tmp_path_factory) -> dict[str, str]:
  """SMIC roots holding both trees, only SMIC_all_cropped, only SMIC_all_raw, neither."""
  out = {"both": hs_root}
  for name, keep in (("cropped", "SMIC_all_cropped"), ("raw", "SMIC_all_raw")):
    root = str(tmp_path_factory.mktemp(f"smic_{name}_only"))
    shutil.copytree(os.path.join(hs_root, keep), os.path.join(root, keep))
    out[name] = root
  out["neither"] = str(tmp_path_factory.mktemp("smic_neither"))
  return out


@pytest.mark.parametrize("tree, frames, top, source", [
    ("cropped", "auto", "SMIC_all_cropped", "face_crop"),
    ("raw", "auto", "SMIC_all_raw", "uncropped"),
    ("both", "auto", "SMIC_all_cropped", "face_crop"),  # the MEGC 2019 distribution
    ("both", "", "SMIC_all_cropped", "face_crop"),
    ("both", "raw", "SMIC_all_raw", "uncropped"),
    ("both", "cropped", "SMIC_all_cropped", "face_crop"),
    ("cropped", "cropped", "SMIC_all_cropped", "face_crop"),
])
def test_frames_option_finds_the_tree(data, trees, tree, frames, top, source):
  scan = smic.load(trees[tree], frames=frames)
  assert len(scan.samples) == len(_expected(data)) and scan.excluded == []
  assert all(f"{os.sep}{top}{os.sep}" in p for s in scan.samples for p in s.frame_paths)
  assert {s.frame_source for s in scan.samples} == {source}


def test_default_option_is_auto_in_the_registry(trees):
  assert datasets.ADAPTER_OPTIONS["smic"] == {"frames": "auto"}
  assert datasets.ADAPTER_OPTIONS["smic_vis"] == datasets.ADAPTER_OPTIONS["smic_nir"]
  scan = datasets.load("smic", trees["cropped"], **datasets.ADAPTER_OPTIONS["smic"])
  assert {s.frame_source for s in scan.samples} == {"face_crop"}
  assert {s.frame_source for s in datasets.load("smic", trees["raw"], frames="").samples} == {
      "uncropped"}


@pytest.mark.parametrize("tree, frames, missing, present", [
    ("cropped", "raw", "SMIC_all_raw/HS", "SMIC_all_cropped/HS exists"),
    ("raw", "cropped", "SMIC_all_cropped/HS", "SMIC_all_raw/HS exists"),
])
def test_asking_for_a_missing_tree_names_both_and_suggests_auto(trees, tree, frames,
                                                               missing, present):
  with pytest.raises(DataError) as e:
    smic.load(trees[tree], frames=frames)
  message = str(e.value)
  assert f"{trees[tree]}/{missing}, which does not exist" in message
  assert present in message and "frames='auto'" in message and "\n" not in message


def test_neither_tree_names_both_paths(trees):
  root = trees["neither"]
  for frames in ("auto", "raw"):
    with pytest.raises(DataError) as e:
      smic.load(root, frames=frames)
    assert f"{root}/SMIC_all_cropped/HS" in str(e.value)
    assert f"{root}/SMIC_all_raw/HS" in str(e.value)
  with pytest.raises(ConfigError, match=r"frames='thermal'; expected one of \['auto', "):
    smic.load(root, frames="thermal")


def test_auto_finds_a_doubled_cropped_tree(trees, tmp_path):
  shutil.copytree(os.path.join(trees["cropped"], "SMIC_all_cropped"),
                  str(tmp_path / "SMIC_all_cropped" / "SMIC_all_cropped"))
  scan = smic.load(str(tmp_path))
  assert scan.samples and {s.frame_source for s in scan.samples} == {"face_crop"}


def test_cover_image_in_a_clip_folder_gives_one_note(damaged_root):
  victim = smic.load(damaged_root).samples[0]
  folder = os.path.dirname(victim.frame_paths[0])
  cv2.imwrite(os.path.join(folder, "cover.jpg"), np.zeros((8, 8, 3), np.uint8))
  scan = smic.load(damaged_root, apex="midpoint")
  kept = {s.key: s for s in scan.samples}[victim.key]
  assert kept.frame_paths == victim.frame_paths and scan.excluded == []
  assert [(e.key, e.reason) for e in scan.repaired] == [
      (victim.key, f"{folder}: cover.jpg has no frame number; ignored")]
