"""Tests for tests/corpus_trees.py and the writers' photo-realistic options.

The helper cuts clips from a real photograph (skimage.data.astronaut()) and
writes the MEGC 2019 / 2018 corpora in their distributed layouts from the
REAL annotation files of ../shared (skipped when it is absent). Checked
here: the clips (sizes, motion, tight crop, off-centre face), the trees
(parsed by the project's adapters to the documented counts, every row's
frames present, frame sizes, hard links), and the writers' new arguments
(CASME II raw_videos, SMIC trees/raw_videos, SAMM 960x650 frames).
"""

import collections
import dataclasses
import os
import sys
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from mer_jax.data import casme2, megc, samm, smic, synthetic
from mer_jax.data import labels as labels_lib
from mer_jax.data.synthetic.writers import casme2 as casme2_writer
from mer_jax.data.synthetic.writers import samm as samm_writer
from mer_jax.data.synthetic.writers import smic as smic_writer
from mer_jax.errors import ConfigError, DataError

try:
  import corpus_trees  # pytest puts tests/ (the folder of conftest.py) on sys.path
except ImportError:  # another import mode: add it here
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import corpus_trees


def _face_template(w: int, h: int, grey: bool = True) -> np.ndarray:
  """The photo's FACE_BOX resized to w x h, as an independent reference."""
  x0, y0, x1, y1 = corpus_trees.FACE_BOX
  face = cv2.resize(np.asarray(corpus_trees.photo()[y0:y1, x0:x1]), (w, h),
                    interpolation=cv2.INTER_LINEAR)
  return cv2.cvtColor(face, cv2.COLOR_RGB2GRAY) if grey else face


def _find_face(frame: np.ndarray, w: int, h: int) -> tuple[tuple[int, int], float]:
  """Top-left (x, y) of the best match of the w x h face template, and its score."""
  grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
  scores = cv2.matchTemplate(grey, _face_template(w, h), cv2.TM_CCOEFF_NORMED)
  _, best, _, where = cv2.minMaxLoc(scores)
  return where, best


# ------------------------------------------------------------------ clips ---


@pytest.mark.parametrize("size_wh", [(230, 280), (170, 200), (221, 287)])
def test_photo_face_clip_is_a_tight_crop_of_the_size_asked(size_wh):
  clip = corpus_trees.photo_face_clip(9, size_wh, np.random.default_rng(0))
  assert clip.shape == (9, size_wh[1], size_wh[0], 3) and clip.dtype == np.uint8
  # Onset (no motion) is the face box itself, resized: no margin around it.
  onset = cv2.cvtColor(clip[0], cv2.COLOR_RGB2GRAY).astype(np.float32)
  reference = _face_template(*size_wh).astype(np.float32)
  assert np.corrcoef(onset.ravel(), reference.ravel())[0, 1] > 0.98


def test_photo_face_clip_moves_smoothly_and_clips_differ():
  rng = np.random.default_rng(1)
  clip = corpus_trees.photo_face_clip(11, (230, 280), rng, apex_index=6).astype(np.float32)
  change = np.abs(clip - clip[0]).mean(axis=(1, 2, 3))  # [T]
  assert change[0] == 0 and change.argmax() == 6  # peaks at the apex
  assert np.all(np.diff(change[:7]) > 0) and np.all(np.diff(change[6:]) < 0)
  assert change[6] < 12  # a few pixels of motion, not a different picture
  other = corpus_trees.photo_face_clip(11, (230, 280), rng, apex_index=6).astype(np.float32)
  assert np.abs(other[6] - clip[6]).mean() > 0.5


@pytest.mark.parametrize("frame_wh, grey", [((960, 650), True), ((640, 480), False)])
def test_uncropped_clip_puts_the_face_off_centre(frame_wh, grey):
  boxes = []
  for seed in range(4):
    frames, (x, y, w, h) = corpus_trees.uncropped_clip(5, frame_wh, np.random.default_rng(seed),
                                                       grey=grey)
    assert frames.shape == (5, frame_wh[1], frame_wh[0], 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[..., 0], frames[..., 2]) == grey
    assert 0 <= x and x + w <= frame_wh[0] and 0 <= y and y + h <= frame_wh[1]
    (fx, fy), score = _find_face(frames[0], w, h)
    assert score > 0.9 and abs(fx - x) <= 3 and abs(fy - y) <= 3
    assert abs(fx + w / 2 - frame_wh[0] / 2) >= 0.15 * frame_wh[0] - 3
    boxes.append((x, y))
  assert len(set(boxes)) == 4  # the position varies


