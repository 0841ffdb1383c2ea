"""Tests for mer_jax.preprocess.strain: ELRCN optical strain (eq. 2-4)."""

import jax
import jax.numpy as jnp
import numpy as np

from mer_jax.preprocess import strain


def _field(u_fn, v_fn, h=12, w=15):
  """Flow [h, w, 2] with x = column, y = row."""
  y, x = np.mgrid[0:h, 0:w].astype(np.float64)
  return np.stack([u_fn(x, y), v_fn(x, y)], axis=-1), x, y


def test_quadratic_field_matches_analytic_derivatives():
  a, b, c = 0.03, -0.2, 0.05
  f, x, y = _field(lambda x, y: a * x**2 + b * y, lambda x, y: c * x * y)
  e_xx, e_yy, e_xy = 2 * a * x, c * x, 0.5 * (b + c * y)
  expected = np.sqrt(e_xx**2 + e_yy**2 + 2 * e_xy**2)  # e_yx = e_xy counted twice
  inner = (slice(1, -1), slice(1, -1))  # central differences are exact here
  got = strain.magnitude(f)
  assert got.shape == (12, 15)
  np.testing.assert_allclose(got[inner], expected[inner], rtol=1e-12, atol=1e-12)
  for comp, want in zip(strain.components(f), (e_xx, e_yy, e_xy), strict=True):
    np.testing.assert_allclose(comp[inner], want[inner], atol=1e-12)


def test_boundary_uses_one_sided_differences_like_np_gradient():
  f, _, _ = _field(lambda x, y: 0.1 * x**2, lambda x, y: 0 * x)
  np.testing.assert_allclose(strain.components(f)[0],
                             np.gradient(f[..., 0], axis=1), atol=1e-12)


def test_translation_has_zero_strain():
  f, _, _ = _field(lambda x, y: 0 * x + 0.7, lambda x, y: 0 * x - 1.3)
  np.testing.assert_array_equal(strain.magnitude(f), 0.0)


def test_rotation_has_zero_normal_strain():
  w = 0.02  # small rotation: u = -w y, v = w x (antisymmetric gradient)
  f, _, _ = _field(lambda x, y: -w * (y - 5), lambda x, y: w * (x - 7))
  e_xx, e_yy, e_xy = strain.components(f)
  np.testing.assert_allclose(e_xx, 0.0, atol=1e-15)
  np.testing.assert_allclose(e_yy, 0.0, atol=1e-15)
  np.testing.assert_allclose(e_xy, 0.0, atol=1e-15)  # and no shear: rigid
  np.testing.assert_allclose(strain.magnitude(f), 0.0, atol=1e-15)


def test_uniform_stretch_and_shear():
  f, _, _ = _field(lambda x, y: 0.1 * x + 0.04 * y, lambda x, y: 0.02 * x - 0.05 * y)
  want = np.sqrt(0.1**2 + 0.05**2 + 2 * 0.03**2)
  np.testing.assert_allclose(strain.magnitude(f), want, rtol=1e-12)


def test_numpy_jax_jit_and_batch_agree():
  f = np.random.default_rng(0).normal(size=(3, 9, 10, 2)).astype(np.float32)
  ref = strain.magnitude(f)
  assert isinstance(ref, np.ndarray) and ref.shape == (3, 9, 10)
  out = strain.magnitude(jnp.asarray(f))
  assert isinstance(out, jax.Array)
  np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(jax.jit(strain.magnitude)(f)), ref,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(ref[1], strain.magnitude(f[1]), rtol=1e-6)
