"""TIM against the path-graph eigen-decomposition and a port of Zhou's MATLAB code."""

import numpy as np
import pytest

from mer_jax.preprocess import tim


def zhou_matlab(frames: np.ndarray, length: int) -> np.ndarray:
  """Line-by-line port of tim_getAniModel + tim_genAnimationData(m, 0, 1, length)."""
  n = frames.shape[0]
  x = frames.reshape(n, -1).T.astype(np.float64)               # [D, N]
  mu = x.mean(axis=1, keepdims=True)
  u, s, vt = np.linalg.svd(x - mu, full_matrices=False)
  u, s, v = u[:, :n - 1], np.diag(s[:n - 1]), vt.T[:, :n - 1]
  y = s @ v.T                                                  # [N-1, N]
  lap = tim.path_laplacian(n)
  e, t = np.linalg.eig(np.linalg.solve(y @ y.T, y @ lap @ y.T))
  t = t[:, np.argsort(e.real)].real
  j = np.arange(1, n)
  m = (y[:, 0] @ t) / np.sin(j * np.pi / n + np.pi * (n - j) / (2 * n))
  out = []
  for pos in np.linspace(1 / n, 1, length):
    vec = np.sin(pos * j * np.pi + np.pi * (n - j) / (2 * n))
    out.append(u @ np.linalg.solve(t.T, vec * m) + mu[:, 0])
  return np.stack(out).reshape((length,) + frames.shape[1:])


@pytest.mark.parametrize("num_frames", [2, 3, 7, 16])
def test_embedding_is_the_path_laplacian_eigenbasis(num_frames):
  lap = tim.path_laplacian(num_frames)
  values, vectors = np.linalg.eigh(lap)
  emb = tim.embedding(np.arange(1, num_frames + 1) / num_frames, num_frames)
  k = np.arange(1, num_frames)
  np.testing.assert_allclose(values[1:], 2 - 2 * np.cos(np.pi * k / num_frames), atol=1e-12)
  np.testing.assert_allclose(lap @ emb, emb * values[1:], atol=1e-12)
  # Same eigenvectors as the numerical decomposition, up to sign and scale.
  unit = emb / np.linalg.norm(emb, axis=0)
  np.testing.assert_allclose(np.abs(np.sum(unit * vectors[:, 1:], axis=0)), 1, atol=1e-9)
  # With 0-based t, Zhou's sine is cos(pi k (t + 0.5) / T).
  t = np.arange(num_frames)[:, None]
  np.testing.assert_allclose(emb, np.cos(np.pi * k * (t + 0.5) / num_frames), atol=1e-12)


@pytest.mark.parametrize("num_frames", [2, 3, 5, 9])
def test_same_length_returns_the_frames(num_frames):
  frames = np.random.default_rng(num_frames).uniform(size=(num_frames, 4, 5, 3))
  np.testing.assert_allclose(tim.interpolate(frames, num_frames), frames, atol=1e-10)


@pytest.mark.parametrize("length", [1, 4, 10, 23])
def test_matches_zhou_matlab_code(length):
  frames = np.random.default_rng(length).uniform(0, 255, size=(8, 6, 5, 1))
  got = tim.interpolate(frames, length)
  np.testing.assert_allclose(got, zhou_matlab(frames, length), rtol=1e-7, atol=1e-7)
  np.testing.assert_allclose(got[0], frames[0], atol=1e-9)
  if length > 1:
    np.testing.assert_allclose(got[-1], frames[-1], atol=1e-9)


def test_in_between_frames_follow_the_smooth_curve():
  # Pixels that are path-graph eigenvectors continue as cosines in between.
  t_in, length = 6, 31
  k = np.array([1.0, 2.0, 3.0])
  t = np.arange(t_in)[:, None]
  frames = 0.5 + 0.1 * np.cos(np.pi * k * (t + 0.5) / t_in)     # [T, 3]
  t_out = np.linspace(0, t_in - 1, length)[:, None]
  want = 0.5 + 0.1 * np.cos(np.pi * k * (t_out + 0.5) / t_in)
  np.testing.assert_allclose(tim.interpolate(frames, length), want, atol=1e-12)


def test_degenerate_and_single_frame_clips():
  still = np.full((5, 3, 3, 1), 7.0, np.float32)
  out = tim.interpolate(still, 12)
  assert out.shape == (12, 3, 3, 1) and out.dtype == np.float32
  np.testing.assert_allclose(out, 7.0, atol=1e-5)
  repeated = np.repeat(np.random.default_rng(0).uniform(size=(2, 4)), 3, axis=0)
  assert np.all(np.isfinite(tim.interpolate(repeated, 9)))   # rank-deficient frames
  one = np.ones((1, 2, 2, 3), np.uint8)
  np.testing.assert_array_equal(tim.interpolate(one, 4), np.ones((4, 2, 2, 3)))
  with pytest.raises(ValueError):
    tim.interpolate(one[:0], 4)
  with pytest.raises(ValueError):
    tim.interpolate(one, 0)