def test_key_frames_cover_every_frame_and_the_apex():
  keys, nearest = corpus_trees.key_frames(100, 37, 4)
  assert 37 in keys and keys[0] == 0 and keys[-1] == 99 and len(nearest) == 100
  assert nearest[37] == keys.index(37)
  assert all(abs(keys[k] - i) <= 17 for i, k in enumerate(nearest))


# -------------------------------------------------------- the MEGC trees ---


@pytest.fixture(scope="module")
def annotations(shared_dir):
  folder = shared_dir / "reference" / "annotations"
  if not (folder / corpus_trees.CASME2_CODING).is_file():
    pytest.skip(f"{folder} lacks the reference annotation files")
  return folder


@pytest.fixture(scope="module")
def megc_roots(annotations, tmp_path_factory):
  start = time.perf_counter()
  roots = corpus_trees.write_megc2019_trees(tmp_path_factory.mktemp("megc"),
                                            annotations=annotations)
  roots["seconds"] = time.perf_counter() - start
  return roots


@pytest.fixture(scope="module")
def scans(megc_roots):
  return {"casme2": casme2.load(megc_roots["casme2"]), "samm": samm.load(megc_roots["samm"]),
          "smic": smic.load(megc_roots["smic"], frames="cropped")}


def test_every_annotated_row_gets_its_frames(scans):
  assert len(scans["casme2"].samples) == 255 and scans["casme2"].excluded == []
  assert len(scans["samm"].samples) == 159 and scans["samm"].excluded == []
  assert len(scans["smic"].samples) == 164 and scans["smic"].excluded == []
  for s in scans["casme2"].samples[:20] + scans["samm"].samples[:20]:
    assert len(s.frame_paths) == s.offset - s.onset + 1


def test_megc2019_composite_is_442_clips_of_68_subjects(scans, annotations):
  composite = megc.megc2019_composite(
      scans["casme2"].samples + scans["samm"].samples + scans["smic"].samples)
  per_db = collections.Counter(s.dataset for s in composite)
  subjects = {db: len({s.subject for s in composite if s.dataset == db}) for db in per_db}
  assert per_db == {"casme2": 145, "samm": 133, "smic": 164}
  assert subjects == {"casme2": 24, "samm": 28, "smic": 16}
  assert len(composite) == 442 and len({(s.dataset, s.subject) for s in composite}) == 68
  # The same clips and labels as the official ground truth.
  scheme = labels_lib.get_scheme("megc2019")
  gt = megc.read_megc2019_gt(str(annotations / corpus_trees.MEGC2019_GT))
  assert {megc.gt_key(s) + (scheme.label(s),) for s in composite} == set(gt)


def test_megc2018_objective_is_253_clips_of_47_subjects(scans):
  chosen = megc.megc2018_objective(scans["casme2"].samples + scans["samm"].samples)
  per_db = collections.Counter(s.dataset for s in chosen)
  assert per_db == {"casme2": 185, "samm": 68}
  assert len(chosen) == 253 and len({(s.dataset, s.subject) for s in chosen}) == 47


def test_megc2018_trees_are_the_casme2_and_samm_roots(annotations, tmp_path):
  roots = corpus_trees.write_megc2018_trees(tmp_path, annotations=annotations, distinct=1,
                                            samm_size=(480, 325))
  assert set(roots) == {"casme2", "samm"}
  samm_scan = samm.load(roots["samm"])
  chosen = megc.megc2018_objective(casme2.load(roots["casme2"]).samples + samm_scan.samples)
  assert len(chosen) == 253 and len({(s.dataset, s.subject) for s in chosen}) == 47
  assert cv2.imread(samm_scan.samples[0].frame_paths[0], cv2.IMREAD_UNCHANGED).shape == (325, 480)


