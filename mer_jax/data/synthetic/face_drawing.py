"""Procedural face renderer for the synthetic dataset (numpy + OpenCV).

Draws one subject's upright neutral face as a float RGB image: a backdrop, neck,
hair and ears, a shaded skin-textured face, then per side a cheek, nasolabial
fold, brow, eye and nose wing, and the mouth and chin. Every shape has a soft
(~1 px anti-aliased) edge, so that sub-pixel motion changes pixels smoothly.
Geometry is in face units: (u, v) = (x, y) / S - 0.5, origin at the centre.

  g = draw_subject(np.random.default_rng(0))  # geometry and colours
  face = render_neutral(g, 64)                # float32 [64, 64, 3] in 0..255
  points = landmarks(g)                       # where action units move the face
"""

from __future__ import annotations

import cv2
import numpy as np

_Point = tuple[float, float]  # (u, v) in face units


class Painter:
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


def draw_subject(rng: np.random.Generator) -> dict:
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


def landmarks(g: dict) -> dict[str, tuple[float, float]]:
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


def _draw_head(pen: Painter, g: dict) -> None:
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


def _draw_side(pen: Painter, g: dict, k: int) -> None:
  """Cheek, fold, brow, eye and nose wing of one side (k = -1 left, +1 right)."""
  skin = g["skin"]
  q = {n: (k * uv[0], uv[1]) for n, uv in landmarks(g).items()}
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


def _draw_mouth(pen: Painter, g: dict) -> None:
  """Lips, the line between them, the shadow below and the chin crease."""
  skin, my, mw, mh = g["skin"], g["mouth_y"], g["mouth_w"], g["mouth_h"]
  pen.paint(pen.ellipse((0, my), (mw, mh)), skin * [0.85, 0.55, 0.55])
  pen.paint(pen.stroke((-0.95 * mw, my), (0.95 * mw, my), 0.005), skin * [0.4, 0.25, 0.25])
  pen.paint(pen.ellipse((0, my + mh + 0.025), (0.04, 0.01)), skin * 0.8, 0.5)
  chin = pen.ellipse((0, g["chin_y"]), (0.06, 0.025), ring=0.008) * (pen.v > g["chin_y"])
  pen.paint(chin, skin * 0.7, 0.4)


def render_neutral(g: dict, size: int) -> np.ndarray:
  """Draws a subject's upright neutral face: float32 [S, S, 3] in 0..255."""
  pen = Painter(size, g["background"])
  _draw_head(pen, g)
  _draw_side(pen, g, -1)
  _draw_side(pen, g, 1)
  _draw_mouth(pen, g)
  return pen.img.astype(np.float32)
