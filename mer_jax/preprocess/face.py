"""Face detection, eye levelling and cropping of a clip (numpy + OpenCV; dlib optional).

A micro-expression is a few pixels of motion, so a clip is aligned ONCE: the
face is found on the onset frame (frames[0]), one 2x3 affine transform is
built from it (rotate so the eyes are level, crop the face box plus a margin,
scale to `size x size`), and that same transform is applied to every frame.
Re-detecting per frame would add detector jitter larger than the expression.

  m = estimate_alignment(frames[0], 64, method='haar')  # [2, 3]
  faces = crop_clip(frames, m, 64)                     # [T, 64, 64, C]
  faces = align_clip(frames, 64)                       # the same in one call

The face step that never drops a clip (data/faces.py) runs a chain of
detectors on one frame (`find_face`), first success wins; its `FaceBox.stage`
says which one found the box:

  'haar'           OpenCV's frontal cascade haarcascade_frontalface_default.xml
  'haar_alt'       haarcascade_frontalface_alt.xml
  'haar_alt2'      haarcascade_frontalface_alt2.xml
  'haar_alt_tree'  haarcascade_frontalface_alt_tree.xml
  'upscaled'       the default cascade on the frame upscaled 2x, for faces
                   down to half the smallest `detect` searches (5% of the
                   shorter side, 12 px), box scaled back
  'padded'         the default cascade on the frame with a 30% replicated
                   border on each side (a face that fills the frame has no
                   margin, which the cascade needs), box shifted back
  'dlib_hog'       dlib's HOG frontal face detector, only when dlib imports
                   (the optional `faces` extra; skipped silently otherwise)

`locate_in_clip` tries the onset frame, then up to NEAREST_FRAMES other
frames in order of distance from it (stage 'nearest_frame'); `crop_to_face`
crops a clip from a `FaceBox` (box None: the frames are the face, unchanged).

Methods (how the eyes are found once the box is):
  'haar': OpenCV's frontal-face Haar cascade (shipped in the cv2 wheel) for the
    box; eyes from `haarcascade_eye.xml` on the upper part of the box. When it
    does not find one eye on each side of the box's midline, the clip is
    cropped without rotation (the frontal cascade only fires on near-upright
    faces, so the residual tilt is small).
  'dlib': the same Haar box, eyes from dlib's 68-point predictor
    (`pip install "mer_jax[faces]"`: dlib-bin + face-recognition-models).

Coordinates are (x, y) pixels with pixel centres at integers; "left" and
"right" eyes mean image-left and image-right (the subject's right and left).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
import os
from typing import Sequence

import cv2
import numpy as np

from mer_jax.errors import ConfigError, FaceNotFoundError

Box = tuple[int, int, int, int]  # (x, y, w, h) in pixels
Point = tuple[float, float]  # (x, y) in pixels

FACE_CASCADE = "haarcascade_frontalface_default.xml"
# The detector chain of `find_face`, in order: stage name -> what it runs.
CASCADE_STAGES = (("haar", FACE_CASCADE),
                  ("haar_alt", "haarcascade_frontalface_alt.xml"),
                  ("haar_alt2", "haarcascade_frontalface_alt2.xml"),
                  ("haar_alt_tree", "haarcascade_frontalface_alt_tree.xml"))
DETECTOR_STAGES = tuple(name for name, _ in CASCADE_STAGES) + ("upscaled", "padded",
                                                               "dlib_hog")
UPSCALE = 2  # the 'upscaled' stage's factor
PAD_FRAC = 0.3  # the 'padded' stage's border on each side, as a fraction of the longer side
NEAREST_FRAMES = 8  # frames besides the onset that `locate_in_clip` tries, spread over the clip
EYE_CASCADE = "haarcascade_eye.xml"
FACES_EXTRA = ('dlib face landmarks need the optional extra: pip install "mer_jax[faces]" '
               '(packages dlib-bin and face-recognition-models)')
_MAX_EYE_TILT_DEG = 30.0  # a detected eye pair tilted more than this is a false pair
_EYE_SEARCH_FRAC = 0.6  # eyes are searched in the top 60% of the face box
_LEVEL = ((0.0, 0.0), (1.0, 0.0))  # "eyes" that give no rotation


@dataclasses.dataclass(frozen=True)
class FaceBox:
  """Where a clip's face is, and how it was found.

  Attributes:
    box: (x, y, w, h) of the face in frame pixels, or None: the frames are the
      face (an official crop, or no face found anywhere): use them whole.
    eyes: (left, right) eye centres, or None: crop without rotation.
    stage: how it was found: a detector stage (DETECTOR_STAGES), or one of the
      data-level fallbacks 'nearest_frame', 'official_crop', 'subject_median',
      'whole_frame' (data/faces.py).
  """

  box: Box | None
  eyes: tuple[Point, Point] | None
  stage: str


@functools.lru_cache(maxsize=None)
def load_cascade(name: str) -> cv2.CascadeClassifier:
  """Loads a Haar cascade shipped in the cv2 wheel (`cv2.data.haarcascades`)."""
  path = os.path.join(cv2.data.haarcascades, name)
  cascade = cv2.CascadeClassifier(path)
  if cascade.empty():
    raise ConfigError(f"{path}: OpenCV Haar cascade cannot be loaded (is "
                      f"opencv-contrib-python-headless installed completely?)")
  return cascade


def to_grey(frame: np.ndarray) -> np.ndarray:
  """uint8 RGB [H, W, 3], grey [H, W, 1] or [H, W] -> uint8 grey [H, W]."""
  frame = np.asarray(frame)
  if frame.dtype != np.uint8:
    raise ValueError(f"expected a uint8 frame, got {frame.dtype}")
  if frame.ndim == 3 and frame.shape[-1] == 3:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
  if frame.ndim == 3 and frame.shape[-1] == 1:
    return frame[..., 0]
  if frame.ndim == 2:
    return frame
  raise ValueError(f"expected a frame [H, W], [H, W, 1] or [H, W, 3], got {frame.shape}")


def _largest(boxes: Sequence[Sequence[int]]) -> Box:
  """The box (x, y, w, h) of largest area."""
  x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
  return int(x), int(y), int(w), int(h)


def detect(frame: np.ndarray, min_size_frac: float = 0.1, cascade: str = FACE_CASCADE
           ) -> Box | None:
  """Finds the largest frontal face with an OpenCV Haar cascade.

  Args:
    frame: uint8 RGB [H, W, 3] or grey [H, W] / [H, W, 1].
    min_size_frac: smallest face side searched, as a fraction of the shorter
      image side (at least the cascade's 24-px window).
    cascade: file name in `cv2.data.haarcascades` (default: the frontal one).

  Returns:
    (x, y, w, h) of the largest face, or None when there is none.
  """
  grey = to_grey(frame)
  side = max(24, int(min_size_frac * min(grey.shape)))
  faces = load_cascade(cascade).detectMultiScale(
      grey, scaleFactor=1.1, minNeighbors=4, minSize=(side, side))
  return _largest(faces) if len(faces) else None


def detect_eyes(frame: np.ndarray, box: Box) -> tuple[Point, Point] | None:
  """Finds one eye on each side of the face box with `haarcascade_eye.xml`.

  Searches the upper part of `box` (its top 60%: eyes sit at about 40% of the
  box height and the eye cascade's window needs the cheek below them); keeps
  the largest detection left of the box's vertical midline and the largest
  right of it.

  Returns:
    (left, right) eye centres (image-left first) in frame pixels, or None when
    either side has no detection or the pair is tilted more than 30 degrees.
  """
  x, y, w, h = box
  roi = to_grey(frame)[y:y + int(_EYE_SEARCH_FRAC * h), x:x + w]
  eyes = load_cascade(EYE_CASCADE).detectMultiScale(
      roi, scaleFactor=1.05, minNeighbors=3, minSize=(w // 10, w // 10),
      maxSize=(w // 2, w // 2))
  centres = [(x + ex + (ew - 1) / 2, y + ey + (eh - 1) / 2, ew * eh)
             for ex, ey, ew, eh in eyes]  # (x, y, area)
  mid = x + (w - 1) / 2
  left = [c for c in centres if c[0] < mid]
  right = [c for c in centres if c[0] > mid]
  if not left or not right:
    return None
  (lx, ly, _), (rx, ry, _) = (max(s, key=lambda c: c[2]) for s in (left, right))
  if abs(math.degrees(math.atan2(ry - ly, rx - lx))) > _MAX_EYE_TILT_DEG:
    return None
  return (lx, ly), (rx, ry)


def _dlib_predictor():
  """Imports dlib and loads the 68-point predictor, or raises ConfigError."""
  try:
    import dlib  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ConfigError(f"dlib is not installed; {FACES_EXTRA}") from e
  return _load_predictor(dlib)


@functools.lru_cache(maxsize=None)
def _load_predictor(dlib):
  """dlib.shape_predictor for face-recognition-models' 68-point model (cached)."""
  return dlib.shape_predictor(_predictor_path())


def _predictor_path() -> str:
  """Path of shape_predictor_68_face_landmarks.dat from face-recognition-models."""
  try:
    import face_recognition_models  # pylint: disable=import-outside-toplevel
    path = face_recognition_models.pose_predictor_model_location()
  except ImportError as e:
    # Its __init__ imports pkg_resources, which setuptools >= 81 no longer has;
    # the model file is still beside the package.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
      raise ConfigError(f"face-recognition-models is not installed; {FACES_EXTRA}") from e
    path = os.path.join(spec.submodule_search_locations[0], "models",
                        "shape_predictor_68_face_landmarks.dat")
  if not os.path.isfile(path):
    raise ConfigError(f"{path}: dlib's 68-point model file is missing; {FACES_EXTRA}")
  return path


def landmarks(frame: np.ndarray, box: Box) -> np.ndarray:
  """68 facial landmarks (iBUG 300-W order) inside `box`, with dlib.

  Args:
    frame: uint8 RGB [H, W, 3] or grey [H, W] / [H, W, 1].
    box: (x, y, w, h) of the face, e.g. from `detect`.

  Returns:
    float64 [68, 2] (x, y) pixels.

  Raises:
    ConfigError: dlib or face-recognition-models is not installed (the extra
      `mer_jax[faces]`).
  """
  predictor = _dlib_predictor()
  import dlib  # pylint: disable=import-outside-toplevel
  x, y, w, h = (int(v) for v in box)
  frame = np.asarray(frame)
  rgb = frame.ndim == 3 and frame.shape[-1] == 3
  img = np.ascontiguousarray(frame if rgb else to_grey(frame))  # dlib: RGB or grey uint8
  shape = predictor(img, dlib.rectangle(x, y, x + w - 1, y + h - 1))  # inclusive corners
  return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float64)


def eye_centres(points68: np.ndarray) -> tuple[Point, Point]:
  """(left, right) eye centres from 68 landmarks: means of points 36-41 and 42-47.

  In the iBUG 68-point scheme points 36-41 outline the image-left eye (the
  subject's right) and 42-47 the image-right eye.
  """
  points68 = np.asarray(points68, np.float64)
  if points68.shape != (68, 2):
    raise ValueError(f"expected 68 (x, y) landmarks [68, 2], got {points68.shape}")
  left, right = points68[36:42].mean(0), points68[42:48].mean(0)
  return (float(left[0]), float(left[1])), (float(right[0]), float(right[1]))


def detect_upscaled(frame: np.ndarray, factor: int = UPSCALE, min_size_frac: float = 0.1
                    ) -> Box | None:
  """The frontal cascade on the frame upscaled `factor` times (bilinear), box scaled back.

  It searches faces down to `min_size_frac / factor` of the shorter side (and
  the cascade's 24-px window / factor): the small faces `detect` skips.
  """
  grey = to_grey(frame)
  big = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
  box = detect(big, min_size_frac / factor)
  if box is None:
    return None
  return _clip_box(tuple(round(v / factor) for v in box), grey.shape)


def detect_padded(frame: np.ndarray, frac: float = PAD_FRAC) -> Box | None:
  """The frontal cascade on the frame with a replicated border, box shifted back.

  A face that fills its frame (an official tight crop) leaves the cascade no
  margin around it; a border of `frac` times the longer side on each side
  gives it one. The box is clipped to the frame.
  """
  grey = to_grey(frame)
  pad = round(frac * max(grey.shape))
  box = detect(cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
  if box is None:
    return None
  x, y, w, h = box
  return _clip_box((x - pad, y - pad, w, h), grey.shape)


def _clip_box(box: Sequence[int], shape: Sequence[int]) -> Box | None:
  """(x, y, w, h) cut to a frame of shape (H, W, ...), or None when nothing is left."""
  x, y, w, h = (int(v) for v in box)
  x0, y0 = max(0, x), max(0, y)
  x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
  return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def _dlib_module():
  """dlib, or None when it does not import (the optional `faces` extra)."""
  try:
    import dlib  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return dlib


@functools.lru_cache(maxsize=None)
def _hog_detector(dlib):
  """dlib.get_frontal_face_detector() (cached)."""
  return dlib.get_frontal_face_detector()


def detect_dlib_hog(frame: np.ndarray) -> Box | None:
  """The largest face of dlib's HOG frontal detector (one upsampling), clipped to the
  frame; None when there is none or dlib is not installed."""
  dlib = _dlib_module()
  if dlib is None:
    return None
  frame = np.asarray(frame)
  rgb = frame.ndim == 3 and frame.shape[-1] == 3
  img = np.ascontiguousarray(frame if rgb else to_grey(frame))
  boxes = [_clip_box((r.left(), r.top(), r.right() - r.left() + 1, r.bottom() - r.top() + 1),
                     img.shape) for r in _hog_detector(dlib)(img, 1)]
  boxes = [b for b in boxes if b is not None]
  return _largest(boxes) if boxes else None


def _detectors():
  """(stage, detector) pairs of the chain, in order (see the module docstring)."""
  cascades = [(stage, functools.partial(detect, cascade=name)) for stage, name in CASCADE_STAGES]
  return cascades + [("upscaled", detect_upscaled), ("padded", detect_padded),
                     ("dlib_hog", detect_dlib_hog)]


def find_box(frame: np.ndarray) -> tuple[Box, str] | None:
  """(box, stage) of the first detector of the chain that finds a face, or None."""
  for stage, detector in _detectors():
    box = detector(frame)
    if box is not None:
      return box, stage
  return None


def check_method(method: str) -> None:
  """ConfigError for a method other than 'haar' or 'dlib', or 'dlib' without its extra."""
  if method not in ("haar", "dlib"):
    raise ConfigError(f"face alignment method={method!r}; expected 'haar' or 'dlib'")
  if method == "dlib":
    _dlib_predictor()  # a missing extra is reported before any detection


def find_eyes(frame: np.ndarray, box: Box, method: str) -> tuple[Point, Point] | None:
  """Eye centres in `box`: the eye cascade ('haar', None when not found) or dlib's
  68 landmarks ('dlib')."""
  if method == "dlib":
    return eye_centres(landmarks(frame, box))
  return detect_eyes(frame, box)


def find_face(frame: np.ndarray, method: str = "haar") -> FaceBox | None:
  """The detector chain on one frame: the first stage's box, its eyes, its stage name.

  Args:
    frame: uint8 RGB [H, W, 3] or grey [H, W] / [H, W, 1].
    method: how the eyes are found, 'haar' or 'dlib' (see `find_eyes`).

  Returns:
    FaceBox(box, eyes, stage), or None when no stage finds a face.

  Raises:
    ConfigError: see `check_method`.
  """
  check_method(method)
  found = find_box(frame)
  if found is None:
    return None
  box, stage = found
  return FaceBox(box, find_eyes(frame, box, method), stage)


def search_positions(num_frames: int, limit: int = NEAREST_FRAMES) -> list[int]:
  """Positions in a clip the face is looked for at: the onset (0), then up to `limit`
  others spread evenly to the end, `round(linspace(0, T - 1, limit + 1))`, nearest first."""
  spread = np.round(np.linspace(0, max(num_frames - 1, 0), limit + 1)).astype(int)
  return [0] + [int(p) for p in np.unique(spread) if p != 0]


def first_face(frames: Sequence[np.ndarray], method: str = "haar"
               ) -> tuple[int, FaceBox] | None:
  """(index, face) of the first of `frames` the chain finds a face in, or None."""
  for index, frame in enumerate(frames):
    found = find_face(frame, method)
    if found is not None:
      return index, found
  return None


def locate_in_clip(frames: np.ndarray, method: str = "haar",
                   limit: int = NEAREST_FRAMES) -> FaceBox:
  """A clip's face: the chain on the onset frame, else on the frames of `search_positions`.

  A face found after the onset has the stage 'nearest_frame' (its box is used
  for the whole clip, as the onset's would be).

  Raises:
    FaceNotFoundError (a DataError): no stage finds a face in any frame tried.
    ConfigError: see `check_method`.
  """
  positions = search_positions(len(frames), limit)
  found = first_face((frames[p] for p in positions), method)
  if found is None:
    raise FaceNotFoundError(
        f"no face found in the onset frame ({np.shape(frames[0])}) nor in {len(positions) - 1} "
        f"later frame(s) of the clip, by any of the detectors {', '.join(DETECTOR_STAGES)}")
  index, box = found
  return box if index == 0 else dataclasses.replace(box, stage="nearest_frame")


def crop_to_face(frames: np.ndarray, found: FaceBox, size: int, margin: float = 0.1,
                 antialias: bool = True) -> np.ndarray:
  """The clip cut to `found`: its frames unchanged when `found.box` is None (the caller
  resizes them), else `crop_clip` of the eye-levelled box plus `margin` at `size`."""
  if found.box is None:
    return np.asarray(frames)
  left, right = found.eyes or _LEVEL
  matrix = alignment_transform(left, right, found.box, size, margin)
  return crop_clip(frames, matrix, size, antialias)


def alignment_transform(left_eye: Point, right_eye: Point, box: Box, size: int,
                        margin: float = 0.1) -> np.ndarray:
  """The 2x3 affine that levels the eyes and maps the face box to `size x size`.

  The frame is rotated about the box centre by the eyes' tilt (eyes ordered by
  x, so swapped arguments give the same result), then the square of side
  max(w, h) * (1 + 2 * margin) centred on the box is scaled onto the output.
  Pixel-area convention: with no tilt and margin 0, the box's outer pixel edges
  map onto the output's outer pixel edges, as `cv2.resize` of the crop does.

  Args:
    left_eye, right_eye: (x, y) eye centres in frame pixels.
    box: (x, y, w, h) face box.
    size: output side in pixels.
    margin: added on each side, as a fraction of the box side.

  Returns:
    float64 [2, 3] mapping frame (x, y, 1) to output (x, y), for cv2.warpAffine.
  """
  (lx, ly), (rx, ry) = sorted([tuple(left_eye), tuple(right_eye)])
  tilt = math.atan2(ry - ly, rx - lx)  # radians; positive = right eye lower
  x, y, w, h = box
  centre = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
  scale = size / (max(w, h) * (1 + 2 * margin))
  c, s = math.cos(tilt), math.sin(tilt)
  linear = scale * np.array([[c, s], [-s, c]])  # rotates by -tilt, then scales
  offset = np.full(2, (size - 1) / 2) - linear @ centre
  return np.concatenate([linear, offset[:, None]], axis=1)


def _antialias_factor(matrix: np.ndarray) -> int:
  """Integer supersampling k so that the warp itself never shrinks (scale * k >= 1)."""
  scale = math.sqrt(abs(np.linalg.det(np.asarray(matrix)[:, :2])))
  return max(1, math.ceil(1 / scale - 1e-6))


def crop_clip(frames: np.ndarray, matrix: np.ndarray, size: int,
              antialias: bool = True) -> np.ndarray:
  """Applies the same 2x3 affine to every frame (bilinear, edges replicated).

  Args:
    frames: [T, H, W, C] (any dtype cv2.warpAffine takes: uint8, float32).
    matrix: [2, 3] from `alignment_transform`.
    size: output side.
    antialias: when the transform shrinks by more than 1x, warp to k*size
      (k = ceil(1/scale), so bilinear sampling never skips pixels) and
      average k x k blocks (cv2.INTER_AREA); plain bilinear warping when False.

  Returns:
    [T, size, size, C], the dtype of `frames`.
  """
  frames = np.asarray(frames)
  if frames.ndim != 4:
    raise ValueError(f"expected frames [T, H, W, C], got {frames.shape}")
  k = _antialias_factor(matrix) if antialias else 1
  # Output pixel j covers supersampled pixels k*j .. k*j+k-1 (centre k*j+(k-1)/2).
  m = k * np.asarray(matrix, np.float64)
  m[:, 2] += (k - 1) / 2
  out = [cv2.warpAffine(f, m, (k * size, k * size), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE) for f in frames]
  if k > 1:
    out = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in out]
  return np.stack(out).reshape(len(frames), size, size, frames.shape[-1])


def estimate_alignment(frame: np.ndarray, size: int, method: str = "haar",
                       margin: float = 0.1) -> np.ndarray:
  """Detects the face (and eyes) on one frame and returns its 2x3 alignment.

  Args:
    frame: the onset frame, uint8 RGB [H, W, 3] or grey.
    size: output side.
    method: 'haar' (eyes from the eye cascade; no rotation when two eyes are
      not found) or 'dlib' (eyes from the 68 landmarks).
    margin: see `alignment_transform`.

  Raises:
    ConfigError: unknown method, or 'dlib' without the `mer_jax[faces]` extra.
    FaceNotFoundError (a DataError): no face in the frame.
  """
  check_method(method)
  box = detect(frame)
  if box is None:
    raise FaceNotFoundError(f"no face found in the onset frame ({np.shape(frame)}) by the "
                            f"Haar cascade {FACE_CASCADE}")
  eyes = find_eyes(frame, box, method) or _LEVEL  # no eyes found: no rotation
  return alignment_transform(eyes[0], eyes[1], box, size, margin)


def align_clip(frames: np.ndarray, size: int, method: str = "haar", margin: float = 0.1,
               antialias: bool = True) -> np.ndarray:
  """Aligns a clip by its onset frame: one transform from frames[0], applied to all.

  Args:
    frames: uint8 [T, H, W, C] (RGB or grey, C = 3 or 1), onset first.
    size: output side.
    method: 'haar' or 'dlib' (see `estimate_alignment`).
    margin: added on each side of the face box, as a fraction of its side.
    antialias: see `crop_clip`.

  Returns:
    uint8 [T, size, size, C].

  Raises:
    FaceNotFoundError (a DataError): no face in the onset frame.
    ConfigError: see `estimate_alignment`.
  """
  frames = np.asarray(frames)
  matrix = estimate_alignment(frames[0], size, method, margin)
  return crop_clip(frames, matrix, size, antialias)
