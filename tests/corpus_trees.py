"""Corpus trees that look real, for tests: a photographed face in the corpora's layouts.

The project's own synthetic faces are drawn; these clips are cut from a real
photograph instead, `skimage.data.astronaut()` (512x512 RGB, shipped with
scikit-image), so that face detectors, croppers and flow see real skin,
eyes, hair and JPEG/BMP statistics:

  photo_face_clip(T, (230, 280), rng)      tight official-style crop, no margin
  uncropped_clip(T, (960, 650), rng, grey=True) -> (frames, face_box)
                                           the face pasted off-centre (SAMM-like)
  write_megc2019_trees(tmp) -> {'casme2': root, 'samm': root, 'smic': root}
  write_megc2018_trees(tmp) -> {'casme2': root, 'samm': root}

Each clip moves a little and smoothly: a local warp around the mouth corners
and/or the brows (peaking at the clip's apex) plus a sub-pixel global drift
and a per-clip brightness gain, so no two clips are identical.

The MEGC trees use the REAL annotation files from ../shared/reference/
annotations (copied into the tmp roots at test time, never into the
project): every row of CASME2-coding-20140508.xlsx (255) and of
SAMM_Micro_FACS_Codes_v2.xlsx (159) gets its frames onset..offset, and the
164 SMIC rows of combined_3class_gt.csv get clip folders of about
`frames_per_clip` frames. To stay fast each clip holds only a few distinct
image files; the other frame numbers are hard links to the nearest one
(copies where the file system cannot link).

Import from a test (pytest puts tests/, the folder of conftest.py, on sys.path):

  import corpus_trees
  roots = corpus_trees.write_megc2019_trees(tmp_path)
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
import pathlib
import shutil
import zlib
from typing import Sequence

import cv2
import numpy as np
import openpyxl

from mer_jax.data.synthetic.writers import casme2 as casme2_writer
from mer_jax.data.synthetic.writers import samm as samm_writer
from mer_jax.data.synthetic.writers import smic as smic_writer

Box = tuple[int, int, int, int]  # (x, y, w, h) in pixels

SHARED_ANNOTATIONS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / \
    "reference" / "annotations"
CASME2_CODING = "CASME2-coding-20140508.xlsx"
CASME2_OBJECTIVE = "CASME2-ObjectiveClasses.xlsx"
SAMM_CODES = "SAMM_Micro_FACS_Codes_v2.xlsx"
MEGC2019_GT = "combined_3class_gt.csv"

# In astronaut() coordinates: the tight face box (x0, y0, x1, y1), forehead to
# chin, the face filling the frame as CASME II's Cropped/ faces do (checked by
# eye; OpenCV's frontal cascade finds no face in such crops at CASME II and
# SMIC crop sizes, as in the real crops), and a context box around it (hair,
# background, collar) that uncropped frames paste.
FACE_BOX = (178, 60, 264, 178)
CONTEXT_BOX = (120, 0, 322, 250)
# Warp centres (x, y) in astronaut() coordinates and their unit motions.
MOUTH_CORNERS = (((203.0, 144.0), (-0.6, -0.8)), ((243.0, 144.0), (0.6, -0.8)))
BROWS = (((201.0, 90.0), (0.0, -1.0)), ((245.0, 90.0), (0.0, -1.0)))
WARP_SIGMA = 7.0  # source pixels

# Frame sizes (W, H) as distributed.
CASME2_CROP_WH = (230, 280)  # Cropped/ varies per clip around this
CASME2_RAW_WH = (640, 480)
SAMM_WH = (960, 650)
SMIC_CROP_WH = (170, 200)
SMIC_RAW_WH = (640, 480)
SMIC_EMOTIONS = {0: "negative", 1: "positive", 2: "surprise"}
SMIC_FIRST_FRAME = (100_000, 900_000)  # six-digit absolute frame numbers
JPEG_QUALITY = 95


@functools.lru_cache(maxsize=1)
def photo() -> np.ndarray:
  """skimage.data.astronaut(): uint8 RGB [512, 512, 3] (read-only)."""
  from skimage import data  # scikit-image is a test extra
  image = np.ascontiguousarray(data.astronaut())
  image.setflags(write=False)
  return image


def annotations_dir() -> pathlib.Path | None:
  """../shared/reference/annotations when it holds the real files, else None."""
  names = (CASME2_CODING, CASME2_OBJECTIVE, SAMM_CODES, MEGC2019_GT)
  ok = all((SHARED_ANNOTATIONS / n).is_file() for n in names)
  return SHARED_ANNOTATIONS if ok else None


def rng_for(seed: int, *keys: object) -> np.random.Generator:
  """A generator fixed by `seed` and `keys` (stable across runs: crc32, not hash())."""
  return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


# ---------------------------------------------------------------- motion ---


@dataclasses.dataclass(frozen=True)
class Motion:
  """One clip's movement, in astronaut() pixels at amplitude 1.

  Attributes:
    centres: [K, 2] warp centres (x, y).
    vectors: [K, 2] displacement of each centre at the apex.
    drift: (dx, dy) global shift at the apex.
    gain: brightness factor of the whole clip.
  """

  centres: np.ndarray
  vectors: np.ndarray
  drift: np.ndarray
  gain: float


def random_motion(rng: np.random.Generator, peak_px: float = 1.2) -> Motion:
  """A random smooth motion: mouth corners, brows or both, plus a little drift.

  Args:
    rng: the clip's generator.
    peak_px: local displacement at the apex in astronaut() pixels (a tight
      crop is ~2.25x larger, so 1.2 is ~3 px at 230x280).
  """
  region = rng.integers(3)  # 0 mouth, 1 brows, 2 both
  parts = [MOUTH_CORNERS, BROWS, MOUTH_CORNERS + BROWS][region]
  scale = peak_px * rng.uniform(0.6, 1.0)
  centres = np.array([c for c, _ in parts], np.float32)
  vectors = np.array([v for _, v in parts], np.float32) * scale * rng.choice([-1.0, 1.0])
  drift = rng.uniform(-0.4, 0.4, size=2).astype(np.float32)
  return Motion(centres, vectors, drift, float(rng.uniform(0.9, 1.1)))


def profile(num_frames: int, apex_index: int | None = None) -> np.ndarray:
  """Motion amplitude per frame: 0 at onset, 1 at the apex, back to 0 at offset.

  A sin^2 rise and a cos^2 fall; apex_index None means the middle frame.
  """
  if num_frames < 1:
    raise ValueError(f"num_frames must be >= 1, got {num_frames}")
  apex = (num_frames - 1) // 2 if apex_index is None else int(apex_index)
  if not 0 <= apex < num_frames:
    raise ValueError(f"apex_index {apex} is outside 0..{num_frames - 1}")
  t = np.arange(num_frames, dtype=np.float32)
  rise = np.sin(0.5 * np.pi * t / max(apex, 1)) ** 2
  fall = np.cos(0.5 * np.pi * (t - apex) / max(num_frames - 1 - apex, 1)) ** 2
  return np.where(t <= apex, rise, fall).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _bumps() -> dict[tuple[float, float], np.ndarray]:
  """Unit Gaussian bump [512, 512] float32 on the photo grid per warp centre (cached)."""
  ys, xs = np.mgrid[0:512, 0:512].astype(np.float32)
  return {c: np.exp(-((xs - c[0]) ** 2 + (ys - c[1]) ** 2) / (2 * WARP_SIGMA ** 2))
          for c, _ in MOUTH_CORNERS + BROWS}


def _displacement(map_x: np.ndarray, map_y: np.ndarray, motion: Motion
                  ) -> tuple[np.ndarray, np.ndarray]:
  """(dx, dy) at source points (map_x, map_y) at amplitude 1: Gaussian bumps plus drift.

  Built on the 512x512 photo grid, then sampled at the points (cv2.remap).
  """
  bumps = _bumps()
  dx = np.zeros((512, 512), np.float32)
  dy = np.zeros((512, 512), np.float32)
  for (cx, cy), (vx, vy) in zip(motion.centres, motion.vectors):
    bump = bumps[(float(cx), float(cy))]
    dx += vx * bump
    dy += vy * bump
  sample = functools.partial(cv2.remap, map1=map_x, map2=map_y,
                             interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
  return sample(dx) + motion.drift[0], sample(dy) + motion.drift[1]


@functools.lru_cache(maxsize=1)
def _grey_photo() -> np.ndarray:
  """photo() as luma [512, 512] (read-only)."""
  grey = cv2.cvtColor(photo(), cv2.COLOR_RGB2GRAY)
  grey.setflags(write=False)
  return grey


def _render(map_x: np.ndarray, map_y: np.ndarray, amplitudes: Sequence[float],
            motion: Motion, grey: bool = False) -> np.ndarray:
  """Frames sampled from photo() at source points (map_x, map_y), warped by `motion`.

  Each frame samples at p - a * d(p) (a forward warp by a * d, d smooth and
  small), so features move by about a * d. Returns uint8 [T, H, W, 3], or
  [T, H, W] luma when `grey`.
  """
  dx, dy = _displacement(map_x, map_y, motion)
  source = _grey_photo() if grey else photo()
  out = []
  for a in amplitudes:
    frame = cv2.remap(source, map_x - a * dx, map_y - a * dy, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    out.append(cv2.convertScaleAbs(frame, alpha=motion.gain))  # saturating uint8
  return np.stack(out)


def _grid(size_wh: tuple[int, int], origin: tuple[float, float],
          step: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
  """Source coordinates of the pixel centres of a W x H output grid."""
  w, h = size_wh
  xs = origin[0] + (np.arange(w, dtype=np.float32) + 0.5) * step[0] - 0.5
  ys = origin[1] + (np.arange(h, dtype=np.float32) + 0.5) * step[1] - 0.5
  map_x, map_y = np.meshgrid(xs, ys)
  return map_x.astype(np.float32), map_y.astype(np.float32)


# ----------------------------------------------------------------- clips ---


def crop_frames(size_wh: tuple[int, int], amplitudes: Sequence[float],
                motion: Motion) -> np.ndarray:
  """Tight face crops (FACE_BOX, no margin) of size W x H at the given amplitudes."""
  x0, y0, x1, y1 = FACE_BOX
  map_x, map_y = _grid(size_wh, (x0, y0), ((x1 - x0) / size_wh[0], (y1 - y0) / size_wh[1]))
  return _render(map_x, map_y, amplitudes, motion)


def photo_face_clip(num_frames: int, size_wh: tuple[int, int], rng: np.random.Generator,
                    *, apex_index: int | None = None, peak_px: float = 1.2) -> np.ndarray:
  """A clip of tight official-style face crops of a real photograph.

  Args:
    num_frames: T.
    size_wh: (W, H) of the crop, e.g. (230, 280) for CASME II's Cropped/,
      (170, 200) for SMIC_all_cropped/.
    rng: draws the clip's motion (random_motion).
    apex_index: the frame of largest motion (None: the middle one).
    peak_px: see random_motion.

  Returns:
    uint8 RGB [T, H, W, 3].
  """
  motion = random_motion(rng, peak_px)
  return crop_frames(size_wh, profile(num_frames, apex_index), motion)


def background(frame_wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
  """A plain studio-like backdrop: a soft grey-beige gradient with faint texture."""
  w, h = frame_wh
  level = rng.uniform(80, 170)
  tint = rng.uniform(-12, 12, size=3)
  ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
  xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
  gx, gy = rng.uniform(-20, 20, size=2)
  texture = cv2.GaussianBlur(rng.normal(0, 6, size=(h, w)).astype(np.float32), (0, 0), 3)
  image = level + tint + gx * xs + gy * ys + texture[..., None]
  return np.clip(image, 0, 255).astype(np.uint8)


def off_centre_box(frame_wh: tuple[int, int], face_height: int,
                   rng: np.random.Generator) -> Box:
  """A face box (x, y, w, h) inside the frame, its centre off the middle.

  The centre is at least 15% of the frame width left or right of the middle
  (the side and the rest drawn from `rng`).
  """
  fw, fh = frame_wh
  h = int(face_height)
  w = int(round(h * (FACE_BOX[2] - FACE_BOX[0]) / (FACE_BOX[3] - FACE_BOX[1])))
  lo, hi = w / 2, fw - w / 2  # centre x keeping the box inside
  gap = 0.15 * fw
  left, right = (lo, fw / 2 - gap), (fw / 2 + gap, hi)
  sides = [s for s in (left, right) if s[0] <= s[1]]
  if not sides or h > fh:
    raise ValueError(f"a {w}x{h} face cannot sit off-centre in a {fw}x{fh} frame")
  a, b = sides[rng.integers(len(sides))]
  cx = rng.uniform(a, b)
  cy = rng.uniform(h / 2, fh - h / 2)
  return int(round(cx - w / 2)), int(round(cy - h / 2)), w, h


def _context_alpha(map_x: np.ndarray, map_y: np.ndarray, feather: float = 8.0) -> np.ndarray:
  """[H, W, 1]: 1 inside CONTEXT_BOX, fading to 0 over `feather` source pixels at its edges."""
  x0, y0, x1, y1 = CONTEXT_BOX
  inside = np.minimum.reduce([map_x - x0, x1 - map_x, map_y - y0, y1 - map_y])
  return np.clip(inside / feather, 0, 1)[..., None].astype(np.float32)


def _paste_window(frame_wh: tuple[int, int], face_box: Box) -> tuple[int, int, int, int]:
  """The part (x0, y0, x1, y1) of the frame that CONTEXT_BOX covers, clipped to it."""
  x, y, w, h = face_box
  fx0, fy0, fx1, fy1 = FACE_BOX
  sx, sy = w / (fx1 - fx0), h / (fy1 - fy0)
  cx0, cy0, cx1, cy1 = CONTEXT_BOX
  x0, x1 = x + (cx0 - fx0) * sx, x + (cx1 - fx0) * sx
  y0, y1 = y + (cy0 - fy0) * sy, y + (cy1 - fy0) * sy
  fw, fh = frame_wh
  return (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
          min(fw, int(np.ceil(x1))), min(fh, int(np.ceil(y1))))


def uncropped_frames(frame_wh: tuple[int, int], face_box: Box, amplitudes: Sequence[float],
                     motion: Motion, backdrop: np.ndarray, grey: bool = False) -> np.ndarray:
  """Frames with the photo (CONTEXT_BOX) pasted so its FACE_BOX lands on `face_box`.

  Returns uint8 RGB [T, H, W, 3] (3 equal channels when `grey`).
  """
  x, y, w, h = face_box
  fx0, fy0, fx1, fy1 = FACE_BOX
  wx0, wy0, wx1, wy1 = _paste_window(frame_wh, face_box)
  step = ((fx1 - fx0) / w, (fy1 - fy0) / h)
  map_x, map_y = _grid((wx1 - wx0, wy1 - wy0),
                       (fx0 + (wx0 - x) * step[0], fy0 + (wy0 - y) * step[1]), step)
  alpha = _context_alpha(map_x, map_y)
  if grey:  # backdrop [H, W], alpha [h, w]
    backdrop, alpha = cv2.cvtColor(backdrop, cv2.COLOR_RGB2GRAY), alpha[..., 0]
  patches = _render(map_x, map_y, amplitudes, motion, grey)
  under = (1 - alpha) * backdrop[wy0:wy1, wx0:wx1]
  frames = np.repeat(backdrop[None], len(patches), axis=0)
  for frame, patch in zip(frames, patches):
    frame[wy0:wy1, wx0:wx1] = (alpha * patch + under).astype(np.uint8)
  return np.repeat(frames[..., None], 3, axis=-1) if grey else frames


def uncropped_clip(num_frames: int, frame_wh: tuple[int, int], rng: np.random.Generator,
                   *, face_box: Box | None = None, face_height: int | None = None,
                   grey: bool = False, apex_index: int | None = None,
                   peak_px: float = 1.2) -> tuple[np.ndarray, Box]:
  """An uncropped clip: the photographed face pasted off-centre into a larger frame.

  Args:
    num_frames: T.
    frame_wh: (W, H): SAMM_WH (960x650, use grey=True), CASME2_RAW_WH or
      SMIC_RAW_WH (640x480).
    rng: draws the position (unless `face_box`), backdrop and motion.
    face_box: where the tight face box goes, (x, y, w, h); None draws an
      off-centre one (off_centre_box) of `face_height`.
    face_height: default half the frame height.
    grey: 3 equal channels (SAMM is grayscale).
    apex_index, peak_px: as photo_face_clip.

  Returns:
    (uint8 RGB [T, H, W, 3], the face box (x, y, w, h) in the frames).
  """
  if face_box is None:
    face_box = off_centre_box(frame_wh, face_height or frame_wh[1] // 2, rng)
  frames = uncropped_frames(frame_wh, face_box, profile(num_frames, apex_index),
                            random_motion(rng, peak_px), background(frame_wh, rng), grey)
  return frames, face_box


# ----------------------------------------------------------- file writing ---


def _save(path: str, frame: np.ndarray, grey: bool = False) -> None:
  """Writes an RGB frame (JPEG q95 or BMP by extension); grey=True writes its luma."""
  image = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY if grey else cv2.COLOR_RGB2BGR)
  params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.endswith(".jpg") else []
  if not cv2.imwrite(path, image, params):
    raise OSError(f"{path}: could not write the frame")


def link_or_copy(src: str, dst: str) -> None:
  """Hard-links `dst` to `src`; copies it where the file system cannot link."""
  try:
    os.link(src, dst)
  except OSError:
    shutil.copyfile(src, dst)


def key_frames(num_frames: int, apex_index: int, distinct: int) -> tuple[list[int], list[int]]:
  """(key frame indices, index into them of each frame).

  `distinct` evenly spaced frames plus the apex are rendered; every other
  frame shows the nearest key frame.
  """
  spaced = np.linspace(0, num_frames - 1, max(1, min(distinct, num_frames)))
  keys = sorted(set(np.round(spaced).astype(int).tolist()) | {int(apex_index)})
  nearest = np.abs(np.arange(num_frames)[:, None] - np.array(keys)[None, :]).argmin(axis=1)
  return keys, nearest.tolist()


def write_linked_clip(folder: str, names: Sequence[str], apex_index: int, distinct: int,
                      render, grey: bool = False) -> int:
  """Writes a clip folder of len(names) frames, few distinct files, the rest linked.

  Args:
    folder: the clip folder (created).
    names: file name of each frame in order (its extension picks JPEG/BMP).
    apex_index: the frame of largest motion.
    distinct: about how many distinct images to write.
    render: amplitudes [K] -> uint8 RGB frames [K, H, W, 3].
    grey: write luma only (SAMM).

  Returns:
    The number of image files written (the others are links).
  """
  os.makedirs(folder, exist_ok=True)
  keys, nearest = key_frames(len(names), apex_index, distinct)
  images = render(profile(len(names), apex_index)[keys])
  first: dict[int, str] = {}
  for name, k in zip(names, nearest):
    path = os.path.join(folder, name)
    if k in first:
      link_or_copy(first[k], path)
    else:
      _save(path, images[k], grey)
      first[k] = path
  return len(first)


def _apex_index(onset: int, apex, offset: int) -> int:
  """apex - onset when the apex is an int inside onset..offset, else the midpoint."""
  if isinstance(apex, int) and onset <= apex <= offset:
    return apex - onset
  return (offset - onset) // 2


def _jittered(size_wh: tuple[int, int], jitter: int, rng: np.random.Generator
              ) -> tuple[int, int]:
  """size_wh with each side moved by up to +-jitter pixels."""
  return tuple(int(s + rng.integers(-jitter, jitter + 1)) for s in size_wh)


def _sheet_rows(path: pathlib.Path, sheet: str, header_first: str) -> list[dict]:
  """Rows under the first row whose column A is `header_first`, as {header: cell}."""
  book = openpyxl.load_workbook(path, read_only=True, data_only=True)
  try:
    rows = list(book[sheet].iter_rows(values_only=True))
  finally:
    book.close()
  start = next(i for i, r in enumerate(rows) if r and r[0] == header_first)
  header = rows[start]
  return [{h: c for h, c in zip(header, r) if h is not None}
          for r in rows[start + 1:] if r and r[0] is not None]


def _need_annotations(annotations: str | os.PathLike | None) -> pathlib.Path:
  """The annotation folder to use, or FileNotFoundError naming what is missing."""
  folder = pathlib.Path(annotations) if annotations else annotations_dir()
  if folder is None or not (folder / CASME2_CODING).is_file():
    raise FileNotFoundError(f"the real annotation files are not in {SHARED_ANNOTATIONS} "
                            "(../shared/reference/annotations)")
  return folder


# ------------------------------------------------------------ the corpora ---


def write_casme2_tree(root: str | os.PathLike, *, trees: Sequence[str] = ("cropped",),
                      crop_wh: tuple[int, int] = CASME2_CROP_WH, crop_jitter: int = 8,
                      raw_wh: tuple[int, int] = CASME2_RAW_WH, distinct: int = 4,
                      seed: int = 0, annotations: str | os.PathLike | None = None,
                      subjects: Sequence[str] | None = None) -> dict:
  """CASME II as distributed, for all 255 rows of the real coding file.

  Copies CASME2-coding-20140508.xlsx and CASME2-ObjectiveClasses.xlsx into
  `root` and writes Cropped/subXX/<clip>/reg_img<N>.jpg (tight crops of
  crop_wh +- crop_jitter per clip) and, with 'raw_selected' in `trees`,
  CASME2_RAW_selected/subXX/<clip>/img<N>.jpg (raw_wh, the face off-centre,
  placed per subject), N = onset..offset. `subjects` ('sub01', ...) limits
  the frames written to those subjects (the coding files stay whole).

  Returns:
    {'clips': 255, 'files': image files written, 'links': frames linked}.
  """
  folder = _need_annotations(annotations)
  root = str(root)
  os.makedirs(root, exist_ok=True)
  for name in (CASME2_CODING, CASME2_OBJECTIVE):
    shutil.copyfile(folder / name, os.path.join(root, name))
  unknown = set(trees) - {"cropped", "raw_selected"}
  if unknown:
    raise ValueError(f"CASME II trees {sorted(unknown)}; expected 'cropped', 'raw_selected'")
  stats = {"clips": 0, "files": 0, "links": 0}
  for row in _sheet_rows(folder / CASME2_CODING, "Sheet1", "Subject"):
    onset, offset = row["OnsetFrame"], row["OffsetFrame"]
    if not (isinstance(onset, int) and isinstance(offset, int) and onset <= offset):
      continue  # the adapter leaves such a row out without looking for frames
    subject, clip = f"sub{int(str(row['Subject']).strip()):02d}", str(row["Filename"]).strip()
    if subjects is not None and subject not in subjects:
      continue
    apex = _apex_index(onset, row["ApexFrame"], offset)
    rng = rng_for(seed, "casme2", subject, clip)
    motion = random_motion(rng)
    numbers = range(onset, offset + 1)
    parts = []
    if "cropped" in trees:
      size = _jittered(crop_wh, crop_jitter, rng)
      parts.append((casme2_writer.CROPPED_FOLDER,
                    lambda amps, size=size: crop_frames(size, amps, motion)))
    if "raw_selected" in trees:
      box = off_centre_box(raw_wh, int(0.55 * raw_wh[1]), rng_for(seed, "casme2", subject))
      backdrop = background(raw_wh, rng_for(seed, "casme2-backdrop", subject))
      parts.append((casme2_writer.RAW_FOLDER, lambda amps, box=box, bd=backdrop:
                    uncropped_frames(raw_wh, box, amps, motion, bd)))
    for top, render in parts:
      prefix = casme2_writer.FRAME_FOLDERS[top]
      written = write_linked_clip(os.path.join(root, top, subject, clip),
                                  [f"{prefix}{n}.jpg" for n in numbers], apex, distinct, render)
      stats["files"] += written
      stats["links"] += len(numbers) - written
    stats["clips"] += 1
  return stats


def write_samm_tree(root: str | os.PathLike, *, frame_wh: tuple[int, int] = SAMM_WH,
                    distinct: int = 4, seed: int = 0,
                    annotations: str | os.PathLike | None = None,
                    subjects: Sequence[str] | None = None) -> dict:
  """SAMM as distributed, for all 159 rows of the real codes file.

  Copies SAMM_Micro_FACS_Codes_v2.xlsx into `root` and writes
  SAMM/<subject>/<clip>/<subject>_<NNNNN>.jpg, grayscale frame_wh frames
  with the face off-centre (placed per subject), N = onset..offset.
  `subjects` ('006', ...) limits the frames written to those subjects.

  Returns:
    {'clips': 159, 'files': image files written, 'links': frames linked}.
  """
  folder = _need_annotations(annotations)
  root = str(root)
  os.makedirs(root, exist_ok=True)
  shutil.copyfile(folder / SAMM_CODES, os.path.join(root, SAMM_CODES))
  stats = {"clips": 0, "files": 0, "links": 0}
  for row in _sheet_rows(folder / SAMM_CODES, samm_writer.SHEET, "Subject"):
    onset, offset = row["Onset Frame"], row["Offset Frame"]
    if not (isinstance(onset, int) and isinstance(offset, int) and onset <= offset):
      continue
    subject, clip = f"{int(str(row['Subject']).strip()):03d}", str(row["Filename"]).strip()
    if subjects is not None and subject not in subjects:
      continue
    apex = _apex_index(onset, row["Apex Frame"], offset)
    motion = random_motion(rng_for(seed, "samm", subject, clip))
    box = off_centre_box(frame_wh, int(0.55 * frame_wh[1]), rng_for(seed, "samm", subject))
    backdrop = background(frame_wh, rng_for(seed, "samm-backdrop", subject))
    numbers = range(onset, offset + 1)
    written = write_linked_clip(
        os.path.join(root, samm_writer.FRAMES_DIR, subject, clip),
        [samm_writer.frame_name(subject, n) for n in numbers], apex, distinct,
        lambda amps: uncropped_frames(frame_wh, box, amps, motion, backdrop, grey=True),
        grey=True)
    stats["clips"] += 1
    stats["files"] += written
    stats["links"] += len(numbers) - written
  return stats


def smic_gt_rows(annotations: str | os.PathLike | None = None) -> list[tuple[str, str, int]]:
  """(subject folder, clip folder, label) of the SMIC rows of combined_3class_gt.csv.

  'smic,s01,s01_ne_01,0' -> ('s1', 's1_ne_01', 0): the folders drop the zero padding.
  """
  path = _need_annotations(annotations) / MEGC2019_GT
  with open(path, newline="", encoding="utf-8-sig") as f:
    rows = [r for r in csv.reader(f) if r and r[0].strip() == "smic"]
  out = []
  for _, subject, clip, label in ([c.strip() for c in r] for r in rows):
    number = int(subject[1:])
    out.append((f"s{number}", f"s{number}{clip[len(subject):]}", int(label)))
  return out


def write_smic_tree(root: str | os.PathLike, *, trees: Sequence[str] = ("cropped",),
                    frames_per_clip: int = 12, crop_wh: tuple[int, int] = SMIC_CROP_WH,
                    crop_jitter: int = 6, raw_wh: tuple[int, int] = SMIC_RAW_WH,
                    distinct: int = 3, seed: int = 0,
                    annotations: str | os.PathLike | None = None,
                    subjects: Sequence[str] | None = None) -> dict:
  """SMIC-HS short clips as distributed, for the 164 SMIC rows of the MEGC 2019 GT.

  SMIC_all_cropped/HS/s<n>/micro/<emotion>/s<n>_<code>_<NN>/reg_image<N>.bmp
  (tight crops of crop_wh +- crop_jitter) and/or SMIC_all_raw/HS/.../
  image<N>.bmp (raw_wh, the face off-centre, placed per subject); each clip
  has frames_per_clip +- 2 frames (at least 3) numbered from a random
  six-digit N. `subjects` ('s1', ...) limits the clips to those subjects.

  Returns:
    {'clips': 164, 'files': image files written, 'links': frames linked}.
  """
  unknown = set(trees) - set(smic_writer.TREES)
  if unknown or not trees:
    raise ValueError(f"SMIC trees {tuple(trees)}; expected 'cropped' and/or 'raw'")
  root = str(root)
  stats = {"clips": 0, "files": 0, "links": 0}
  for subject, clip, label in smic_gt_rows(annotations):
    if subjects is not None and subject not in subjects:
      continue
    rng = rng_for(seed, "smic", subject, clip)
    motion = random_motion(rng)
    count = max(3, frames_per_clip + int(rng.integers(-2, 3)))
    first = int(rng.integers(*SMIC_FIRST_FRAME))
    apex = count // 2 + int(rng.integers(-1, 2))
    rel = os.path.join("HS", subject, "micro", SMIC_EMOTIONS[label], clip)
    parts = []
    if "cropped" in trees:
      size = _jittered(crop_wh, crop_jitter, rng)
      parts.append(("cropped", lambda amps, size=size: crop_frames(size, amps, motion)))
    if "raw" in trees:
      box = off_centre_box(raw_wh, int(0.5 * raw_wh[1]), rng_for(seed, "smic", subject))
      backdrop = background(raw_wh, rng_for(seed, "smic-backdrop", subject))
      parts.append(("raw", lambda amps, box=box, bd=backdrop:
                    uncropped_frames(raw_wh, box, amps, motion, bd)))
    for tree, render in parts:
      top = smic_writer.TREES[tree]
      prefix = smic_writer.FRAME_FOLDERS[top]
      names = [f"{prefix}{n}.bmp" for n in range(first, first + count)]
      written = write_linked_clip(os.path.join(root, top, rel), names, apex, distinct, render)
      stats["files"] += written
      stats["links"] += count - written
    stats["clips"] += 1
  return stats


def write_megc2019_trees(tmp_root: str | os.PathLike, *, frames_per_clip: int = 12,
                         smic_trees: Sequence[str] = ("cropped",),
                         casme2_trees: Sequence[str] = ("cropped",),
                         samm_size: tuple[int, int] = SAMM_WH, distinct: int = 4,
                         seed: int = 0, annotations: str | os.PathLike | None = None
                         ) -> dict[str, str]:
  """The three MEGC 2019 corpora (CASME II, SAMM, SMIC-HS) in their distributed layouts.

  The adapters then give the full composite: 442 clips, 68 subjects
  (CASME II 145 / 24, SAMM 133 / 28, SMIC-HS 164 / 16).

  Args:
    tmp_root: a temporary folder; gets CASME2/, SAMM/ and SMIC/.
    frames_per_clip: about how many frames a SMIC clip has (CASME II and
      SAMM clips span their annotated onset..offset).
    smic_trees: 'cropped' and/or 'raw' (write_smic_tree).
    casme2_trees: 'cropped' and/or 'raw_selected' (write_casme2_tree).
    samm_size: SAMM frame (W, H).
    distinct: distinct image files per clip (SMIC: one fewer).
    seed: fixes every clip's motion, size and face position.
    annotations: the folder of the real annotation files (default
      ../shared/reference/annotations).

  Returns:
    {'casme2': root, 'samm': root, 'smic': root}.
  """
  roots = write_megc2018_trees(tmp_root, casme2_trees=casme2_trees, samm_size=samm_size,
                               distinct=distinct, seed=seed, annotations=annotations)
  roots["smic"] = os.path.join(str(tmp_root), "SMIC")
  write_smic_tree(roots["smic"], trees=smic_trees, frames_per_clip=frames_per_clip,
                  distinct=max(1, distinct - 1), seed=seed, annotations=annotations)
  return roots


def write_megc2018_trees(tmp_root: str | os.PathLike, *,
                         casme2_trees: Sequence[str] = ("cropped",),
                         samm_size: tuple[int, int] = SAMM_WH, distinct: int = 4,
                         seed: int = 0, annotations: str | os.PathLike | None = None
                         ) -> dict[str, str]:
  """CASME II and SAMM trees for MEGC 2018 (objective classes I-V: 253 clips, 47 subjects).

  The same trees as write_megc2019_trees without SMIC; arguments as there.

  Returns:
    {'casme2': root, 'samm': root}.
  """
  roots = {"casme2": os.path.join(str(tmp_root), "CASME2"),
           "samm": os.path.join(str(tmp_root), "SAMM")}
  write_casme2_tree(roots["casme2"], trees=casme2_trees, distinct=distinct, seed=seed,
                    annotations=annotations)
  write_samm_tree(roots["samm"], frame_wh=samm_size, distinct=distinct, seed=seed,
                  annotations=annotations)
  return roots


def disk_usage(root: str | os.PathLike) -> tuple[int, int]:
  """(bytes of distinct files, number of directory entries) under `root` (links once)."""
  seen, size, entries = set(), 0, 0
  for folder, _, files in os.walk(root):
    for name in files:
      st = os.stat(os.path.join(folder, name))
      entries += 1
      if (st.st_dev, st.st_ino) not in seen:
        seen.add((st.st_dev, st.st_ino))
        size += st.st_size
  return size, entries


# ------------------------------------------------------ for the writers ---


def photo_videos(lengths: Sequence[int], size_wh: tuple[int, int], seed: int = 0
                 ) -> list[np.ndarray]:
  """Tight photo face clips of the given lengths (e.g. to replace SyntheticData.videos)."""
  return [photo_face_clip(t, size_wh, rng_for(seed, "photo", i)) for i, t in enumerate(lengths)]


def uncropped_videos(lengths: Sequence[int], frame_wh: tuple[int, int], seed: int = 0,
                     grey: bool = False) -> tuple[list[np.ndarray], list[Box]]:
  """Uncropped photo clips of the given lengths (e.g. a writer's raw_videos), and their boxes."""
  clips = [uncropped_clip(t, frame_wh, rng_for(seed, "uncropped", i), grey=grey)
           for i, t in enumerate(lengths)]
  return [c for c, _ in clips], [b for _, b in clips]


def write_xlsx(path, sheets: dict) -> str:
  """Writes {sheet name: rows} to the workbook `path` (the first sheet first); returns the path."""
  book = openpyxl.Workbook()
  book.remove(book.active)
  for name, rows in sheets.items():
    sheet = book.create_sheet(name)
    for row in rows:
      sheet.append(row)
  book.save(path)
  return str(path)
