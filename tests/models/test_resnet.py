"""ResNet-18 and ResNet10_cvgj: layouts, parameter counts, Caffe pooling, options.

Numerical agreement with PyTorch references of both networks is checked in
tests/weights/test_resnet_import.py; here the structure is checked against
torchvision's key list and cvjena's deploy.prototxt.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mer_jax import models
from mer_jax.models import resnet


def variable_shapes(model, x):
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
  return jax.tree.map(lambda a: a.shape, variables)


def random_variables(model, x, seed=0):
  """Variables of `model` filled by numpy (He-scaled kernels, unit variances).

  Avoids `model.init`, whose first call compiles for ~15 s on the 4-device CPU backend.
  """
  rng = np.random.default_rng(seed)
  shapes = variable_shapes(model, x)

  def fill(path, shape):
    name = jax.tree_util.keystr(path)
    if "kernel" in name:
      return rng.normal(0, (2 / np.prod(shape[:-1])) ** 0.5, shape).astype(np.float32)
    return np.ones(shape, np.float32) if "scale" in name or "var" in name else (
        np.zeros(shape, np.float32))

  return jax.tree_util.tree_map_with_path(fill, shapes, is_leaf=lambda s: isinstance(s, tuple))


def count(shapes):
  leaves = jax.tree.leaves(shapes, is_leaf=lambda s: isinstance(s, tuple))
  return sum(int(np.prod(s)) for s in leaves)


def cvgj_prototxt_layers(classes=1000, channels=3):
  """{layer: params shapes} written from cvjena's deploy.prototxt (Caffe order, HWIO)."""
  layers = {"data_bn": [(channels,)] * 2, "conv1": [(7, 7, channels, 64), (64,)],
            "conv1_bn": [(64,)] * 2,
            "layer_64_1_conv1": [(3, 3, 64, 64)], "layer_64_1_bn2": [(64,)] * 2,
            "layer_64_1_conv2": [(3, 3, 64, 64)]}
  for c_in, c in ((64, 128), (128, 256), (256, 512)):
    layers.update({f"layer_{c}_1_bn1": [(c_in,)] * 2, f"layer_{c}_1_conv1": [(3, 3, c_in, c)],
                   f"layer_{c}_1_bn2": [(c,)] * 2, f"layer_{c}_1_conv2": [(3, 3, c, c)],
                   f"layer_{c}_1_conv_expand": [(1, 1, c_in, c)]})
  layers.update({"last_bn": [(512,)] * 2, "score": [(512, classes), (classes,)]})
  return layers


def test_resnet10_cvgj_matches_the_prototxt():
  shapes = variable_shapes(models.get("resnet10_cvgj", num_classes=1000),
                           jnp.zeros((1, 224, 224, 3)))
  want = cvgj_prototxt_layers()
  assert set(shapes["params"]) == set(want)
  for name, layer_shapes in want.items():
    assert sorted(shapes["params"][name].values()) == sorted(layer_shapes), name
  assert set(shapes["batch_stats"]) == {n for n in want if "bn" in n}
  assert shapes["batch_stats"]["layer_128_1_bn1"] == {"mean": (64,), "var": (64,)}
  assert count(shapes["params"]) == sum(int(np.prod(s)) for v in want.values() for s in v)


def test_resnet18_matches_torchvision_layout_and_parameter_count():
  shapes = variable_shapes(models.get("resnet18", num_classes=1000), jnp.zeros((1, 224, 224, 3)))
  params = shapes["params"]
  assert sorted(params) == sorted(["conv1", "bn1", "fc"] + [f"layer{s}_{b}" for s in range(1, 5)
                                                              for b in range(2)])
  assert params["conv1"] == {"kernel": (7, 7, 3, 64)}   # no bias
  assert set(params["layer1_0"]) == {"conv1", "bn1", "conv2", "bn2"}
  assert params["layer3_0"]["downsample_conv"] == {"kernel": (1, 1, 128, 256)}
  assert params["fc"]["kernel"] == (512, 1000)
  assert count(params) == 11_689_512   # torchvision resnet18 (weights + biases)
  assert shapes["batch_stats"]["layer4_0"]["downsample_bn"] == {"mean": (512,), "var": (512,)}


@pytest.mark.parametrize("name", ["resnet10_cvgj", "resnet18"])
def test_grey_input_and_feature_extractor(name):
  model = models.get(name)
  x = np.random.default_rng(1).uniform(size=(2, 40, 40, 1)).astype(np.float32)
  variables = random_variables(model, x)
  assert variables["params"]["conv1"]["kernel"].shape == (7, 7, 1, 64)
  assert "fc" not in variables["params"] and "score" not in variables["params"]
  out, aux = model.apply(variables, x)
  assert out.shape == (2, 512)
  np.testing.assert_array_equal(out, aux["features"])


@pytest.mark.parametrize("name", ["resnet10_cvgj", "resnet18"])
def test_training_updates_batch_stats_and_eval_uses_them(name):
  model = models.get(name, num_classes=3)
  x = (50 + 10 * np.random.default_rng(1).normal(size=(4, 32, 32, 3))).astype(np.float32)
  variables = random_variables(model, x)
  (logits, aux), updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  assert logits.shape == (4, 3) and aux["features"].shape == (4, 512)
  first_bn = "data_bn" if name == "resnet10_cvgj" else "bn1"
  old, new = variables["batch_stats"][first_bn], updates["batch_stats"][first_bn]
  assert not np.allclose(old["mean"], new["mean"])
  if name == "resnet10_cvgj":   # momentum 0.9: a tenth of the way to the input's mean
    np.testing.assert_allclose(new["mean"], 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-4)
  a, _ = model.apply(variables, x)
  b, _ = model.apply(variables, x)
  np.testing.assert_array_equal(a, b)


def test_bfloat16_activations_keep_float32_params():
  model = resnet.ResNet18(num_classes=3, dtype=jnp.bfloat16)
  x = jnp.ones((1, 32, 32, 3))
  variables = jax.eval_shape(model.init, jax.random.key(0), x)
  assert variables["params"]["conv1"]["kernel"].dtype == jnp.float32
  assert variables["batch_stats"]["bn1"]["mean"].dtype == jnp.float32
  assert model.apply(random_variables(model, x), x)[0].dtype == jnp.bfloat16


@pytest.mark.parametrize("size", [3, 4, 5, 6, 7, 8, 9, 16, 17, 112])
def test_caffe_max_pool_is_torch_ceil_mode(size):
  x = np.random.default_rng(size).normal(size=(2, size, size + 1, 3)).astype(np.float32)
  got = np.asarray(resnet.caffe_max_pool(jnp.asarray(x)))
  want = F.max_pool2d(torch.from_numpy(x).permute(0, 3, 1, 2), 3, 2, ceil_mode=True)
  want = want.permute(0, 2, 3, 1).numpy()
  assert got.shape == want.shape
  np.testing.assert_array_equal(got, want)


def test_caffe_pool_sizes_of_the_imagenet_input():
  # 224 -> conv1 112 -> pool 56 (Caffe: ceil((112 - 3) / 2) + 1 = 56).
  assert resnet.caffe_max_pool(jnp.zeros((1, 112, 112, 1))).shape == (1, 56, 56, 1)
  assert resnet.caffe_max_pool(jnp.zeros((1, 8, 7, 1))).shape == (1, 4, 3, 1)


def test_too_small_map_for_the_pool_is_a_clear_error():
  with pytest.raises(ValueError, match="at least 3 pixels"):
    resnet.caffe_max_pool(jnp.zeros((1, 2, 5, 1)))
