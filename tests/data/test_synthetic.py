"""Tests for mer_jax.data.synthetic: the generator and its CLI.

Checks that the expressions are subtle (~1 px at 64x64), sit where the action
units say, are learnable across subjects at difficulty 1 and not at 0 (so the
nuisances carry no label), and that the CLI writes a readable native layout
(the layout itself is tested in test_native.py).
"""

import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mer_jax.data import labels
from mer_jax.data.synthetic import native
from mer_jax.data import synthetic
from mer_jax.errors import ConfigError

QUIET = dict(jitter_px=0.0, flicker=0.0, noise_std=0.0)  # expression only
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _spec(**kw) -> synthetic.SyntheticSpec:
  base = dict(num_subjects=2, clips_per_subject=6, image_size=32)
  return synthetic.SyntheticSpec(**{**base, **kw})


def _grey(frame: np.ndarray) -> np.ndarray:
  return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _onset_apex(sample, video) -> tuple[np.ndarray, np.ndarray]:
  return video[0], video[sample.apex - sample.onset]


@pytest.fixture(scope="module")
def default_data() -> synthetic.SyntheticData:
  return synthetic.generate(synthetic.SyntheticSpec())  # 8 subjects x 12 clips


# ----------------------------------------------------------- determinism ---


def test_same_spec_same_data_and_other_seed_differs():
  a, b = synthetic.generate(_spec()), synthetic.generate(_spec())
  c = synthetic.generate(_spec(seed=1))
  assert a.samples == b.samples
  for x, y in zip(a.videos, b.videos):
    np.testing.assert_array_equal(x, y)
  assert any(x.shape != z.shape or not np.array_equal(x, z)
             for x, z in zip(a.videos, c.videos))


def test_nuisances_do_not_depend_on_the_label():
  # At difficulty 0 only nuisances remain; other emotions must not change them.
  a = synthetic.generate(_spec(difficulty=0.0, emotions=("happiness",)))
  b = synthetic.generate(_spec(difficulty=0.0, emotions=("surprise", "fear")))
  assert {s.emotion for s in a.samples} == {"happiness"}
  assert {s.emotion for s in b.samples} == {"surprise", "fear"}
  for x, y in zip(a.videos, b.videos):
    np.testing.assert_array_equal(x, y)


# ------------------------------------------------------ shapes and timing ---


def test_shapes_dtypes_and_timestamps(default_data):
  spec = synthetic.SyntheticSpec()
  lo, hi = spec.frame_range()
  assert (lo, hi) == (8, 40)
  assert len(default_data.samples) == 96 == len(default_data.videos)
  for s, video, flow in zip(default_data.samples, default_data.videos,
                            default_data.apex_flows):
    assert video.dtype == np.uint8 and video.shape == (s.num_frames, 64, 64, 3)
    assert flow.dtype == np.float32 and flow.shape == (64, 64, 2)
    assert lo <= s.num_frames <= hi and s.onset >= 40
    assert s.onset < s.apex < s.offset
    assert (s.dataset, s.apex_source, s.frame_paths) == ("synthetic", "synthetic", ())
    assert (s.action_units, s.objective_class) in synthetic.EMOTIONS[s.emotion][1]
    assert re.fullmatch(r"sub0[1-8]", s.subject) and re.fullmatch(r"EP\d\d_\d\d", s.clip)
  assert len({s.key for s in default_data.samples}) == 96
  lengths = [s.num_frames for s in default_data.samples]
  assert min(lengths) < 16 and max(lengths) > 32  # the whole range is used


def test_every_class_of_every_scheme_is_populated(default_data):
  for name in ("casme2_5", "three_class", "objective_5"):
    scheme = labels.get_scheme(name)
    _, y, _ = labels.apply_scheme(default_data.samples, scheme)
    counts = np.bincount(y, minlength=scheme.num_classes)
    assert counts.min() >= 8, (name, counts)
    assert counts.max() <= 0.5 * len(y), (name, counts)


def test_invalid_specs_raise_config_error():
  with pytest.raises(ConfigError, match="unknown emotions.*'anger'"):
    synthetic.generate(_spec(emotions=("anger",)))
  with pytest.raises(ConfigError, match="frames"):
    synthetic.generate(_spec(min_duration_s=0.3))


# --------------------------------------------------- subtlety and locality ---


def test_peak_displacement_is_about_one_pixel_and_scales():
  peaks, flows = {}, {}
  for difficulty in (1.0, 2.0):
    data = synthetic.generate(_spec(image_size=64, difficulty=difficulty, **QUIET))
    peaks[difficulty] = np.array([np.linalg.norm(f, axis=-1).max() for f in data.apex_flows])
    flows[difficulty] = np.array([_measured_motion(s, v, f) for s, v, f in zip(
        data.samples, data.videos, data.apex_flows)])
  assert np.all((peaks[1.0] > 0.7) & (peaks[1.0] < 1.3)), peaks[1.0]
  np.testing.assert_allclose(peaks[2.0], 2 * peaks[1.0], rtol=1e-4)
  # Independent check on the pixels: Farneback sees sub- to ~1-pixel motion.
  assert 0.4 < np.median(flows[1.0]) < 1.5, flows[1.0]
  assert np.median(flows[2.0] / flows[1.0]) > 1.4


