"""Tests for mer_jax.preprocess.face: transform geometry, one transform per clip, detection.

Detection is tested on faces from the project's procedural renderer
(`mer_jax.data.synthetic.face_drawing`): OpenCV's wheel ships cascades but no test
images, and nothing is downloaded. The frontal-face cascade finds these faces
(checked over many subjects while writing this test), so a test on them cannot
pass vacuously: it asserts a box where the face was drawn, and eyes levelled
to within a few degrees of the known truth. The detector chain's fallbacks
are tested on skimage's astronaut photograph: shrunk under the cascade's
window ('upscaled') and cut brow to chin with no margin ('padded').
"""

import dataclasses
import importlib.util
import math
import sys
import types

import cv2
import numpy as np
import pytest

from mer_jax.data.synthetic import face_drawing
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import face

S = 240  # rendered frame side


def _apply(matrix, points):
  """Maps (x, y) points [N, 2] through a 2x3 affine."""
  points = np.asarray(points, np.float64)
  return points @ matrix[:, :2].T + matrix[:, 2]


def _tilt_deg(left, right):
  return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def _rendered_face(seed, degrees=0.0):
  """uint8 RGB [S, S, 3] face rotated by `degrees` (counter-clockwise), true eyes [2, 2]."""
  g = face_drawing.draw_subject(np.random.default_rng(seed))
  img = np.clip(face_drawing.render_neutral(g, S), 0, 255).astype(np.uint8)
  # Face units (u, v) = (x, y) / S - 0.5, x and y pixel indices.
  eyes = np.array([[(0.5 - g["eye_dx"]) * S, (0.5 + g["eye_y"]) * S],
                   [(0.5 + g["eye_dx"]) * S, (0.5 + g["eye_y"]) * S]])
  m = cv2.getRotationMatrix2D(((S - 1) / 2, (S - 1) / 2), degrees, 1.0)
  img = cv2.warpAffine(img, m, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
  return img, _apply(m, eyes)


# --- alignment_transform ---------------------------------------------------------------


@pytest.mark.parametrize("tilt", [0.0, 17.0, -25.0])
def test_transform_levels_the_eyes_and_centres_the_box(tilt):
  box, size, margin = (40, 60, 100, 100), 64, 0.25
  centre = np.array([40 + 99 / 2, 60 + 99 / 2])
  direction = np.array([math.cos(math.radians(tilt)), math.sin(math.radians(tilt))])
  left, right = centre - 20 * direction, centre + 20 * direction
  m = face.alignment_transform(left, right, box, size, margin)
  (lx, ly), (rx, ry), c = _apply(m, [left, right, centre])
  assert ly == pytest.approx(ry, abs=1e-9) and rx > lx  # level, not upside down
  np.testing.assert_allclose(c, [(size - 1) / 2] * 2, atol=1e-9)
  scale = size / (100 * 1.5)
  assert rx - lx == pytest.approx(40 * scale)
  # Arguments in either order give the same transform.
  np.testing.assert_allclose(face.alignment_transform(right, left, box, size, margin), m)


def test_transform_maps_the_box_edges_onto_the_output_square():
  box, size = (30, 20, 80, 80), 40
  m = face.alignment_transform((50, 50), (90, 50), box, size, margin=0.0)
  # Outer pixel edges of the box -> outer pixel edges of the output.
  corners = _apply(m, [(29.5, 19.5), (109.5, 99.5), (29.5, 99.5)])
  np.testing.assert_allclose(corners, [(-0.5, -0.5), (39.5, 39.5), (-0.5, 39.5)], atol=1e-9)
  m = face.alignment_transform((50, 50), (90, 50), box, size, margin=0.25)
  inner = size * 0.25 / 1.5  # the margin's share of the output
  np.testing.assert_allclose(_apply(m, [(29.5, 19.5)]), [(inner - 0.5, inner - 0.5)], atol=1e-9)


def test_eye_centres_are_means_of_the_ibug_eye_points():
  points = np.zeros((68, 2))
  points[36:42] = [10, 20]
  points[42:48] = [30, 22]
  points[39] = [16, 20]  # moves the left mean by 1 px in x
  assert face.eye_centres(points) == ((11.0, 20.0), (30.0, 22.0))
  with pytest.raises(ValueError, match="68"):
    face.eye_centres(np.zeros((5, 2)))


# --- crop_clip ---------------------------------------------------------------------------


def _smooth_frame(h=120, w=140, seed=0):
  rng = np.random.default_rng(seed)
  f = cv2.GaussianBlur(rng.uniform(0, 255, (h, w, 3)).astype(np.float32), (0, 0), 3)
  return (f - f.min()) / (f.max() - f.min()) * 255


def test_unrotated_crop_without_margin_equals_resize_of_the_box():
  frame = _smooth_frame()
  box = (20, 10, 80, 80)
  m = face.alignment_transform((40, 40), (70, 40), box, 64, margin=0.0)
  out = face.crop_clip(frame[None], m, 64, antialias=False)[0]
  ref = cv2.resize(frame[10:90, 20:100], (64, 64), interpolation=cv2.INTER_LINEAR)
  np.testing.assert_allclose(out, ref, atol=0.5)


def test_identical_frames_give_identical_crops():
  frame = _smooth_frame().astype(np.uint8)
  m = face.alignment_transform((40, 42), (75, 35), (25, 15, 90, 90), 48, margin=0.1)
  out = face.crop_clip(np.stack([frame] * 4), m, 48)
  assert out.shape == (4, 48, 48, 3) and out.dtype == np.uint8
  for t in range(1, 4):
    np.testing.assert_array_equal(out[t], out[0])


def test_a_translation_between_frames_is_kept():
  frame = _smooth_frame()
  dy, dx = 3, -2
  clip = np.stack([frame, np.roll(frame, (dy, dx), axis=(0, 1))])  # frame 1 = frame 0 moved
  m = face.alignment_transform((50, 50), (80, 50), (30, 20, 64, 64), 64, margin=0.0)  # scale 1
  out = face.crop_clip(clip, m, 64)
  np.testing.assert_allclose(out[1, 8:-8, 8:-8], np.roll(out[0], (dy, dx), axis=(0, 1))[8:-8, 8:-8],
                             atol=1e-3)
  assert not np.allclose(out[1], out[0])


def test_antialiased_shrink_averages_instead_of_aliasing():
  checker = ((np.indices((200, 200)).sum(0) % 2) * 255).astype(np.float32)[..., None]
  m = face.alignment_transform((50, 50), (150, 50), (0, 0, 200, 200), 40, margin=0.0)  # 5x
  smooth = face.crop_clip(checker[None], m, 40)[0, 2:-2, 2:-2]
  np.testing.assert_allclose(smooth, 127.5, atol=30)  # k x k block means of a 1-px checker
  aliased = face.crop_clip(checker[None], m, 40, antialias=False)[0, 2:-2, 2:-2]
  assert np.abs(aliased - 127.5).max() > 100  # bilinear picks single checker cells


@pytest.mark.parametrize("antialias", [False, True])
def test_output_pixel_centres_sample_where_the_matrix_says(antialias):
  """On a linear ramp both paths must return the ramp at inverse(matrix)(pixel centre)."""
  ys, xs = np.mgrid[0:300, 0:300].astype(np.float32)
  ramp = (xs + 0.5 * ys)[None, ..., None]  # [1, H, W, 1]
  m = face.alignment_transform((100, 110), (190, 95), (40, 50, 200, 200), 32, margin=0.1)
  out = face.crop_clip(ramp, m, 32, antialias=antialias)[0, ..., 0]
  inverse = cv2.invertAffineTransform(m)
  oy, ox = np.mgrid[0:32, 0:32]
  src = _apply(inverse, np.stack([ox.ravel(), oy.ravel()], 1))
  expected = (src[:, 0] + 0.5 * src[:, 1]).reshape(32, 32)
  np.testing.assert_allclose(out, expected, atol=0.2)  # OpenCV: 1/32-px fixed-point weights


def test_grey_clip_keeps_its_channel_axis():
  clip = _smooth_frame()[None, ..., :1].astype(np.uint8)  # [1, H, W, 1]
  m = face.alignment_transform((40, 40), (70, 40), (20, 10, 80, 80), 32)
  assert face.crop_clip(clip, m, 32).shape == (1, 32, 32, 1)


# --- detection ---------------------------------------------------------------------------


def test_cascades_load_from_the_opencv_wheel():
  for name in (face.FACE_CASCADE, face.EYE_CASCADE):
    assert not face.load_cascade(name).empty()


def test_no_face_in_noise_or_a_blank_frame():
  noise = np.random.default_rng(0).integers(0, 256, (S, S, 3), dtype=np.uint8)
  assert face.detect(noise) is None
  assert face.detect(np.zeros((S, S), np.uint8)) is None


def test_blank_onset_frame_raises_data_error():
  clip = np.zeros((3, S, S, 3), np.uint8)
  with pytest.raises(DataError, match="no face found in the onset frame"):
    face.align_clip(clip, 64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detect_finds_a_rendered_face_where_it_was_drawn(seed):
  img, eyes = _rendered_face(seed)
  box = face.detect(img)
  assert box is not None
  x, y, w, h = box
  assert 0.45 * S < w < 0.9 * S  # the drawn face is ~0.58 S wide, ~0.76 S tall
  assert abs(x + w / 2 - S / 2) < 0.06 * S and abs(y + h / 2 - S / 2) < 0.12 * S
  assert np.all((eyes >= [x, y]) & (eyes <= [x + w, y + h / 2]))  # eyes in its upper half
  assert face.detect(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)) == box  # grey input too


@pytest.mark.parametrize("seed, degrees", [(0, 8.0), (1, -8.0), (2, 12.0), (3, 8.0)])
def test_haar_alignment_levels_a_tilted_face(seed, degrees):
  img, eyes = _rendered_face(seed, degrees)
  assert _tilt_deg(*eyes) == pytest.approx(-degrees, abs=1e-6)  # tilted as drawn
  assert face.detect_eyes(img, face.detect(img)) is not None
  m = face.estimate_alignment(img, 64, method="haar")
  assert abs(_tilt_deg(*_apply(m, eyes))) < 2.5  # from 8-12 degrees to < 2.5


def test_align_clip_is_one_transform_from_the_onset_frame():
  img, _ = _rendered_face(0, 8.0)
  later = np.roll(img, 2, axis=1)  # the face moves 2 px right after the onset
  clip = np.stack([img, later, later])
  out = face.align_clip(clip, 64, margin=0.1)
  m = face.estimate_alignment(img, 64)
  np.testing.assert_array_equal(out, face.crop_clip(clip, m, 64))
  np.testing.assert_array_equal(out[1], out[2])
  assert not np.array_equal(out[0], out[1])  # not re-detected per frame


def test_unknown_method_is_a_config_error():
  with pytest.raises(ConfigError, match="'mtcnn'"):
    face.align_clip(np.zeros((1, 8, 8, 3), np.uint8), 8, method="mtcnn")


# --- dlib (optional extra) -----------------------------------------------------------------

_HAS_DLIB = all(importlib.util.find_spec(m) for m in ("dlib", "face_recognition_models"))


@pytest.mark.skipif(_HAS_DLIB, reason="dlib and face-recognition-models are installed")
def test_missing_dlib_names_the_extra_to_install():
  img, _ = _rendered_face(0)
  for call in (lambda: face.landmarks(img, (0, 0, 10, 10)),
               lambda: face.align_clip(img[None], 64, method="dlib")):
    with pytest.raises(ConfigError) as err:
      call()
    for name in ("mer_jax[faces]", "dlib-bin", "face-recognition-models"):
      assert name in str(err.value)


def test_landmarks_plumbing_with_a_stand_in_dlib(monkeypatch, tmp_path):
  """dlib itself is optional; a stand-in checks the rectangle and point order we use."""
  seen = {}

  class Predictor:

    def __init__(self, path):
      seen["path"] = path

    def __call__(self, img, rect):
      seen["rect"], seen["shape"] = rect, img.shape
      return types.SimpleNamespace(part=lambda i: types.SimpleNamespace(x=i, y=2 * i))

  dlib = types.ModuleType("dlib")
  dlib.shape_predictor = Predictor
  dlib.rectangle = lambda *corners: corners
  models = types.ModuleType("face_recognition_models")
  (tmp_path / "68.dat").write_bytes(b"")
  models.pose_predictor_model_location = lambda: str(tmp_path / "68.dat")
  monkeypatch.setitem(sys.modules, "dlib", dlib)
  monkeypatch.setitem(sys.modules, "face_recognition_models", models)
  points = face.landmarks(np.zeros((50, 60, 3), np.uint8), (5, 6, 20, 30))
  assert seen == {"path": str(tmp_path / "68.dat"), "rect": (5, 6, 24, 35), "shape": (50, 60, 3)}
  np.testing.assert_array_equal(points, np.stack([np.arange(68), 2 * np.arange(68)], 1))


def test_model_file_is_found_when_pkg_resources_is_gone(monkeypatch, tmp_path):
  """face-recognition-models 0.3.0 imports pkg_resources, which setuptools >= 81 dropped."""
  package = tmp_path / "face_recognition_models"
  (package / "models").mkdir(parents=True)
  (package / "__init__.py").write_text("import pkg_resources_removed_in_setuptools_81\n")
  model = package / "models" / "shape_predictor_68_face_landmarks.dat"
  model.write_bytes(b"")
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.delitem(sys.modules, "face_recognition_models", raising=False)
  assert face._predictor_path() == str(model)  # pylint: disable=protected-access
  model.unlink()
  with pytest.raises(ConfigError, match="model file is missing"):
    face._predictor_path()  # pylint: disable=protected-access


# --- the detector chain (find_face, locate_in_clip, crop_to_face) -------------------------

# skimage's astronaut (512 x 512 RGB): the head with hair spans rows 20-220, cols
# 150-330; the face itself, hairline to chin and cheek to cheek, measured by eye on
# the image (not by a detector) is FACE_RECT (x, y, w, h).
FACE_RECT = (172, 60, 110, 120)


def _astronaut():
  skimage_data = pytest.importorskip("skimage.data")
  return skimage_data.astronaut()


def _small_face_frame(head_width):
  """The astronaut's head shrunk to `head_width` px, in a grey 120 x 120 frame at (10, 10)."""
  head = _astronaut()[20:220, 150:330]
  small = cv2.resize(head, (head_width, round(head_width * 200 / 180)),
                     interpolation=cv2.INTER_AREA)
  frame = np.full((120, 120, 3), 128, np.uint8)
  frame[10:10 + small.shape[0], 10:10 + head_width] = small
  return frame


def test_find_face_takes_the_frontal_cascade_first():
  img = _astronaut()
  found = face.find_face(img)
  assert found.stage == "haar" and found.box == face.detect(img)
  assert found.eyes == face.detect_eyes(img, found.box)


def test_a_face_under_the_cascade_window_is_found_upscaled():
  frame = _small_face_frame(36)  # the face is ~19 px: under the 24-px window
  assert face.detect(frame) is None
  found = face.find_face(frame)
  assert found.stage == "upscaled"
  x, y, w, h = found.box
  assert 10 <= x and x + w <= 46 and 10 <= y and y + h <= 50  # inside the pasted head


def test_a_tight_crop_without_margin_is_found_padded():
  """Brow to chin, no forehead or cheeks: no frontal cascade finds it, the padded one does."""
  crop = cv2.resize(_astronaut()[80:160, 190:262], (230, 280), interpolation=cv2.INTER_AREA)
  for _, name in face.CASCADE_STAGES:
    assert face.detect(crop, cascade=name) is None
  found = face.find_face(crop)
  assert found.stage == "padded"
  x, y, w, h = found.box
  assert x >= 0 and y >= 0 and x + w <= 230 and y + h <= 280 and w > 115  # clipped, large


def test_no_stage_finds_a_face_in_a_blank_frame():
  assert face.find_face(np.full((60, 80, 3), 128, np.uint8)) is None


def test_dlib_hog_is_the_last_stage_when_dlib_imports(monkeypatch):
  rect = types.SimpleNamespace(left=lambda: -3, top=lambda: 5, right=lambda: 40,
                               bottom=lambda: 44)
  dlib = types.ModuleType("dlib")
  dlib.get_frontal_face_detector = lambda: (lambda img, upsample: [rect])
  monkeypatch.setitem(sys.modules, "dlib", dlib)
  found = face.find_face(np.full((60, 80, 3), 128, np.uint8))
  assert found == face.FaceBox((0, 5, 41, 40), None, "dlib_hog")  # clipped to the frame


def test_search_positions_start_at_the_onset_nearest_first():
  assert face.search_positions(1) == [0]
  assert face.search_positions(5) == [0, 1, 2, 3, 4]
  assert face.search_positions(100) == [0, 12, 25, 37, 50, 62, 74, 87, 99]
  assert face.search_positions(100, limit=2) == [0, 50, 99]


def test_locate_in_clip_tries_later_frames_then_raises():
  img, _ = _rendered_face(0)
  blank = np.full_like(img, 128)
  found = face.locate_in_clip(np.stack([img, blank]))
  assert found.stage == "haar" and found.box == face.detect(img)
  later = face.locate_in_clip(np.stack([blank, blank, img]))
  assert later == dataclasses.replace(found, stage="nearest_frame")
  with pytest.raises(DataError, match="no face found in the onset frame"):
    face.locate_in_clip(np.stack([blank] * 3))


def test_crop_to_face_uses_the_box_or_the_whole_frames():
  frames = np.stack([_smooth_frame().astype(np.uint8)] * 2)
  assert face.crop_to_face(frames, face.FaceBox(None, None, "official_crop"), 32) is frames
  box, eyes = (20, 10, 80, 80), ((40.0, 42.0), (75.0, 35.0))
  got = face.crop_to_face(frames, face.FaceBox(box, eyes, "haar"), 32)
  np.testing.assert_array_equal(
      got, face.crop_clip(frames, face.alignment_transform(*eyes, box, 32, 0.1), 32))
  level = face.crop_to_face(frames, face.FaceBox(box, None, "subject_median"), 32, margin=0.0)
  area = cv2.resize(frames[0, 10:90, 20:100], (32, 32), interpolation=cv2.INTER_AREA)
  np.testing.assert_allclose(level[0], area, atol=2)  # not rotated: the box, resized
