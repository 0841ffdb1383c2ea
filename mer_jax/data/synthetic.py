"""The built-in synthetic micro-expression dataset, its native layout and a CLI.

Faces are drawn procedurally (numpy + OpenCV): per subject a face shape, skin
tone, texture and features with soft edges, so that sub-pixel motion changes
pixels smoothly. Each clip holds one micro-expression: Gaussian displacement
bumps at facial landmarks following FACS action units (AU_TABLE), scaled by a
profile 0 (onset) -> 1 (apex) -> 0 (offset), plus head jitter, illumination
flicker and sensor noise drawn independently of the label.

  data = generate(SyntheticSpec(num_subjects=4))
  write_native(data, '/tmp/synth')     # annotations.csv + <subject>/<clip>/img<N>.png
  samples = load_native('/tmp/synth')  # Sample.frame_paths filled

CLI: python -m mer_jax.data.synthetic --out=/tmp/synth --subjects=12
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import math
import os
from typing import Sequence

from absl import app
from absl import flags
import cv2
import numpy as np

from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import frames as frames_lib

# Emotion -> (sampling weight, ((AU combination, MEGC objective class), ...)).
# The weights populate every class of 'casme2_5', 'three_class' (about 45/27/27
# negative/positive/surprise) and 'objective_5'.
EMOTIONS: dict[str, tuple[float, tuple[tuple[str, int], ...]]] = {
    "happiness": (0.24, (("6+12", 1), ("12", 1))),
    "surprise": (0.24, (("1+2", 2), ("1+2+26", 2))),
    "others": (0.12, (("4", 3), ("4+7", 3))),
    "disgust": (0.14, (("9", 4), ("4+9", 4), ("10", 4))),
    "repression": (0.14, (("15", 5), ("15+17", 5), ("14", 7))),
    "sadness": (0.06, (("1+4+15", 5),)),
    "fear": (0.06, (("1+2+4+20", 6),)),
}

# AU -> [(landmark, (outward, down) direction, relative strength)]. Bilateral
# landmarks move mirror-symmetrically: +x points away from the face midline.
AU_TABLE: dict[str, list[tuple[str, tuple[float, float], float]]] = {
    "1": [("brow_inner", (0.0, -1.0), 1.0), ("brow_mid", (0.0, -1.0), 0.5)],
    "2": [("brow_outer", (0.0, -1.0), 1.0), ("brow_mid", (0.0, -1.0), 0.5)],
    "4": [("brow_inner", (-0.6, 0.8), 1.0), ("brow_mid", (-0.3, 1.0), 0.6)],
    "6": [("cheek", (0.0, -1.0), 1.0), ("lower_lid", (0.0, -1.0), 0.3)],
    "7": [("lower_lid", (0.0, -1.0), 0.8), ("upper_lid", (0.0, 1.0), 0.4)],
    "9": [("nose_wing", (0.2, -1.0), 1.0), ("brow_inner", (-0.3, 0.8), 0.4),
          ("upper_lip", (0.0, -1.0), 0.4)],
    "10": [("upper_lip", (0.0, -1.0), 1.0), ("nose_wing", (0.1, -1.0), 0.4)],
    "12": [("mouth_corner", (0.6, -0.8), 1.0), ("cheek", (0.3, -1.0), 0.4)],
    "14": [("mouth_corner", (-1.0, -0.1), 0.8)],
    "15": [("mouth_corner", (0.1, 1.0), 1.0)],
    "17": [("chin", (0.0, -1.0), 1.0), ("lower_lip", (0.0, -1.0), 0.6)],
    "20": [("mouth_corner", (1.0, 0.2), 1.0)],
    "26": [("chin", (0.0, 1.0), 1.0), ("lower_lip", (0.0, 1.0), 0.8)],
}

# Landmark -> Gaussian bump sigma in face units (fractions of the image side).
_BUMP_SIGMA = {"brow_inner": 0.035, "brow_mid": 0.035, "brow_outer": 0.035,
               "upper_lid": 0.025, "lower_lid": 0.025, "cheek": 0.05,
               "nose_wing": 0.03, "mouth_corner": 0.035, "upper_lip": 0.03,
               "lower_lip": 0.03, "chin": 0.045}
_MIDLINE = ("upper_lip", "lower_lip", "chin")
COLUMNS = ("subject", "clip", "onset", "apex", "offset", "emotion",
           "action_units", "objective_class")
_REF_SIZE = 64.0  # difficulty and jitter_px are in pixels at 64x64
_Point = tuple[float, float]  # (u, v) in face units


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
  """What to generate; displacements are px at 64x64, scaled with image_size.

  Attributes:
    num_subjects: number of subjects ('sub01', ...).
    clips_per_subject: clips (one micro-expression each) per subject.
    image_size: side of the square frames in pixels.
    fps: frame rate that turns durations into frame counts.
    min_duration_s: shortest clip (onset..offset) in seconds.
    max_duration_s: longest clip in seconds.
    difficulty: peak expression displacement (~1 px at 64x64 for 1.0; 0 = none).
    jitter_px: largest head jitter (a smooth random walk).
    flicker: largest relative illumination gain change within a clip.
    noise_std: sensor noise standard deviation in grey levels.
    emotions: emotion names to draw from (keys of EMOTIONS).
    seed: everything is a deterministic function of the spec.
  """

  num_subjects: int = 8
  clips_per_subject: int = 12
  image_size: int = 64
  fps: float = 200.0
  min_duration_s: float = 1 / 25
  max_duration_s: float = 1 / 5
  difficulty: float = 1.0
  jitter_px: float = 0.3
  flicker: float = 0.02
  noise_std: float = 2.0
  emotions: tuple[str, ...] = tuple(EMOTIONS)
  seed: int = 0

  def frame_range(self) -> tuple[int, int]:
    """(shortest, longest) clip length in frames, onset..offset inclusive."""
    return (math.ceil(self.min_duration_s * self.fps - 1e-6),
            math.floor(self.max_duration_s * self.fps + 1e-6))


@dataclasses.dataclass(frozen=True)
class SyntheticData:
  """Generated samples and their pixels, index-aligned.

  Attributes:
    samples: one Sample per clip (frame_paths empty: frames are in memory).
    videos: uint8 RGB [T, H, W, 3] per sample, the frames onset..offset.
    apex_flows: float32 [H, W, 2] (dx, dy) per sample: the expression
      displacement d at the apex in pixels (the onset->apex flow without
      head jitter: apex(q) ~= onset(q - d(q)) when jitter_px is 0).
  """

  samples: list[Sample]
  videos: list[np.ndarray]
  apex_flows: list[np.ndarray]


def _check_spec(spec: SyntheticSpec) -> None:
  """Raises ConfigError when `spec` cannot be generated."""
  lo, hi = spec.frame_range()
  unknown = sorted(set(spec.emotions) - set(EMOTIONS))
  for bad, message in (
      (min(spec.num_subjects, spec.clips_per_subject) < 1, "need >= 1 subject and clip"),
      (spec.image_size < 16, "image_size must be >= 16"),
      (not 3 <= lo <= hi, f"durations give {lo}..{hi} frames; need 3 <= min <= max"),
      (min(spec.difficulty, spec.jitter_px, spec.flicker, spec.noise_std) < 0,
       "difficulty, jitter_px, flicker and noise_std must be >= 0"),
      (not spec.emotions or unknown, f"unknown emotions {unknown}; use {list(EMOTIONS)}")):
    if bad:
      raise ConfigError(f"SyntheticSpec: {message} (got {spec})")


# ---------------------------------------------------------------- drawing ---


class _Painter:
  """Draws soft shapes on a float RGB image [S, S, 3].

  Coordinates are face units: (u, v) = (x, y) / S - 0.5, origin at the centre.
  """

  def __init__(self, size: int, background: np.ndarray):
    self.size = size
    self.v, self.u = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    self.img = background * (1.1 - 0.2 * (self.v + 0.5))[..., None]

  def soft(self, sdf: np.ndarray) -> np.ndarray:
    """Coverage from a signed distance in face units: ~1 px anti-aliased edge."""
    return 0.5 + 0.5 * np.tanh(-2.0 * sdf * self.size)

  def ellipse(self, c: _Point, axes: _Point, ring: float | None = None) -> np.ndarray:
    """Coverage [S, S] of an ellipse, or of its outline of half-width `ring`."""
    du, dv = self.u - c[0], self.v - c[1]
    f = (du / axes[0]) ** 2 + (dv / axes[1]) ** 2 - 1
    sdf = f / (2 * np.hypot(du / axes[0] ** 2, dv / axes[1] ** 2) + 1e-6)
    return self.soft(sdf if ring is None else np.abs(sdf) - ring)

  def stroke(self, p0: _Point, p1: _Point, width: float) -> np.ndarray:
    """Coverage [S, S] of the segment p0-p1 with half-width `width`, round ends."""
    bu, bv = p1[0] - p0[0], p1[1] - p0[1]
    h = np.clip(((self.u - p0[0]) * bu + (self.v - p0[1]) * bv) / (bu**2 + bv**2), 0, 1)
    return self.soft(np.hypot(self.u - p0[0] - h * bu, self.v - p0[1] - h * bv) - width)

  def blob(self, c: _Point, sigma: float) -> np.ndarray:
    """A Gaussian spot [S, S] peaking at 1 (soft shading)."""
    return np.exp(-((self.u - c[0]) ** 2 + (self.v - c[1]) ** 2) / (2 * sigma**2))

  def paint(self, alpha: np.ndarray, color, opacity: float = 1.0) -> None:
    """Composites `color` ([3] or [S, S, 3]) with coverage alpha [S, S]."""
    self.img += (opacity * alpha)[..., None] * (np.asarray(color, np.float32) - self.img)


def _draw_subject(rng: np.random.Generator) -> dict:
  """Samples one person: geometry in face units (fractions of the side), colours."""
  u = rng.uniform
  g = dict(face_a=u(0.27, 0.31), face_b=u(0.36, 0.40), eye_y=u(-0.10, -0.07),
           eye_dx=u(0.11, 0.13), eye_w=u(0.05, 0.06), eye_h=u(0.02, 0.027),
           brow_gap=u(0.07, 0.09), brow_len=u(0.05, 0.065), brow_th=u(0.01, 0.016),
           brow_arch=u(0.0, 0.02), nose_y=u(0.06, 0.09), nose_w=u(0.03, 0.045),
           mouth_y=u(0.17, 0.2), mouth_w=u(0.075, 0.1), mouth_h=u(0.02, 0.03),
           chin_y=u(0.29, 0.32), hairline=u(-0.31, -0.25), angle=u(-4.0, 4.0))
  tone = u(0.0, 1.0)
  g["skin"] = ((1 - tone) * np.array([235.0, 200, 175]) + tone * np.array([125.0, 85, 65])
               ) * u(0.95, 1.05, 3)
  g["hair"] = u(15, 90) * np.array([1.0, u(0.75, 0.95), u(0.5, 0.8)])
  g["background"] = u(70, 190) * u(0.85, 1.15, 3)  # muted lab backdrops
  g["iris"] = rng.choice([[70.0, 45, 25], [60, 90, 130], [70, 100, 60]])
  g["texture_seed"] = int(rng.integers(2**31))
  return g


def _make_texture(seed: int, size: int) -> np.ndarray:
  """Smooth skin texture [S, S]: low-pass noise at two scales, about +-5%."""
  rng = np.random.default_rng(seed)
  tex = np.zeros((size, size), np.float32)
  for sigma, amp in ((size / 40, 0.035), (size / 12, 0.03)):
    n = cv2.GaussianBlur(rng.standard_normal((size, size), np.float32), (0, 0), sigma)
    tex += amp * n / (n.std() + 1e-6)
  return tex


def _landmarks(g: dict) -> dict[str, tuple[float, float]]:
  """One side's (u > 0) and the midline's landmarks (u, v) in face units."""
  brow_y, ex, ey = g["eye_y"] - g["brow_gap"], g["eye_dx"], g["eye_y"]
  return {"brow_inner": (ex - g["brow_len"], brow_y),
          "brow_mid": (ex, brow_y - g["brow_arch"]),
          "brow_outer": (ex + g["brow_len"], brow_y - 0.3 * g["brow_arch"]),
          "upper_lid": (ex, ey - g["eye_h"]), "lower_lid": (ex, ey + g["eye_h"]),
          "cheek": (ex + 0.01, g["nose_y"] - 0.01), "nose_wing": (g["nose_w"], g["nose_y"]),
          "mouth_corner": (g["mouth_w"], g["mouth_y"]),
          "upper_lip": (0.0, g["mouth_y"] - g["mouth_h"]),
          "lower_lip": (0.0, g["mouth_y"] + g["mouth_h"]), "chin": (0.0, g["chin_y"])}


def _draw_head(pen: _Painter, g: dict) -> None:
  """Neck, hair, ears, the shaded and textured face, and the fringe."""
  skin, a, b = g["skin"], g["face_a"], g["face_b"]
  pen.paint(pen.stroke((0, 0.3), (0, 0.8), 0.14), skin * 0.8)
  hair = pen.ellipse((0, -0.05), (a + 0.04, b + 0.03))
  pen.paint(hair, g["hair"])
  for k in (-1, 1):
    pen.paint(pen.ellipse((k * a, g["eye_y"] + 0.03), (0.03, 0.055)), skin * 0.9)
  r2 = np.clip((pen.u / a) ** 2 + (pen.v / b) ** 2, 0, 1)  # darker towards the rim
  shade = (1 - 0.2 * r2) * (1 + _make_texture(g["texture_seed"], pen.size))
  pen.paint(pen.ellipse((0, 0), (a, b)), shade[..., None] * skin)
  pen.paint(hair * pen.soft(pen.v - g["hairline"] - 0.12 * (pen.u / a) ** 2), g["hair"])


def _draw_side(pen: _Painter, g: dict, k: int) -> None:
  """Cheek, fold, brow, eye and nose wing of one side (k = -1 left, +1 right)."""
  skin = g["skin"]
  q = {n: (k * uv[0], uv[1]) for n, uv in _landmarks(g).items()}
  pen.paint(pen.blob(q["cheek"], 0.04), skin * [1.05, 0.85, 0.85], 0.3)
  pen.paint(pen.stroke((k * (g["nose_w"] + 0.01), g["nose_y"] + 0.01),
                       (k * (g["mouth_w"] + 0.02), g["mouth_y"] + 0.01), 0.004),
            skin * 0.75, 0.5)  # nasolabial fold
  for p0, p1 in (("brow_inner", "brow_mid"), ("brow_mid", "brow_outer")):
    pen.paint(pen.stroke(q[p0], q[p1], g["brow_th"]), g["hair"] * 1.1)
  eye, axes = (k * g["eye_dx"], g["eye_y"]), (g["eye_w"], g["eye_h"])
  sclera = pen.ellipse(eye, axes)
  pen.paint(sclera, [225, 220, 215])
  pen.paint(sclera * pen.ellipse(eye, (0.95 * g["eye_h"],) * 2), g["iris"])
  pen.paint(sclera * pen.ellipse(eye, (0.4 * g["eye_h"],) * 2), [15, 10, 10])
  pen.paint(pen.ellipse(eye, axes, ring=0.006), g["hair"] * 0.6)
  pen.paint(pen.ellipse(q["nose_wing"], (0.018, 0.014)), skin * 0.7, 0.7)
  pen.paint(pen.ellipse((k * g["nose_w"] * 0.5, g["nose_y"] + 0.01), (0.012, 0.006)),
            skin * 0.35)  # nostril


def _draw_mouth(pen: _Painter, g: dict) -> None:
  """Lips, the line between them, the shadow below and the chin crease."""
  skin, my, mw, mh = g["skin"], g["mouth_y"], g["mouth_w"], g["mouth_h"]
  pen.paint(pen.ellipse((0, my), (mw, mh)), skin * [0.85, 0.55, 0.55])
  pen.paint(pen.stroke((-0.95 * mw, my), (0.95 * mw, my), 0.005), skin * [0.4, 0.25, 0.25])
  pen.paint(pen.ellipse((0, my + mh + 0.025), (0.04, 0.01)), skin * 0.8, 0.5)
  chin = pen.ellipse((0, g["chin_y"]), (0.06, 0.025), ring=0.008) * (pen.v > g["chin_y"])
  pen.paint(chin, skin * 0.7, 0.4)


def _render_neutral(g: dict, size: int) -> np.ndarray:
  """Draws a subject's upright neutral face: float32 [S, S, 3] in 0..255."""
  pen = _Painter(size, g["background"])
  _draw_head(pen, g)
  _draw_side(pen, g, -1)
  _draw_side(pen, g, 1)
  _draw_mouth(pen, g)
  return pen.img.astype(np.float32)


