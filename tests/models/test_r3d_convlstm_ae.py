"""R3D-18 + ConvLSTM auto-encoder: the paper's parameter count, a tiny forward, input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.models import r3d_convlstm_ae

PAPER_INPUT = (2, 12, 64, 64, 3)
BACKBONE_PARAMETERS = 33_166_272   # r3d_18 without fc


def count(tree):
  return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


def test_paper_size_parameter_count_is_about_37_6_million():
  model = r3d_convlstm_ae.R3dConvLstmAE()
  x = jax.ShapeDtypeStruct(PAPER_INPUT, jnp.float32)
  variables = jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)
  params = variables["params"]
  assert sorted(params) == ["autoencoder", "backbone", "class_conv"]
  assert count(params["backbone"]) == BACKBONE_PARAMETERS
  assert params["autoencoder"]["encoder_1"]["peephole_i"].shape == (4, 4, 101)
  assert params["class_conv"]["kernel"].shape == (1, 3, 3, 101, 3)
  total = count(params)
  assert total == r3d_convlstm_ae.PAPER_PARAMETERS == 37_622_294
  assert abs(total - 37.6e6) / 37.6e6 < 0.02
  logits, aux = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), variables, x)
  assert logits.shape == (2, 3) and logits.dtype == jnp.float32
  assert aux["class_maps"].shape == (2, 2, 4, 4, 3) and aux["features"].shape == (2, 101)


def test_tiny_clip_gives_finite_logits_with_a_narrow_backbone():
  model = r3d_convlstm_ae.R3dConvLstmAE(hidden=(6, 6, 6, 6), backbone_widths=(8, 16, 32, 64))
  rng = np.random.default_rng(0)
  x = rng.standard_normal((1, 8, 32, 32, 3)).astype(np.float32)
  # Random variables made on the host: XLA:CPU takes ~40 s to compile the init's random
  # normal draws of 40 convolution kernels, and the forward pass is what this test is about.
  shapes = jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)
  backbone = shapes["params"]["backbone"]
  assert backbone["stem_conv"]["kernel"].shape == (3, 7, 7, 3, 8)
  assert backbone["layer4_1"]["conv2"]["kernel"].shape == (3, 3, 3, 64, 64)
  variables = jax.tree.map(lambda s: rng.normal(0, 0.1, s.shape).astype(s.dtype), shapes)
  variables["batch_stats"] = jax.tree.map(np.abs, variables["batch_stats"])  # variances > 0

  logits, aux = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, x)
  assert logits.shape == (1, 3) and np.all(np.isfinite(logits)) and np.any(logits != 0)
  assert aux["class_maps"].shape == (1, 1, 2, 2, 3)
  np.testing.assert_allclose(logits, aux["class_maps"].mean(axis=(1, 2, 3)), rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize("shape, message", [
    ((1, 12, 64, 64), "RGB clips"),
    ((1, 12, 64, 64, 1), "RGB clips"),
    ((1, 12, 8, 64, 3), "too small"),
    ((1, 0, 64, 64, 3), "too small"),
])
def test_bad_input_is_a_config_error(shape, message):
  model = r3d_convlstm_ae.R3dConvLstmAE()
  x = jax.ShapeDtypeStruct(shape, jnp.float32)
  with pytest.raises(ConfigError, match=message):
    jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)
