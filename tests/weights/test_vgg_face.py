"""VGG-Face importers against an independent PyTorch VGG-16 (Albanie's vgg_face_dag forward).

A narrow VGG-16 (widths 8/8/16/16/16, fc 32, 10 classes) on 64x64 input has a
2x2x16 pool5 map, so fc6's NCHW -> NHWC reorder changes the result. Its random
weights are written in each file layout (PyTorch state_dict, Keras h5 with
BGR conv1_1, MatConvNet .mat); the Flax VGG16 with the imported weights on RGB
input must give torch's logits on the same RGB input.
"""

import sys

import h5py
import jax
import numpy as np
import pytest
import scipy.io
import torch
import torch.nn.functional as F

from mer_jax import models, weights
from mer_jax.errors import ConfigError, DataError

STAGES = (("conv1_1", "conv1_2"), ("conv2_1", "conv2_2"), ("conv3_1", "conv3_2", "conv3_3"),
          ("conv4_1", "conv4_2", "conv4_3"), ("conv5_1", "conv5_2", "conv5_3"))
CONVS = [name for stage in STAGES for name in stage]
WIDTHS = (8, 8, 16, 16, 16)
FC, CLASSES, SIZE = 32, 10, 64
POOL5 = SIZE // 32   # 2x2 map of WIDTHS[-1] channels into fc6


class TorchVggFace(torch.nn.Module):
  """Albanie's `Vgg_face_dag` forward with the same parameter names, at any width."""

  def __init__(self, widths, fc, classes):
    super().__init__()
    channels = 3
    for stage, width in zip(STAGES, widths):
      for name in stage:
        setattr(self, name, torch.nn.Conv2d(channels, width, 3, stride=1, padding=1))
        channels = width
    self.fc6 = torch.nn.Linear(channels * POOL5 * POOL5, fc)
    self.fc7 = torch.nn.Linear(fc, fc)
    self.fc8 = torch.nn.Linear(fc, classes)

  def forward(self, x):
    for stage in STAGES:
      for name in stage:
        x = F.relu(getattr(self, name)(x))
      x = F.max_pool2d(x, kernel_size=2, stride=2)
    x = x.view(x.size(0), -1)                     # NCHW flatten
    x = F.relu(self.fc6(x))
    x = F.relu(self.fc7(x))
    return self.fc8(x)


@pytest.fixture(scope="module")
def reference():
  """(torch model with He-scaled random weights, RGB input minus the mean [N,3,H,W], logits)."""
  torch.manual_seed(0)
  model = TorchVggFace(WIDTHS, FC, CLASSES).eval()
  with torch.no_grad():
    for name, p in model.named_parameters():
      fan_in = p[0].numel() if name.endswith("weight") else 1
      p.normal_(0.0, (2.0 / fan_in) ** 0.5 if name.endswith("weight") else 0.1)
  rgb = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
  x = rgb - np.asarray(weights.VGG_FACE_MEAN_RGB, np.float32)
  with torch.no_grad():
    logits = model(nchw(x)).numpy()
  return model, x, logits


def nchw(x):
  """NHWC numpy -> contiguous NCHW tensor (a strided one would make torch pick channels-last)."""
  return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def state(model):
  return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def flax_logits(variables, x, num_classes=CLASSES):
  model = models.get("vgg16", num_classes=num_classes, widths=WIDTHS, fc_features=FC)
  return np.asarray(model.apply(variables, x, train=False)[0])


def assert_same_logits(got, want):
  scale = float(np.abs(want).max())
  assert scale > 1.0   # the reference is not degenerate
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


def assert_fits_model(variables):
  """The imported tree has exactly the Flax model's names and shapes."""
  model = models.get("vgg16", num_classes=CLASSES, widths=WIDTHS, fc_features=FC)
  # eval_shape: a real init of the 4-device CPU backend compiles for 15 s.
  init = jax.eval_shape(model.init, jax.random.key(0), np.zeros((1, SIZE, SIZE, 3), np.float32))
  shapes = lambda tree: {k: {n: tuple(a.shape) for n, a in v.items()} for k, v in tree.items()}
  assert shapes(variables["params"]) == shapes(init["params"])


def nhwc_fc6(w):
  """torch fc6 [out, C*H*W] (NCHW flatten) -> [H, W, C, out]."""
  return w.reshape(w.shape[0], WIDTHS[-1], POOL5, POOL5).transpose(2, 3, 1, 0)


# PyTorch vgg_face_dag.pth

@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_dag_matches_torch(reference, tmp_path, zip_format):
  model, x, want = reference
  path = tmp_path / "vgg_face_dag.pth"
  torch.save(model.state_dict(), path, _use_new_zipfile_serialization=zip_format)
  variables = weights.load("vgg_face_dag", path)
  assert_fits_model(variables)
  assert_same_logits(flax_logits(variables, x), want)