def _measured_motion(sample, video, truth) -> float:
  """90th percentile of Farneback flow where the true displacement is large."""
  onset, apex = (_grey(f) for f in _onset_apex(sample, video))
  flow = cv2.calcOpticalFlowFarneback(onset, apex, None, 0.5, 3, 7, 5, 5, 1.1, 0)
  mag = np.linalg.norm(truth, axis=-1)
  return float(np.percentile(np.linalg.norm(flow, axis=-1)[mag > 0.5 * mag.max()], 90))


def test_apex_flow_is_the_warp_that_was_applied():
  data = synthetic.generate(_spec(image_size=64, **QUIET))
  err_warped = err_static = 0.0
  y, x = np.mgrid[0:64, 0:64].astype(np.float32)
  for s, video, f in zip(data.samples, data.videos, data.apex_flows):
    onset, apex = (v.astype(np.float32) for v in _onset_apex(s, video))
    warped = cv2.remap(onset, x - f[..., 0], y - f[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    err_warped += np.abs(warped - apex).mean()
    err_static += np.abs(onset - apex).mean()
  assert err_warped < 0.6 * err_static


def test_difficulty_zero_means_no_motion_at_all():
  data = synthetic.generate(_spec(difficulty=0.0, **QUIET))
  for s, video, f in zip(data.samples, data.videos, data.apex_flows):
    assert not f.any()
    onset, apex = _onset_apex(s, video)
    np.testing.assert_array_equal(onset, apex)
  moving = synthetic.generate(_spec(difficulty=1.0, **QUIET))
  assert all(not np.array_equal(*_onset_apex(s, v))
             for s, v in zip(moving.samples, moving.videos))


@pytest.mark.parametrize("emotion, aus, upper_min, upper_max", [
    ("happiness", "6+12", 0.0, 0.4),   # cheeks and mouth corners
    ("happiness", "12", 0.0, 0.1),
    ("surprise", "1+2", 0.9, 1.0),     # brows
    ("repression", "15", 0.0, 0.1),    # mouth corners down
])
def test_motion_is_where_the_action_units_are(emotion, aus, upper_min, upper_max):
  data = synthetic.generate(_spec(num_subjects=3, image_size=64, emotions=(emotion,),
                                  **QUIET))
  fractions = []
  for s, video in zip(data.samples, data.videos):
    if s.action_units == aus:
      onset, apex = (_grey(f).astype(np.float32) for f in _onset_apex(s, video))
      energy = (apex - onset) ** 2  # [H, W]
      fractions.append(energy[:32].sum() / energy.sum())
  assert fractions, f"no {aus} clip drawn"
  assert upper_min <= min(fractions) and max(fractions) <= upper_max, fractions


# ------------------------------------------------------------ learnability ---


def _flow_features(sample, video) -> np.ndarray:
  """Onset->apex Farneback flow minus its median (head motion), 8x8x2."""
  onset, apex = (_grey(f) for f in _onset_apex(sample, video))
  flow = cv2.calcOpticalFlowFarneback(onset, apex, None, 0.5, 2, 9, 3, 5, 1.1, 0)
  flow -= np.median(flow.reshape(-1, 2), axis=0)
  return cv2.resize(flow, (8, 8), interpolation=cv2.INTER_AREA).ravel()


def _loso_accuracy(data: synthetic.SyntheticData) -> float:
  """Leave-one-subject-out accuracy of logistic regression, 3-class scheme."""
  scheme = labels.get_scheme("three_class")
  kept, y, _ = labels.apply_scheme(data.samples, scheme)
  video_of = {s.key: v for s, v in zip(data.samples, data.videos)}
  x = np.stack([_flow_features(s, video_of[s.key]) for s in kept])
  subjects = np.array([s.subject for s in kept])
  correct = 0
  for subject in np.unique(subjects):
    test = subjects == subject
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    correct += (model.fit(x[~test], y[~test]).predict(x[test]) == y[test]).sum()
  return correct / len(y)


def test_learnable_across_subjects_only_when_there_is_an_expression():
  # Measured at seeds 0-4: difficulty 1 -> 0.90-0.99, difficulty 0 -> 0.29-0.45
  # (majority class 0.45), jitter, flicker and noise on.
  assert _loso_accuracy(synthetic.generate(synthetic.SyntheticSpec())) > 0.75
  assert _loso_accuracy(synthetic.generate(synthetic.SyntheticSpec(difficulty=0.0))) < 0.5


# --------------------------------------------------------------------- CLI ---


def test_cli_writes_native_layout_and_prints_summary(tmp_path):
  out = tmp_path / "synth"
  result = subprocess.run(
      [sys.executable, "-m", "mer_jax.data.synthetic", f"--out={out}", "--subjects=2",
       "--clips_per_subject=3", "--image_size=32", "--seed=3"],
      cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr
  assert "6 samples, 2 subjects" in result.stdout
  samples = native.load_native(str(out))
  assert len(samples) == 6 and os.path.isfile(samples[0].frame_paths[-1])
  bad = subprocess.run([sys.executable, "-m", "mer_jax.data.synthetic", f"--out={out}",
                        "--layout=mat"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, check=False)
  assert bad.returncode != 0 and "layout" in bad.stderr
