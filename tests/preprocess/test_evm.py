"""Eulerian video magnification: measured motion gain of a sub-pixel translation."""

import math

import numpy as np
import pytest

from mer_jax.preprocess import evm

WIDTH, WAVELENGTH, SHIFT = 256, 32.0, 0.1   # pixels
STEADY = 80                                 # frames left for the IIR transient


def moving_pattern(freq: float, num_frames: int = 160) -> np.ndarray:
  """1-D grating `[T, 1, W, 1]` shifted by 0.1 px * sin(2 pi freq t)."""
  d = SHIFT * np.sin(2 * np.pi * freq * np.arange(num_frames))
  x = np.arange(WIDTH)[None, :] - d[:, None]
  return (0.5 + 0.25 * np.sin(2 * np.pi * x / WAVELENGTH))[:, None, :, None].astype(np.float32)


def displacement(frames) -> np.ndarray:
  """Per-frame shift by linearising intensity about the still grating (central columns)."""
  x = np.arange(WIDTH)
  still = 0.5 + 0.25 * np.sin(2 * np.pi * x / WAVELENGTH)
  slope = 0.25 * 2 * np.pi / WAVELENGTH * np.cos(2 * np.pi * x / WAVELENGTH)
  mid = slice(WIDTH // 4, 3 * WIDTH // 4)
  rows = np.asarray(frames)[:, 0, mid, 0] - still[mid]
  return -(rows @ slope[mid]) / (slope[mid] @ slope[mid])


def response(freq: float, **kwargs) -> complex:
  """Complex gain of the shift at `freq` (output / input), steady state."""
  frames = moving_pattern(freq)
  t = np.arange(STEADY, frames.shape[0])
  phasor = np.exp(-2j * np.pi * freq * t)
  shift_in = np.mean(displacement(frames)[STEADY:] * phasor)
  shift_out = np.mean(displacement(evm.magnify(frames, **kwargs))[STEADY:] * phasor)
  return shift_out / shift_in


def iir_bandpass(freq: float, r1: float, r2: float) -> complex:
  z = np.exp(-2j * np.pi * freq)
  return r1 / (1 - (1 - r1) * z) - r2 / (1 - (1 - r2) * z)


def test_in_band_motion_is_magnified_by_about_one_plus_alpha():
  # A wide band (r1 = 1: no upper low-pass) isolates the spatial part of EVM.
  for alpha in (4.0, 10.0):
    gain = response(0.1, alpha=alpha, high=1.0, levels=5)
    assert abs(gain) == pytest.approx(1 + alpha, rel=0.2)


def test_paper_filter_gain_follows_its_frequency_response():
  # Spatial pass fraction g from the wide band, then the paper's r = (0.4, 0.05).
  wide = response(0.1, alpha=10.0, high=1.0, levels=5)
  g = (wide - 1) / (10.0 * iir_bandpass(0.1, 1.0, 0.05))
  assert abs(g.imag) < 0.02 and 0.85 < g.real <= 1.0
  gains = {}
  for freq in (0.026, 0.1, 0.45):
    gains[freq] = response(freq, alpha=10.0, levels=5)
    want = 1 + 10.0 * g.real * iir_bandpass(freq, 0.4, 0.05)
    assert abs(gains[freq]) == pytest.approx(abs(want), rel=0.03)
  assert abs(gains[0.026]) > 8.0                       # near the filter's peak
  assert abs(gains[0.45]) < 0.4 * abs(gains[0.026])    # above the band


def test_static_and_alpha_zero_clips_are_unchanged():
  frames = moving_pattern(0.026, num_frames=40)
  np.testing.assert_allclose(evm.magnify(frames, alpha=0.0), frames, atol=1e-6)
  still = np.repeat(frames[:1], 40, axis=0)
  np.testing.assert_allclose(evm.magnify(still, alpha=10.0), still, atol=1e-5)
  rgb = np.random.default_rng(0).integers(0, 256, (12, 24, 20, 3), dtype=np.uint8)
  out = evm.magnify(rgb, alpha=0.0)
  assert out.dtype == np.uint8
  np.testing.assert_array_equal(out, rgb)


def test_grey_rgb_equals_single_channel_and_first_frame_is_kept():
  grey = np.random.default_rng(1).uniform(0.2, 0.8, (10, 32, 24, 1)).astype(np.float32)
  one = np.asarray(evm.magnify(grey, alpha=10.0))
  three = np.asarray(evm.magnify(np.repeat(grey, 3, axis=-1), alpha=10.0))
  np.testing.assert_allclose(three, np.repeat(one, 3, axis=-1), atol=1e-5)
  np.testing.assert_allclose(one[0], grey[0], atol=1e-6)
  assert np.abs(one - grey).max() > 1e-3


def test_pyramid_reconstructs_and_auto_height_matches_buildlpyr():
  x = np.random.default_rng(2).normal(size=(2, 37, 50, 1)).astype(np.float32)
  pyramid = evm.build_pyramid(x, evm.max_levels((37, 50)))
  # maxPyrHt([37 50]) = 3 (the next halving, [4 6], has a side below 5).
  assert [p.shape[1:3] for p in pyramid] == [(37, 50), (19, 25), (10, 13), (5, 7)]
  np.testing.assert_allclose(evm.reconstruct(pyramid), x, atol=1e-5)
  assert evm.max_levels((480, 640)) == 8 and evm.max_levels((1, 256)) == 7


def test_level_alphas_follow_wu_et_al():
  alphas = evm.level_alphas((480, 640), 8, 10.0, 16.0, 2.0)
  assert alphas[0] == 0.0 and alphas[-1] == 0.0            # finest band, residual
  delta = 16.0 / 8 / 11
  wavelength = 800 / 3 / 2 ** 6                              # level 1 of 8
  assert alphas[1] == pytest.approx(min(10.0, 2 * (wavelength / delta / 8 - 1)))
  assert alphas[2] == pytest.approx(2 * (2 * wavelength / delta / 8 - 1))   # 9.46
  assert alphas[3:7] == (10.0,) * 4


def test_cut_off_units():
  assert evm.band_coefficients(0.05, 0.4) == (0.4, 0.05)
  r1, r2 = evm.band_coefficients(1.0, 20.0, units="hz", fps=200.0)
  for r, f in ((r1, 0.1), (r2, 0.005)):   # cycles per frame: -3 dB exactly there
    z = np.exp(-2j * np.pi * f)
    assert abs(r / (1 - (1 - r) * z)) ** 2 == pytest.approx(0.5)
  assert evm.band_coefficients(0.01, 0.2, "normalized") == pytest.approx(
      evm.band_coefficients(1.0, 20.0, "hz", fps=200.0))
  assert evm.lowpass_coefficient(0.5) == pytest.approx(math.sqrt(8) - 2)
  with pytest.raises(ValueError):
    evm.band_coefficients(0.4, 0.05)
  with pytest.raises(ValueError):
    evm.band_coefficients(1.0, 20.0, units="hz")