def test_dag_without_fc8_gives_fc7_features(reference, tmp_path):
  model, x, _ = reference
  sd = {k: v for k, v in model.state_dict().items() if not k.startswith("fc8")}
  torch.save(sd, tmp_path / "notop.pth")
  variables = weights.load("vgg_face_dag", tmp_path / "notop.pth")
  assert "fc8" not in variables["params"]
  t = nchw(x)
  with torch.no_grad():
    for stage in STAGES:
      for name in stage:
        t = F.relu(getattr(model, name)(t))
      t = F.max_pool2d(t, 2, 2)
    want = F.relu(model.fc7(F.relu(model.fc6(t.flatten(1))))).numpy()
  assert_same_logits(flax_logits(variables, x, num_classes=None), want)


def test_dag_naive_fc6_transpose_would_differ(reference, tmp_path):
  """Guards the test itself: with a 2x2 pool5 the fc6 reorder is not a no-op."""
  model, x, want = reference
  torch.save(model.state_dict(), tmp_path / "w.pth")
  variables = weights.load("vgg_face_dag", tmp_path / "w.pth")
  variables["params"]["fc6"]["kernel"] = state(model)["fc6.weight"].T
  assert not np.allclose(flax_logits(variables, x), want, rtol=1e-2, atol=1e-3)


# Keras rcmalli_vggface_tf_vgg16.h5

def write_keras_h5(path, sd, full_model, with_top=True):
  """keras-vggface layout: HWIO kernels, conv1_1 over BGR, fc6 over an NHWC flatten."""
  layers = {}
  for name in CONVS:
    layers[name] = (sd[f"{name}.weight"].transpose(2, 3, 1, 0), sd[f"{name}.bias"])
  layers["conv1_1"] = (layers["conv1_1"][0][:, :, ::-1, :], layers["conv1_1"][1])   # RGB -> BGR
  fc6 = nhwc_fc6(sd["fc6.weight"])
  layers["fc6"] = (fc6.reshape(-1, fc6.shape[-1]), sd["fc6.bias"])
  for name in ("fc7", "fc8"):
    layers[name] = (sd[f"{name}.weight"].T, sd[f"{name}.bias"])
  if not with_top:
    layers = {k: v for k, v in layers.items() if k.startswith("conv")}
  with h5py.File(path, "w") as f:
    root = f.create_group("model_weights") if full_model else f
    names = list(layers) + ["pool1", "flatten", "fc8/softmax"] if with_top else list(layers)
    root.attrs["layer_names"] = [n.encode() for n in names]
    for name in ("pool1", "flatten") if with_top else ():
      root.create_group(name).attrs["weight_names"] = []
    for name, (kernel, bias) in layers.items():
      group = root.create_group(name)
      group.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
      group.create_dataset(f"{name}/kernel:0", data=np.ascontiguousarray(kernel))
      group.create_dataset(f"{name}/bias:0", data=bias)


@pytest.mark.parametrize("full_model", [True, False], ids=["full_model", "weights_only"])
def test_keras_matches_torch_on_rgb(reference, tmp_path, full_model):
  model, x, want = reference
  path = tmp_path / "rcmalli_vggface_tf_vgg16.h5"
  write_keras_h5(path, state(model), full_model)
  variables = weights.load("keras_vggface", path)
  assert_fits_model(variables)
  assert_same_logits(flax_logits(variables, x), want)
  # The file's own convention (BGR input) would not: the flip is applied.
  assert not np.allclose(flax_logits(variables, x[..., ::-1]), want, rtol=1e-2, atol=1e-3)


def test_keras_notop_file_is_refused_with_a_hint(reference, tmp_path):
  model, _, _ = reference
  path = tmp_path / "rcmalli_vggface_tf_notop_vgg16.h5"
  write_keras_h5(path, state(model), full_model=True, with_top=False)
  with pytest.raises(DataError, match="'fc6' is missing.*notop") as e:
    weights.load("keras_vggface", path)
  assert str(path) in str(e.value) and "model_weights/fc6/fc6/kernel:0" in str(e.value)


# MatConvNet vgg-face.mat

def cell(*items):
  out = np.empty((1, len(items)), dtype=object)
  for i, item in enumerate(items):
    out[0, i] = item
  return out


def mat_layers(sd, old_fields):
  """SimpleNN `layers`: conv (weights {W, b}), relu, pool, ..., fc as conv, softmax."""
  def conv(name, w, b):
    if old_fields:
      return {"name": name, "type": "conv", "filters": w, "biases": b}
    return {"name": name, "type": "conv", "weights": cell(w, b), "stride": [1, 1], "pad": 1}

  layers, biases = [], (lambda b: b.reshape(-1, 1), lambda b: b.reshape(1, -1), lambda b: b)
  for s, stage in enumerate(STAGES):
    for name in stage:
      shape_bias = biases[len(layers) % 3]   # [out, 1], [1, out] and [out] all occur
      layers.append(conv(name, sd[f"{name}.weight"].transpose(2, 3, 1, 0),
                         shape_bias(sd[f"{name}.bias"])))
      layers.append({"name": "relu" + name[4:], "type": "relu"})
    layers.append({"name": f"pool{s + 1}", "type": "pool", "method": "max", "pool": [2, 2],
                   "stride": [2, 2]})
  layers.append(conv("fc6", nhwc_fc6(sd["fc6.weight"]), sd["fc6.bias"].reshape(1, -1)))
  layers.append({"name": "relu6", "type": "relu"})
  layers.append(conv("fc7", sd["fc7.weight"].T[None, None], sd["fc7.bias"].reshape(1, -1)))
  layers.append({"name": "relu7", "type": "relu"})
  layers.append(conv("fc8", sd["fc8.weight"].T[None, None], sd["fc8.bias"].reshape(1, -1)))
  layers.append({"name": "prob", "type": "softmax"})
  return cell(*layers)


