"""VGG-16: the VGG-Face layout (names, shapes, parameter count) and its options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax import models
from mer_jax.models import vgg

NARROW = dict(widths=(4, 4, 8, 8, 8), fc_features=16)


def param_shapes(model, x):
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
  return jax.tree.map(lambda a: a.shape, variables["params"])


def count(shapes):
  leaves = jax.tree.leaves(shapes, is_leaf=lambda s: isinstance(s, tuple))
  return sum(int(np.prod(s)) for s in leaves)


def test_full_size_vgg_face_layout_and_parameter_count():
  shapes = param_shapes(models.get("vgg16", num_classes=2622), jnp.zeros((1, 224, 224, 3)))
  assert list(shapes) == vgg.conv_names() + ["fc6", "fc7", "fc8"]
  assert shapes["conv1_1"]["kernel"] == (3, 3, 3, 64)
  assert shapes["conv5_3"]["kernel"] == (3, 3, 512, 512)
  assert shapes["fc6"]["kernel"] == (7 * 7 * 512, 4096)
  assert shapes["fc8"]["kernel"] == (4096, 2622)
  assert count(shapes) == 145_002_878  # VGG-Face (Parkhi et al. 2015)


def test_input_channels_follow_the_input_and_fc8_is_optional():
  shapes = param_shapes(vgg.VGG16(), jnp.zeros((1, 224, 224, 5)))
  assert shapes["conv1_1"]["kernel"] == (3, 3, 5, 64) and "fc8" not in shapes


def test_feature_extractor_returns_fc7_and_fc6():
  model = vgg.VGG16(**NARROW)
  x = jax.random.normal(jax.random.key(1), (2, 64, 64, 5))
  variables = model.init(jax.random.key(0), x)
  out, aux = model.apply(variables, x)
  assert out.shape == (2, 16) and aux["fc6"].shape == (2, 16)
  np.testing.assert_array_equal(out, aux["fc7"])


def test_dropout_only_when_training():
  model = vgg.VGG16(num_classes=3, **NARROW)
  x = jax.random.normal(jax.random.key(1), (2, 32, 32, 3))
  variables = model.init(jax.random.key(0), x)
  a, _ = model.apply(variables, x, train=False)
  b, _ = model.apply(variables, x, train=False)
  c, _ = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(2)})
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)


def test_bfloat16_activations_keep_float32_params():
  model = vgg.VGG16(num_classes=3, dtype=jnp.bfloat16, **NARROW)
  x = jnp.ones((1, 32, 32, 3))
  variables = model.init(jax.random.key(0), x)
  assert variables["params"]["conv1_1"]["kernel"].dtype == jnp.float32
  assert model.apply(variables, x)[0].dtype == jnp.bfloat16


def test_too_small_input_is_a_clear_error():
  with pytest.raises(ValueError, match="smaller than 32x32"):
    vgg.VGG16(**NARROW).init(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))