def test_raw_trees_hold_uncropped_frames_of_the_same_clips(annotations, tmp_path):
  corpus_trees.write_smic_tree(tmp_path / "smic", trees=("raw", "cropped"), distinct=1,
                               subjects=("s1", "s2"), annotations=annotations)
  corpus_trees.write_casme2_tree(tmp_path / "casme2", trees=("cropped", "raw_selected"),
                                 distinct=1, subjects=("sub01",), annotations=annotations)
  pairs = {"smic": [smic.load(str(tmp_path / "smic"), frames=f).samples
                    for f in ("raw", "cropped")],
           "casme2": [casme2.load(str(tmp_path / "casme2"), frames=f).samples
                      for f in ("raw_selected", "cropped")]}
  assert [len(p[0]) for p in pairs.values()] == [12, 9]  # GT: s1 6 + s2 6; sub01 9 rows
  for raw, cropped in pairs.values():
    assert [(s.clip, s.onset, s.offset) for s in raw] == [
        (s.clip, s.onset, s.offset) for s in cropped]
    assert set(_sizes(raw)) == {(640, 480)}
    frame = cv2.cvtColor(cv2.imread(raw[0].frame_paths[0]), cv2.COLOR_BGR2RGB)
    scores = [_find_face(frame, int(round(h * 102 / 126)), h)[1] for h in (240, 264)]
    assert max(scores) > 0.85


def _sizes(samples) -> list[tuple[int, int]]:
  """(W, H) of the first frame of each sample (PIL reads only the header)."""
  out = []
  for s in samples:
    with Image.open(s.frame_paths[0]) as image:
      out.append(image.size)
  return out


def test_crops_have_the_sizes_asked(scans):
  for name, (w, h), jitter in (("casme2", corpus_trees.CASME2_CROP_WH, 8),
                               ("smic", corpus_trees.SMIC_CROP_WH, 6)):
    sizes = _sizes(scans[name].samples)
    assert all(abs(sw - w) <= jitter and abs(sh - h) <= jitter for sw, sh in sizes), name
    assert len(set(sizes)) > 10, name  # the crop size varies per clip
  first = scans["smic"].samples[0].frame_paths[0]
  assert "SMIC_all_cropped/HS/s1/micro/" in first
  assert os.path.basename(first).startswith("reg_image") and len(str(
      scans["smic"].samples[0].onset)) == 6


def test_samm_frames_are_grey_960x650_with_the_face_off_centre(scans):
  by_subject = {}
  for s in scans["samm"].samples:
    by_subject.setdefault(s.subject, s)
  positions = []
  for s in list(by_subject.values())[:4]:
    frame = cv2.imread(s.frame_paths[0], cv2.IMREAD_UNCHANGED)
    assert frame.shape == (650, 960)  # a single-channel JPEG
    h = int(0.55 * 650)
    w = int(round(h * 102 / 126))
    (x, y), score = _find_face(frame, w, h)
    assert score > 0.85
    assert abs(x + w / 2 - 480) >= 0.15 * 960 - 3
    positions.append((x, y))
  assert len(set(positions)) == 4  # placed per subject


def test_frames_move_between_onset_and_apex(scans):
  s = next(s for s in scans["casme2"].samples
           if s.apex_source == "annotated" and s.apex - s.onset > 10 and s.offset - s.apex > 10)
  frames = [cv2.imread(s.frame_paths[i]).astype(np.float32)
            for i in (0, s.apex - s.onset, len(s.frame_paths) - 1)]
  assert np.abs(frames[1] - frames[0]).mean() > np.abs(frames[2] - frames[0]).mean()
  assert np.abs(frames[1] - frames[0]).mean() > 0.5


def test_frames_are_mostly_hard_links(megc_roots):
  for name in ("casme2", "samm", "smic"):
    size, entries = corpus_trees.disk_usage(megc_roots[name])
    files = sum(len(f) for _, _, f in os.walk(megc_roots[name]))
    distinct = len({os.stat(os.path.join(d, n)).st_ino
                    for d, _, f in os.walk(megc_roots[name]) for n in f})
    assert entries == files and distinct < files / 2, name
  print(f"MEGC 2019 trees built in {megc_roots['seconds']:.1f} s")


def test_missing_annotations_are_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="annotation files"):
    corpus_trees.write_casme2_tree(tmp_path / "c", annotations=tmp_path)


# ------------------------------------------------------------ the writers ---