@pytest.mark.parametrize("layout", ["top_level", "in_net", "filters_biases"])
def test_mat_matches_torch(reference, tmp_path, layout):
  model, x, want = reference
  meta = {"normalization": {
      "averageImage": np.asarray(weights.VGG_FACE_MEAN_RGB).reshape(1, 1, 3),
      "imageSize": np.asarray([SIZE, SIZE, 3.0])},
      "classes": {"description": cell(*[f"id{i}" for i in range(CLASSES)])}}
  net = {"layers": mat_layers(state(model), layout == "filters_biases"), "meta": meta}
  path = tmp_path / "vgg-face.mat"
  scipy.io.savemat(path, {"net": net} if layout == "in_net" else net)
  variables = weights.load("vgg_face_mat", path)
  assert_fits_model(variables)
  assert_same_logits(flax_logits(variables, x), want)


def test_mat_missing_layer_names_it(reference, tmp_path):
  model, _, _ = reference
  layers = [layer for layer in mat_layers(state(model), False).flat if layer["name"] != "fc7"]
  scipy.io.savemat(tmp_path / "vgg-face.mat", {"layers": cell(*layers)})
  with pytest.raises(DataError, match="layer 'fc7' is missing.*'fc6'"):
    weights.load("vgg_face_mat", tmp_path / "vgg-face.mat")


# Errors

@pytest.mark.parametrize("kind", sorted(weights.KINDS))
def test_missing_file_says_where_to_get_vgg_face(tmp_path, kind):
  path = tmp_path / "nowhere" / "weights.bin"
  with pytest.raises(DataError) as e:
    weights.load(kind, path)
  message = str(e.value)
  assert str(path) in message and "does not exist" in message
  for text in ("vgg-face.mat", "vgg_face_dag.pth", "rcmalli_vggface_tf_vgg16.h5",
               "robots.ox.ac.uk/~vgg/software/vgg_face", "pytorch-mcn", "keras-vggface",
               *weights.KINDS):
    assert text in message


def test_unknown_kind_lists_the_kinds(tmp_path):
  with pytest.raises(ConfigError) as e:
    weights.load("vgg_face_caffe", tmp_path / "x")
  assert "'vgg_face_caffe'" in str(e.value)
  for kind in weights.KINDS:
    assert repr(kind) in str(e.value)


def test_missing_key_is_named(reference, tmp_path):
  model, _, _ = reference
  sd = {k: v for k, v in model.state_dict().items() if k != "conv3_2.weight"}
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError, match=r"w\.pth: key 'conv3_2\.weight' is missing"):
    weights.load("vgg_face_dag", tmp_path / "w.pth")


def test_wrong_shape_names_key_and_shapes(reference, tmp_path):
  model, _, _ = reference
  sd = dict(model.state_dict())
  sd["conv3_2.weight"] = torch.zeros(16, 7, 3, 3)   # conv3_1 has 16 outputs, not 7
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError) as e:
    weights.load("vgg_face_dag", tmp_path / "w.pth")
  assert "w.pth: conv3_2.weight has shape [16, 7, 3, 3]; expected [out, 16, 3, 3]" in str(e.value)


def test_fc6_that_is_not_a_square_map_is_refused(reference, tmp_path):
  model, _, _ = reference
  sd = dict(model.state_dict())
  sd["fc6.weight"] = torch.zeros(FC, 16 * 6)
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError, match="fc6.weight has 96 inputs.*16 channels times a square"):
    weights.load("vgg_face_dag", tmp_path / "w.pth")


def test_wrong_format_for_kind_is_a_data_error(reference, tmp_path):
  model, _, _ = reference
  write_keras_h5(tmp_path / "w.h5", state(model), full_model=True)
  with pytest.raises(DataError, match=r"w\.h5: torch\.load.*expected a PyTorch state_dict"):
    weights.load("vgg_face_dag", tmp_path / "w.h5")
  with pytest.raises(DataError, match=r"w\.h5: scipy\.io\.loadmat cannot read it"):
    weights.load("vgg_face_mat", tmp_path / "w.h5")


def test_pth_without_torch_says_what_to_do(reference, tmp_path, monkeypatch):
  model, _, _ = reference
  torch.save(model.state_dict(), tmp_path / "w.pth")
  monkeypatch.setitem(sys.modules, "torch", None)   # `import torch` now fails
  with pytest.raises(ConfigError) as e:
    weights.load("vgg_face_dag", tmp_path / "w.pth")
  assert "pip install torch" in str(e.value)
  assert "keras_vggface" in str(e.value) and "vgg_face_mat" in str(e.value)
