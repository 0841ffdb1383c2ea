"""The built-in synthetic micro-expression dataset: the generator.

Faces are drawn procedurally by `face_drawing` (numpy + OpenCV): per subject a
face shape, skin tone, texture and features with soft edges, so that sub-pixel
motion changes pixels smoothly. Each clip holds one micro-expression: Gaussian
displacement bumps at facial landmarks following FACS action units (AU_TABLE),
scaled by a profile 0 (onset) -> 1 (apex) -> 0 (offset), plus head jitter,
illumination flicker and sensor noise drawn independently of the label.

  data = generate(SyntheticSpec(num_subjects=4))
  native.write_native(data, '/tmp/synth')     # see mer_jax.data.synthetic.native
  samples = native.load_native('/tmp/synth')  # Sample.frame_paths filled
  video.write_video(data.videos[0], 'clip.avi', fps=200)  # mer_jax.preprocess.video

The CLI that writes it is mer_jax.data.synthetic.cli (python -m mer_jax.data.synthetic).
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Sequence

import cv2
import numpy as np

from mer_jax.data.sample import Sample
from mer_jax.data.synthetic import face_drawing
from mer_jax.errors import ConfigError

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
_REF_SIZE = 64.0  # difficulty and jitter_px are in pixels at 64x64


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
  lm = face_drawing.landmarks(g)
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
                  apex_source="synthetic", action_units=aus, objective_class=objective,
                  frame_source="face_crop")  # the drawn face fills the frame
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
    g = face_drawing.draw_subject(np.random.default_rng([spec.seed, 1, s]))
    face = face_drawing.render_neutral(g, spec.image_size)
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