@pytest.fixture(scope="module")
def photo_data():
  spec = synthetic.SyntheticSpec(num_subjects=2, clips_per_subject=3, image_size=32, fps=100,
                                 max_duration_s=0.08, emotions=("happiness", "surprise",
                                                                "disgust"))
  data = synthetic.generate(spec)
  lengths = [len(v) for v in data.videos]
  return dataclasses.replace(data, videos=corpus_trees.photo_videos(lengths, (230, 280)))


def test_casme2_writer_puts_raw_videos_in_raw_selected(photo_data, tmp_path):
  raw, _ = corpus_trees.uncropped_videos([len(v) for v in photo_data.videos], (640, 480))
  casme2_writer.write(photo_data, str(tmp_path), raw_videos=raw)
  cropped = casme2.load(str(tmp_path))
  selected = casme2.load(str(tmp_path), frames="raw_selected")
  assert len(cropped.samples) == len(selected.samples) == len(photo_data.samples)
  assert set(_sizes(cropped.samples)) == {(230, 280)}
  assert set(_sizes(selected.samples)) == {(640, 480)}
  with pytest.raises(ConfigError, match="raw_videos"):
    casme2_writer.write(photo_data, str(tmp_path), raw_videos=raw[:-1])


def test_casme2_writer_without_raw_videos_writes_the_crops_twice(photo_data, tmp_path):
  casme2_writer.write(photo_data, str(tmp_path))
  assert set(_sizes(casme2.load(str(tmp_path), frames="raw_selected").samples)) == {(230, 280)}


def test_smic_writer_writes_the_trees_asked(photo_data, tmp_path):
  raw, _ = corpus_trees.uncropped_videos([len(v) for v in photo_data.videos], (640, 480))
  smic_writer.write(photo_data, str(tmp_path / "c"), trees=("cropped",))
  assert os.listdir(tmp_path / "c") == ["SMIC_all_cropped"]
  assert set(_sizes(smic.load(str(tmp_path / "c"), frames="cropped").samples)) == {(230, 280)}
  with pytest.raises(DataError):
    smic.load(str(tmp_path / "c"), frames="raw")
  smic_writer.write(photo_data, str(tmp_path / "r"), trees=("raw",), raw_videos=raw)
  assert os.listdir(tmp_path / "r") == ["SMIC_all_raw"]
  assert set(_sizes(smic.load(str(tmp_path / "r"), frames="raw").samples)) == {(640, 480)}
  smic_writer.write(photo_data, str(tmp_path / "b"), raw_videos=raw)
  both = {f: smic.load(str(tmp_path / "b"), frames=f).samples for f in ("raw", "cropped")}
  assert [s.clip for s in both["raw"]] == [s.clip for s in both["cropped"]]
  assert set(_sizes(both["raw"])) == {(640, 480)} and set(_sizes(both["cropped"])) == {(230, 280)}
  for bad in ((), ("raw", "crop")):
    with pytest.raises(ConfigError, match="trees"):
      smic_writer.write(photo_data, str(tmp_path / "x"), trees=bad)
  with pytest.raises(ConfigError, match="raw_videos"):
    smic_writer.write(photo_data, str(tmp_path / "x"), raw_videos=raw[:1])


def test_samm_writer_takes_uncropped_960x650_frames(photo_data, tmp_path):
  raw, boxes = corpus_trees.uncropped_videos([len(v) for v in photo_data.videos], (960, 650),
                                             grey=True)
  samm_writer.write(dataclasses.replace(photo_data, videos=raw), str(tmp_path))
  scan = samm.load(str(tmp_path))
  assert len(scan.samples) == len(photo_data.samples)
  frame = cv2.imread(scan.samples[0].frame_paths[0], cv2.IMREAD_UNCHANGED)
  assert frame.shape == (650, 960)
  x, y, w, h = boxes[0]
  (fx, fy), score = _find_face(frame, w, h)
  assert score > 0.85 and abs(fx - x) <= 3 and abs(fy - y) <= 3
  # Grey [T, H, W] frames are written as they are.
  grey = [v[..., 0] for v in raw]
  samm_writer.write(dataclasses.replace(photo_data, videos=grey), str(tmp_path / "g"))
  again = cv2.imread(samm.load(str(tmp_path / "g")).samples[0].frame_paths[0],
                     cv2.IMREAD_UNCHANGED)
  assert np.abs(again.astype(int) - frame.astype(int)).max() <= 2
