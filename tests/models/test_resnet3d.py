"""R3D18 (torchvision's r3d_18): layout, parameter count, strides, options.

Shapes come from `jax.eval_shape` (nothing is initialised); numerical
agreement with a PyTorch r3d_18 is checked in tests/weights/test_resnet3d_import.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.models.resnet3d import R3D18

KINETICS_CLIP = jnp.zeros((1, 16, 112, 112, 3))   # [B, T, H, W, C]


def abstract_variables(model, x):
  return jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))


def variable_shapes(model, x):
  return jax.tree.map(lambda a: a.shape, abstract_variables(model, x))


def count(shapes):
  leaves = jax.tree.leaves(shapes, is_leaf=lambda s: isinstance(s, tuple))
  return sum(int(np.prod(s)) for s in leaves)


def random_variables(model, x, seed=0):
  """Variables filled by numpy (He-scaled kernels, unit variances), without `model.init`."""
  rng = np.random.default_rng(seed)

  def fill(path, shape):
    name = jax.tree_util.keystr(path)
    if "kernel" in name:
      return rng.normal(0, (2 / np.prod(shape[:-1])) ** 0.5, shape).astype(np.float32)
    return np.ones(shape, np.float32) if "scale" in name or "var" in name else (
        np.zeros(shape, np.float32))

  return jax.tree_util.tree_map_with_path(fill, variable_shapes(model, x),
                                          is_leaf=lambda s: isinstance(s, tuple))


def torchvision_layers(classes=400):
  """{Flax layer path: params shapes} from torchvision's r3d_18 key list (kernels THWIO)."""
  layers = {("stem_conv",): [(3, 7, 7, 3, 64)], ("stem_bn",): [(64,)] * 2}
  c_in = 64
  for stage, c in enumerate((64, 128, 256, 512), start=1):
    for block in (0, 1):
      name = f"layer{stage}_{block}"
      layers.update({(name, "conv1"): [(3, 3, 3, c_in, c)], (name, "bn1"): [(c,)] * 2,
                     (name, "conv2"): [(3, 3, 3, c, c)], (name, "bn2"): [(c,)] * 2})
      if c_in != c:
        layers.update({(name, "downsample_conv"): [(1, 1, 1, c_in, c)],
                       (name, "downsample_bn"): [(c,)] * 2})
      c_in = c
  layers[("fc",)] = [(512, classes), (classes,)]
  return layers


def test_r3d18_matches_torchvision_layout_and_parameter_count():
  shapes = variable_shapes(R3D18(num_classes=400), KINETICS_CLIP)
  params = shapes["params"]
  want = torchvision_layers()
  got = {path: params[path[0]] if len(path) == 1 else params[path[0]][path[1]] for path in want}
  for path, layer_shapes in want.items():
    assert sorted(got[path].values()) == sorted(layer_shapes), path
  assert sorted(params) == sorted(["stem_conv", "stem_bn", "fc"] + [
      f"layer{s}_{b}" for s in range(1, 5) for b in range(2)])
  assert set(params["layer1_0"]) == {"conv1", "bn1", "conv2", "bn2"}       # no shortcut conv
  assert set(params["layer2_1"]) == {"conv1", "bn1", "conv2", "bn2"}
  assert params["stem_conv"] == {"kernel": (3, 7, 7, 3, 64)}                 # no bias
  assert count(params) == 33_371_472   # torchvision r3d_18, Kinetics-400 (datasets.md 9.2)
  assert shapes["batch_stats"]["layer4_0"]["downsample_bn"] == {"mean": (512,), "var": (512,)}


def test_time_and_space_halve_at_layers_2_to_4():
  model = R3D18(return_maps=True)
  variables = abstract_variables(model, KINETICS_CLIP)
  _, state = jax.eval_shape(
      lambda v, x: model.apply(v, x, capture_intermediates=True, mutable=["intermediates"]),
      variables, KINETICS_CLIP)
  out = lambda name: state["intermediates"][name]["__call__"][0].shape
  assert out("stem_conv") == (1, 16, 56, 56, 64)    # stride (1, 2, 2), no max pool
  assert out("layer1_1") == (1, 16, 56, 56, 64)
  assert out("layer2_0") == (1, 8, 28, 28, 128)
  assert out("layer3_0") == (1, 4, 14, 14, 256)
  assert out("layer4_1") == (1, 2, 7, 7, 512)


def test_return_maps_gives_layer4_maps_without_fc():
  x = jnp.zeros((2, 8, 40, 24, 3))
  model = R3D18(return_maps=True)
  assert "fc" not in variable_shapes(model, x)["params"]
  maps, aux = jax.eval_shape(lambda v: model.apply(v, x), abstract_variables(model, x))
  assert maps.shape == aux["maps"].shape == (2, 1, 3, 2, 512)   # ceil(T/8), ceil(H/16), ...
  assert aux["features"].shape == (2, 512)
  with pytest.raises(ConfigError, match="return_maps=True .* leave num_classes unset"):
    variable_shapes(R3D18(num_classes=5, return_maps=True), x)


def test_feature_extractor_and_training_updates_batch_stats():
  model = R3D18()
  x = (3 + np.random.default_rng(1).normal(size=(2, 4, 16, 16, 3))).astype(np.float32)
  variables = random_variables(model, x)
  assert "fc" not in variables["params"]
  out, aux = model.apply(variables, x)
  assert out.shape == (2, 512)
  np.testing.assert_array_equal(out, aux["features"])
  np.testing.assert_allclose(out, np.asarray(aux["maps"]).mean(axis=(1, 2, 3)), rtol=1e-5)
  _, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  new = updates["batch_stats"]["stem_bn"]["mean"]
  assert not np.allclose(variables["batch_stats"]["stem_bn"]["mean"], new)


def test_bfloat16_activations_keep_float32_params():
  model = R3D18(num_classes=3, dtype=jnp.bfloat16)
  x = jnp.ones((1, 4, 16, 16, 3))
  variables = jax.eval_shape(model.init, jax.random.key(0), x)
  assert variables["params"]["stem_conv"]["kernel"].dtype == jnp.float32
  assert variables["batch_stats"]["stem_bn"]["mean"].dtype == jnp.float32
  logits, aux = jax.eval_shape(model.apply, variables, x)
  assert logits.dtype == jnp.bfloat16 and aux["features"].dtype == jnp.float32


def test_images_instead_of_clips_are_a_clear_error():
  with pytest.raises(ValueError, match=r"clips \[B, T, H, W, C\], got shape \(1, 32, 32, 3\)"):
    variable_shapes(R3D18(), jnp.zeros((1, 32, 32, 3)))