# ------------------------------------------------------------- expression ---


def _draw_pose(rng: np.random.Generator, g: dict, size: int) -> np.ndarray:
  """Clip pose: a 2x3 affine from the upright face to the image, in px."""
  angle, scale = g["angle"] + rng.uniform(-1.5, 1.5), rng.uniform(0.97, 1.03)
  mat = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
  mat[:, 2] += rng.uniform(-1.0, 1.0, 2) * size / _REF_SIZE + [0.0, 0.02 * size]
  return mat


def _draw_moves(rng: np.random.Generator, action_units: str) -> list:
  """Landmark moves of an AU combination, each AU at a random intensity."""
  moves = []
  for au in action_units.split("+"):
    intensity = rng.uniform(0.6, 1.0)
    moves += [(name, d, s * intensity) for name, d, s in AU_TABLE[au]]
  return moves


def _make_field(moves: list, g: dict, pose: np.ndarray, amplitude: float,
                size: int) -> np.ndarray:
  """Expression displacement [S, S, 2] (dx, dy) in px with peak |d| = amplitude."""
  if not moves or amplitude == 0:
    return np.zeros((size, size, 2), np.float32)
  lm = _landmarks(g)
  bumps = [((side * lm[n][0], lm[n][1]), (side * dx * s, dy * s), _BUMP_SIGMA[n])
           for n, (dx, dy), s in moves for side in ((1,) if n in _MIDLINE else (-1, 1))]
  centres, vectors, sigmas = (np.asarray(t, np.float32) for t in zip(*bumps))
  c = (centres * size + size / 2) @ pose[:, :2].T + pose[:, 2]  # [K, 2] image px
  vec = (vectors @ pose[:, :2].T).astype(np.float32)  # turns with the head
  y, x = np.mgrid[0:size, 0:size].astype(np.float32)
  d2 = (x - c[:, 0, None, None]) ** 2 + (y - c[:, 1, None, None]) ** 2
  w = np.exp(-d2 / (2 * (sigmas[:, None, None] * size) ** 2))  # [K, S, S]
  field = np.einsum("kij,kc->ijc", w, vec)
  peak = np.sqrt((field**2).sum(-1)).max()
  return (field * (amplitude / max(peak, 1e-9))).astype(np.float32)


def make_profile(length: int, apex: int) -> np.ndarray:
  """Temporal profile [T]: raised cosine from 0 (onset) to 1 (apex) to 0 (offset)."""
  t = np.arange(length, dtype=np.float32)
  phase = np.where(t <= apex, t / apex, (length - 1 - t) / (length - 1 - apex))
  return (0.5 - 0.5 * np.cos(np.pi * np.clip(phase, 0, 1))).astype(np.float32)


def _smooth_walk(rng: np.random.Generator, length: int, dims: int) -> np.ndarray:
  """A smooth zero-mean random walk [T, dims] with peak |value| 1."""
  walk = np.cumsum(rng.standard_normal((length + 8, dims)), axis=0).astype(np.float32)
  walk = cv2.GaussianBlur(walk, (1, 0), 2.0)[4:length + 4]  # along time only
  walk -= walk.mean(0)
  return walk / max(float(np.abs(walk).max()), 1e-6)


def _render_clip(face: np.ndarray, pose: np.ndarray, field: np.ndarray,
                 profile: np.ndarray, spec: SyntheticSpec,
                 rng: np.random.Generator) -> np.ndarray:
  """Warps the upright neutral face through a clip: uint8 [T, S, S, 3]."""
  size, length = spec.image_size, len(profile)
  jitter = _smooth_walk(rng, length, 2) * (
      spec.jitter_px * size / _REF_SIZE * rng.uniform(0.3, 1.0))
  gain = rng.uniform(0.92, 1.08) * (1 + spec.flicker * _smooth_walk(rng, length, 1))
  # Frame t at pixel q shows the posed face at q - d_t(q); the pose is affine,
  # so the source coordinate in the upright face is inv(q - d_t(q)).
  inv = cv2.invertAffineTransform(pose).astype(np.float32)
  y, x = np.mgrid[0:size, 0:size].astype(np.float32)
  maps = []
  for a, b, c in inv:  # source x, then source y: [T, S, S] each
    moved = profile[:, None, None] * (a * field[..., 0] + b * field[..., 1])
    shaken = (a * jitter[:, 0] + b * jitter[:, 1])[:, None, None]
    maps.append((a * x + b * y + c) - moved - shaken)
  # One remap call for all T frames stacked vertically: [T*S, S, 3].
  video = cv2.remap(face, maps[0].reshape(-1, size), maps[1].reshape(-1, size),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
  video = video.reshape(length, size, size, 3) * gain.astype(np.float32)[:, :, None, None]
  if spec.noise_std > 0:
    video += spec.noise_std * rng.standard_normal(video.shape, np.float32)
  return np.clip(video + 0.5, 0, 255.4, out=video).astype(np.uint8)  # rounds


# ------------------------------------------------------------- generation ---


def assign_emotions(spec: SyntheticSpec) -> list[str]:
  """Emotion of every clip (subject-major): quotas by weight, then shuffled."""
  n = spec.num_subjects * spec.clips_per_subject
  w = np.array([EMOTIONS[e][0] for e in spec.emotions])
  exact = n * w / w.sum()
  counts = np.floor(exact).astype(int)
  # Largest remainders take the leftover clips, so the counts sum to n.
  counts[np.argsort(counts - exact, kind="stable")[:n - counts.sum()]] += 1
  emotions = np.repeat(np.array(spec.emotions), counts)
  return [str(e) for e in np.random.default_rng([spec.seed, 2]).permutation(emotions)]


def _make_clip(spec: SyntheticSpec, s: int, c: int, emotion: str, g: dict,
               face: np.ndarray) -> tuple[Sample, np.ndarray, np.ndarray]:
  """Clip c of subject s: Sample, uint8 video [T, S, S, 3], apex field [S, S, 2]."""
  nuisance = np.random.default_rng([spec.seed, 3, s, c])  # never sees the label
  expr = np.random.default_rng([spec.seed, 4, s, c])
  lo, hi = spec.frame_range()
  length = int(nuisance.integers(lo, hi + 1))
  apex = int(np.clip(round(nuisance.uniform(0.25, 0.65) * (length - 1)), 1, length - 2))
  onset = int(nuisance.integers(40, 401))
  pose = _draw_pose(nuisance, g, spec.image_size)
  variants = EMOTIONS[emotion][1]
  aus, objective = variants[int(expr.integers(len(variants)))]
  amplitude = spec.difficulty * spec.image_size / _REF_SIZE * expr.uniform(0.8, 1.2)
  field = _make_field(_draw_moves(expr, aus), g, pose, amplitude, spec.image_size)
  video = _render_clip(face, pose, field, make_profile(length, apex), spec, nuisance)
  sample = Sample(dataset="synthetic", subject=f"sub{s + 1:02d}",
                  clip=f"EP{c // 3 + 1:02d}_{c % 3 + 1:02d}", emotion=emotion,
                  onset=onset, apex=onset + apex, offset=onset + length - 1,
                  apex_source="synthetic", action_units=aus, objective_class=objective)
  return sample, video, field


def generate(spec: SyntheticSpec = SyntheticSpec()) -> SyntheticData:
  """Generates the dataset described by `spec`, deterministically.

  Raises:
    ConfigError: the spec is invalid (sizes, durations, unknown emotions).
  """
  _check_spec(spec)
  emotions = assign_emotions(spec)
  clips = []
  for s in range(spec.num_subjects):
    g = _draw_subject(np.random.default_rng([spec.seed, 1, s]))
    face = _render_neutral(g, spec.image_size)
    clips += [_make_clip(spec, s, c, emotions[s * spec.clips_per_subject + c], g, face)
              for c in range(spec.clips_per_subject)]
  samples, videos, flows = (list(t) for t in zip(*clips))
  return SyntheticData(samples, videos, flows)


def summarize(samples: Sequence[Sample]) -> str:
  """One line: the numbers of samples and subjects, and the count per emotion."""
  counts = sorted(collections.Counter(s.emotion for s in samples).items())
  subjects = len({s.subject for s in samples})
  return (f"{len(samples)} samples, {subjects} subjects: "
          + " ".join(f"{e}={n}" for e, n in counts))


# ---------------------------------------------------------- native layout ---


def write_native(data: SyntheticData, out_dir: str) -> str:
  """Writes out_dir/annotations.csv and out_dir/<subject>/<clip>/img<N>.png.

  N is the absolute frame number (onset..offset), as in the real corpora.
  Returns the path of the annotation file.
  """
  for s, video in zip(data.samples, data.videos):
    folder = os.path.join(out_dir, s.subject, s.clip)
    if os.path.isdir(folder):  # frames of an earlier run would not match onset..offset
      for old in frames_lib.list_frame_files(folder):
        os.remove(old)
    frames_lib.write_frames(video, folder, s.onset)
  path = os.path.join(out_dir, "annotations.csv")
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(COLUMNS)
    writer.writerows([s.subject, s.clip, s.onset, s.apex, s.offset, s.emotion,
                      s.action_units, "" if s.objective_class is None else s.objective_class]
                     for s in data.samples)
  return path


def _parse_int(where: str, row: dict, field: str) -> int | None:
  """row[field] as an int (None if empty), or DataError naming file, line, field."""
  text = (row[field] or "").strip()
  try:
    return int(text) if text else None
  except ValueError:
    raise DataError(f"{where}, field {field!r}: expected an integer, got {text!r}"
                    ) from None


def _list_frames(where: str, folder: str, onset: int, offset: int) -> tuple[str, ...]:
  """The frame files of `folder`, which must be exactly onset..offset."""
  try:
    paths = frames_lib.list_frame_files(folder)
  except DataError as e:
    raise DataError(f"{where}: {e}") from None
  numbers = [frames_lib.frame_number(p) for p in paths]
  if numbers != list(range(onset, offset + 1)):
    missing = sorted(set(range(onset, offset + 1)) - set(numbers))
    raise DataError(f"{where}: frame files in {folder} do not match onset..offset "
                    f"{onset}..{offset}: found {len(numbers)} files numbered "
                    f"{numbers[:1]}..{numbers[-1:]}, missing {missing[:10]}")
  return tuple(paths)


def _parse_row(where: str, row: dict, root: str, dataset: str,
               apex_source: str) -> Sample:
  """One annotation row -> a validated Sample with its frame_paths."""
  text = {k: (row[k] or "").strip() for k in ("subject", "clip", "emotion", "action_units")}
  for field in ("subject", "clip", "emotion"):
    if not text[field]:
      raise DataError(f"{where}, field {field!r}: empty")
  onset, apex, offset = (_parse_int(where, row, f) for f in ("onset", "apex", "offset"))
  if None in (onset, apex, offset):
    raise DataError(f"{where}: onset, apex and offset must all be given")
  if not onset <= apex <= offset:
    raise DataError(f"{where}, field 'apex': apex {apex} is outside onset..offset "
                    f"{onset}..{offset}")
  folder = os.path.join(root, text["subject"], text["clip"])
  return Sample(dataset=dataset, subject=text["subject"], clip=text["clip"],
                emotion=text["emotion"].lower(), onset=onset, apex=apex, offset=offset,
                apex_source=apex_source, action_units=text["action_units"],
                objective_class=_parse_int(where, row, "objective_class"),
                frame_paths=_list_frames(where, folder, onset, offset))


def load_native(root: str, dataset: str = "synthetic",
                apex_source: str = "synthetic") -> list[Sample]:
  """Reads a dataset in the native layout (as `write_native` writes it).

  Args:
    root: folder with annotations.csv and <subject>/<clip>/img<N>.png.
    dataset: the value of `Sample.dataset`.
    apex_source: the value of `Sample.apex_source` (the CSV has no column).

  Returns:
    The samples in file order, frame_paths sorted by frame number.

  Raises:
    DataError: naming the file, line and field, when the CSV or a column is
      missing, a frame number is not an integer, apex is outside
      onset..offset, a clip repeats, or the frame files do not match.
  """
  path = os.path.join(root, "annotations.csv")
  if not os.path.isfile(path):
    raise DataError(f"{path}: annotation file not found (native layout expected)")
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    header = [h.strip() for h in reader.fieldnames or []]
    if missing := [c for c in COLUMNS if c not in header]:
      raise DataError(f"{path}, line 1 (header): missing column(s) {missing}; "
                      f"expected {list(COLUMNS)}, found {header}")
    reader.fieldnames = header
    rows = list(reader)
  samples, seen = [], {}
  for line, row in enumerate(rows, start=2):
    sample = _parse_row(f"{path}, line {line}", row, root, dataset, apex_source)
    if (key := (sample.subject, sample.clip)) in seen:
      raise DataError(f"{path}, line {line}: clip {key} repeats line {seen[key]}")
    seen[key] = line
    samples.append(sample)
  return samples


# -------------------------------------------------------------------- CLI ---

LAYOUTS = ("native",)  # casme2 | samm | smic are planned


def define_flags(fv: flags.FlagValues = flags.FLAGS) -> None:
  """Defines the CLI flags; called only when run as a program, not on import."""
  d = SyntheticSpec()
  flags.DEFINE_string("out", None, "Output folder.", flag_values=fv, required=True)
  flags.DEFINE_enum("layout", "native", LAYOUTS, "Disk layout.", flag_values=fv)
  for name, default, text in (
      ("subjects", d.num_subjects, "Number of subjects."),
      ("clips_per_subject", d.clips_per_subject, "Clips per subject."),
      ("image_size", d.image_size, "Frame side in pixels."), ("seed", d.seed, "Seed.")):
    flags.DEFINE_integer(name, default, text, flag_values=fv)
  flags.DEFINE_float("difficulty", d.difficulty,
                     "Peak displacement in px at 64x64; 0 = no expression.", flag_values=fv)


def main(argv: Sequence[str], fv: flags.FlagValues = flags.FLAGS) -> None:
  """Generates a dataset from the flags, writes it and prints a one-line summary."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  spec = SyntheticSpec(num_subjects=fv.subjects, clips_per_subject=fv.clips_per_subject,
                       image_size=fv.image_size, difficulty=fv.difficulty, seed=fv.seed)
  data = generate(spec)
  write_native(data, fv.out)
  print(f"{fv.out} ({fv.layout}, {spec.image_size}x{spec.image_size}): "
        f"{summarize(data.samples)}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
