"""ResNet importers against independent PyTorch implementations of both networks.

- torchvision ResNet-18: a torch module with torchvision's parameter names
  (torchvision itself is not a dependency), random weights and non-trivial
  batch norm statistics, saved as a state_dict; the imported Flax ResNet18
  must give torch's logits in eval mode.
- cvjena ResNet10_cvgj: a torch module that follows deploy.prototxt blob by
  blob (pre-activation blocks, conv_expand on the pre-activated input, Caffe's
  ceil-mode max pool), exported as Caffe would store it (BatchNorm blobs
  multiplied by a scale factor, separate Scale layers, BGR input order); the
  imported Flax ResNet10Cvgj on RGB input must give torch's output on BGR.
"""

import jax
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mer_jax import models, weights
from mer_jax.errors import ConfigError, DataError
from mer_jax.weights import caffe
from mer_jax.weights import resnet as resnet_weights

CLASSES, SIZE = 10, 64
WIDTHS = (64, 128, 256, 512)


# torchvision ResNet-18 (same module and parameter names as torchvision.models.resnet18)

class BasicBlock(nn.Module):
  def __init__(self, c_in, c, stride):
    super().__init__()
    self.conv1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(c)
    self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(c)
    self.downsample = None
    if stride != 1 or c_in != c:
      self.downsample = nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False),
                                      nn.BatchNorm2d(c))

  def forward(self, x):
    out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
    return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet18(nn.Module):
  def __init__(self, classes):
    super().__init__()
    self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
    self.bn1 = nn.BatchNorm2d(64)
    self.maxpool = nn.MaxPool2d(3, 2, 1)
    c_in = 64
    for i, c in enumerate(WIDTHS):
      stride = 1 if i == 0 else 2
      setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(c_in, c, stride),
                                                   BasicBlock(c, c, 1)))
      c_in = c
    self.fc = nn.Linear(512, classes)

  def features(self, x):
    x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
    for i in range(4):
      x = getattr(self, f"layer{i + 1}")(x)
    return x.mean(dim=(2, 3))

  def forward(self, x):
    return self.fc(self.features(x))


# cvjena ResNet10_cvgj, following deploy.prototxt

class TorchCvgj(nn.Module):
  def __init__(self, classes, channels=3):
    super().__init__()
    self.data_bn = nn.BatchNorm2d(channels)                      # BatchNorm + Scale
    self.conv1 = nn.Conv2d(channels, 64, 7, 2, 3)                 # with bias
    self.conv1_bn = nn.BatchNorm2d(64)
    self.layer_64_1_conv1 = nn.Conv2d(64, 64, 3, 1, 1, bias=False)
    self.layer_64_1_bn2 = nn.BatchNorm2d(64)
    self.layer_64_1_conv2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False)
    for c_in, c in zip(WIDTHS, WIDTHS[1:]):
      setattr(self, f"layer_{c}_1_bn1", nn.BatchNorm2d(c_in))
      setattr(self, f"layer_{c}_1_conv1", nn.Conv2d(c_in, c, 3, 2, 1, bias=False))
      setattr(self, f"layer_{c}_1_bn2", nn.BatchNorm2d(c))
      setattr(self, f"layer_{c}_1_conv2", nn.Conv2d(c, c, 3, 1, 1, bias=False))
      setattr(self, f"layer_{c}_1_conv_expand", nn.Conv2d(c_in, c, 1, 2, 0, bias=False))
    self.last_bn = nn.BatchNorm2d(512)
    self.score = nn.Linear(512, classes)

  def features(self, x):
    x = F.relu(self.conv1_bn(self.conv1(self.data_bn(x))))
    pool = F.max_pool2d(x, 3, 2, ceil_mode=True)                  # conv1_pool
    y = F.relu(self.layer_64_1_bn2(self.layer_64_1_conv1(pool)))
    x = self.layer_64_1_conv2(y) + pool                           # layer_64_1_sum
    for c in WIDTHS[1:]:
      layer = lambda part: getattr(self, f"layer_{c}_1_{part}")   # noqa: B023
      a = F.relu(layer("bn1")(x))                                 # in place on the bn1 blob
      y = F.relu(layer("bn2")(layer("conv1")(a)))
      x = layer("conv2")(y) + layer("conv_expand")(a)             # layer_C_1_sum
    return F.relu(self.last_bn(x)).mean(dim=(2, 3))               # global_pool AVE

  def forward(self, x):
    return self.score(self.features(x))


def randomise(model, seed, input_stats=None):
  """He-normal convolutions, random affine BN with non-trivial running statistics."""
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for name, m in model.named_modules():
      if isinstance(m, nn.Conv2d):
        fan_in = m.weight[0].numel()
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
        if m.bias is not None:
          m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
      elif isinstance(m, nn.BatchNorm2d):
        n = m.num_features
        m.weight.copy_(0.5 + torch.rand(n, generator=g))
        m.bias.copy_(0.2 * torch.randn(n, generator=g))
        m.running_mean.copy_(0.2 * torch.randn(n, generator=g))
        m.running_var.copy_(0.5 + torch.rand(n, generator=g))
        m.num_batches_tracked.fill_(1234)
      elif isinstance(m, nn.Linear):
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
        m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
    if input_stats is not None:                    # data_bn on raw 0..255 pixels
      mean, std = input_stats
      model.data_bn.running_mean.copy_(torch.tensor(mean))
      model.data_bn.running_var.copy_(torch.tensor(std) ** 2)
  return model.eval()


def nchw(x):
  return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def torch_outputs(model, x):
  """(logits, features) of a torch model on NHWC `x`."""
  head = model.score if isinstance(model, TorchCvgj) else model.fc
  with torch.no_grad():
    features = model.features(nchw(x))
    return head(features).numpy(), features.numpy()


def flax_outputs(name, variables, x, num_classes=CLASSES):
  out, aux = models.get(name, num_classes=num_classes).apply(variables, x, train=False)
  return np.asarray(out), np.asarray(aux["features"])


def assert_close(got, want):
  scale = float(np.abs(want).max())
  assert scale > 0.1   # the reference is not degenerate
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


def assert_fits_model(name, variables, channels=3, num_classes=CLASSES):
  """The imported tree has exactly the Flax model's names and shapes, in both collections."""
  model = models.get(name, num_classes=num_classes)
  init = jax.eval_shape(model.init, jax.random.key(0),
                        np.zeros((1, SIZE, SIZE, channels), np.float32))
  shapes = lambda tree: jax.tree.map(lambda a: tuple(np.shape(a)), tree)
  assert shapes(variables) == shapes(dict(init))


# torchvision ResNet-18

@pytest.fixture(scope="module")
def resnet18():
  model = randomise(TorchResNet18(CLASSES), seed=0)
  x = np.random.default_rng(0).normal(size=(2, SIZE, SIZE, 3)).astype(np.float32)
  return model, x, torch_outputs(model, x)


def test_torchvision_resnet18_matches_torch(resnet18, tmp_path):
  model, x, (logits, features) = resnet18
  torch.save(model.state_dict(), tmp_path / "resnet18.pth")
  variables = weights.load("torchvision_resnet18", tmp_path / "resnet18.pth")
  assert_fits_model("resnet18", variables)
  got_logits, got_features = flax_outputs("resnet18", variables, x)
  assert_close(got_features, features)
  assert_close(got_logits, logits)


def test_torchvision_resnet18_without_fc_gives_features(resnet18, tmp_path):
  model, x, (_, features) = resnet18
  torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("fc.")},
             tmp_path / "notop.pth")
  variables = weights.load("torchvision_resnet18", tmp_path / "notop.pth")
  assert "fc" not in variables["params"]
  assert_close(flax_outputs("resnet18", variables, x, num_classes=None)[0], features)


def test_torchvision_resnet18_gray_is_the_rgb_model_on_a_grey_copy(resnet18, tmp_path):
  model, x, _ = resnet18
  torch.save(model.state_dict(), tmp_path / "resnet18.pth")
  variables = weights.load("torchvision_resnet18_gray", tmp_path / "resnet18.pth")
  assert_fits_model("resnet18", variables, channels=1)
  grey = x[..., :1]
  want, _ = torch_outputs(model, np.repeat(grey, 3, axis=-1))
  assert_close(flax_outputs("resnet18", variables, grey)[0], want)


# cvjena ResNet10_cvgj

BGR_MEAN, BGR_STD = (104.0, 117.0, 123.0), (57.0, 57.5, 58.5)


def scale_name(bn):
  """The prototxt's Scale layer after BatchNorm `bn` (data_bn -> data_scale, ..._bn1 -> _scale1)."""
  head, _, tail = bn.rpartition("bn")
  return f"{head}scale{tail}"


def caffe_layers(model, factor=999.9):
  """The torch model as Caffe stores it, in prototxt order: [(name, CaffeLayer)]."""
  layers = []
  for name, m in model.named_children():
    if isinstance(m, nn.BatchNorm2d):
      stats = [m.running_mean.numpy() * factor, m.running_var.numpy() * factor, [factor]]
      layers.append((name, caffe.CaffeLayer("BatchNorm", [np.asarray(b) for b in stats],
                                            batch_norm_eps=1e-5)))
      layers.append((scale_name(name), caffe.CaffeLayer(
          "Scale", [m.weight.detach().numpy(), m.bias.detach().numpy()])))
      if name != "data_bn":
        layers.append((name.replace("bn", "relu"), caffe.CaffeLayer("ReLU", [])))
      if name == "conv1_bn":
        layers.append(("conv1_pool", caffe.CaffeLayer("Pooling", [])))
    elif isinstance(m, (nn.Conv2d, nn.Linear)):
      blobs = [p.detach().numpy() for p in (m.weight, m.bias) if p is not None]
      kind = "Convolution" if isinstance(m, nn.Conv2d) else "InnerProduct"
      layers.append((name, caffe.CaffeLayer(kind, blobs)))
  return layers


def write_cvgj(model, path, edit=None, factor=999.9):
  layers = dict(caffe_layers(model, factor))
  if edit:
    edit(layers)
  caffe.write_caffemodel(path, layers)
  return path


@pytest.fixture(scope="module")
def cvgj():
  model = randomise(TorchCvgj(CLASSES), seed=1, input_stats=(BGR_MEAN, BGR_STD))
  rgb = np.random.default_rng(1).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
  return model, rgb, torch_outputs(model, rgb[..., ::-1])        # Caffe reads BGR


def test_resnet10_cvgj_matches_the_caffe_network(cvgj, tmp_path):
  model, rgb, (logits, features) = cvgj
  path = write_cvgj(model, tmp_path / "resnet10_cvgj.caffemodel")
  variables = weights.load("resnet10_cvgj", path)
  assert_fits_model("resnet10_cvgj", variables)
  got_logits, got_features = flax_outputs("resnet10_cvgj", variables, rgb)
  assert_close(got_features, features)
  assert_close(got_logits, logits)
  # The import takes RGB: the file's own BGR order would not match.
  assert not np.allclose(flax_outputs("resnet10_cvgj", variables, rgb[..., ::-1])[0], logits,
                         rtol=1e-2, atol=1e-3)


def test_resnet10_cvgj_statistics_are_divided_by_the_scale_factor(cvgj, tmp_path):
  model, _, _ = cvgj
  variables = weights.load("resnet10_cvgj", write_cvgj(model, tmp_path / "a.caffemodel",
                                                       factor=7.5))
  stats = variables["batch_stats"]["layer_256_1_bn2"]
  np.testing.assert_allclose(stats["mean"], model.layer_256_1_bn2.running_mean.numpy(),
                             rtol=1e-6)
  np.testing.assert_allclose(stats["var"], model.layer_256_1_bn2.running_var.numpy(), rtol=1e-6)

  def zero_factor(layers):           # Caffe: a zero factor gives zero statistics
    layers["last_bn"].blobs[2] = np.zeros(1, np.float32)

  variables = weights.load("resnet10_cvgj", write_cvgj(model, tmp_path / "b.caffemodel",
                                                       zero_factor))
  assert not variables["batch_stats"]["last_bn"]["mean"].any()
  assert not variables["batch_stats"]["last_bn"]["var"].any()


def test_resnet10_cvgj_without_score_gives_features(cvgj, tmp_path):
  model, rgb, (_, features) = cvgj
  path = write_cvgj(model, tmp_path / "notop.caffemodel", lambda layers: layers.pop("score"))
  variables = weights.load("resnet10_cvgj", path)
  assert "score" not in variables["params"]
  assert_close(flax_outputs("resnet10_cvgj", variables, rgb, num_classes=None)[0], features)


def grey_cvgj(data_bn):
  """A cvgj torch model whose data_bn has the given (mean, var, scale, bias) per channel."""
  model = randomise(TorchCvgj(CLASSES), seed=2)
  with torch.no_grad():
    for tensor, values in zip((model.data_bn.running_mean, model.data_bn.running_var,
                               model.data_bn.weight, model.data_bn.bias), data_bn):
      tensor.copy_(torch.tensor(values, dtype=torch.float32))
  return model


@pytest.mark.parametrize("data_bn", [
    ((110.0,) * 3, (3300.0,) * 3, (1.3,) * 3, (-0.2,) * 3),          # equal channels
    ((0.0,) * 3, (3000.0, 3300.0, 3600.0), (0.8, 1.0, 1.3), (0.0,) * 3),   # same shift
], ids=["equal_channels", "equal_shift"])
def test_resnet10_cvgj_gray_is_the_rgb_model_on_a_grey_copy(tmp_path, data_bn):
  model = grey_cvgj(data_bn)
  path = write_cvgj(model, tmp_path / "cvgj.caffemodel")
  variables = weights.load("resnet10_cvgj_gray", path)
  assert_fits_model("resnet10_cvgj", variables, channels=1)
  grey = np.random.default_rng(3).uniform(0, 255, (2, SIZE, SIZE, 1)).astype(np.float32)
  want, _ = torch_outputs(model, np.repeat(grey, 3, axis=-1))
  assert_close(flax_outputs("resnet10_cvgj", variables, grey)[0], want)


def test_resnet10_cvgj_gray_with_different_shifts_only_moves_conv1_by_a_constant(tmp_path):
  model = grey_cvgj(((100.0, 115.0, 125.0), (3000.0, 3300.0, 3600.0), (0.8, 1.0, 1.3),
                     (0.1, -0.2, 0.3)))
  variables = weights.load("resnet10_cvgj_gray", write_cvgj(model, tmp_path / "c.caffemodel"))
  grey = np.random.default_rng(4).uniform(0, 255, (1, SIZE, SIZE, 1)).astype(np.float32)
  _, state = models.get("resnet10_cvgj").apply(variables, grey, capture_intermediates=True,
                                               mutable=["intermediates"])
  got = np.asarray(state["intermediates"]["conv1"]["__call__"][0])[0, 2:-2, 2:-2]  # interior
  with torch.no_grad():
    want = model.conv1(model.data_bn(nchw(np.repeat(grey, 3, axis=-1))))
  want = want.numpy().transpose(0, 2, 3, 1)[0, 2:-2, 2:-2]
  offset = (got - want).reshape(-1, 64)
  np.testing.assert_allclose(offset, np.broadcast_to(offset.mean(0), offset.shape),
                             atol=1e-3 * float(np.abs(want).max()))


# Errors

def test_missing_key_and_wrong_shape_name_file_and_key(resnet18, tmp_path):
  model, _, _ = resnet18
  sd = {k: v for k, v in model.state_dict().items()
        if k != "layer3.0.downsample.1.running_var"}
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError, match=r"w\.pth: key 'layer3\.0\.downsample\.1\.running_var' "
                                      r"is missing"):
    weights.load("torchvision_resnet18", tmp_path / "w.pth")
  sd = dict(model.state_dict())
  sd["layer2.0.conv1.weight"] = torch.zeros(128, 32, 3, 3)
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError) as e:
    weights.load("torchvision_resnet18", tmp_path / "w.pth")
  assert ("w.pth: layer2.0.conv1.weight has shape [128, 32, 3, 3]; expected [128, 64, 3, 3]"
          in str(e.value))


def test_caffe_layer_problems_name_file_and_layer(cvgj, tmp_path):
  model, _, _ = cvgj
  cases = [
      (lambda layers: layers.pop("layer_256_1_scale1"), "layer 'layer_256_1_scale1' is missing"),
      (lambda layers: layers["layer_128_1_conv2"].blobs.append(np.zeros(128)),
       "layer 'layer_128_1_conv2' is a Convolution with 2 blobs; expected a Convolution with 1"),
      (lambda layers: setattr(layers["conv1_bn"], "batch_norm_eps", 1e-3),
       "layer 'conv1_bn' has batch_norm_param.eps"),
      (lambda layers: layers["layer_64_1_bn2"].blobs.__setitem__(0, np.zeros(63)),
       r"layer 'layer_64_1_bn2' blob 0 has shape \[63\]; expected \[64\]"),
      (lambda layers: layers["layer_512_1_conv_expand"].blobs.__setitem__(
          0, np.zeros((512, 256, 3, 3))),
       r"layer 'layer_512_1_conv_expand' weight has shape \[512, 256, 3, 3\]; expected "
       r"\[512, 256, 1, 1\]"),
  ]
  for i, (edit, message) in enumerate(cases):
    path = write_cvgj(model, tmp_path / f"bad{i}.caffemodel", edit)
    with pytest.raises(DataError, match=rf"bad{i}\.caffemodel: {message}"):
      weights.load("resnet10_cvgj", path)


def test_wrong_file_for_kind_is_a_data_error(resnet18, cvgj, tmp_path):
  torch.save(resnet18[0].state_dict(), tmp_path / "resnet18.pth")
  with pytest.raises(DataError, match=r"resnet18\.pth: not a Caffe \.caffemodel"):
    weights.load("resnet10_cvgj", tmp_path / "resnet18.pth")
  path = write_cvgj(cvgj[0], tmp_path / "cvgj.caffemodel")
  with pytest.raises(DataError, match=r"cvgj\.caffemodel: torch\.load"):
    weights.load("torchvision_resnet18", path)


RESNET_2D_KINDS = ("torchvision_resnet18", "torchvision_resnet18_gray", "resnet10_cvgj",
                   "resnet10_cvgj_gray")


@pytest.mark.parametrize("kind", RESNET_2D_KINDS)
def test_missing_file_says_where_to_get_the_resnets(tmp_path, kind):
  path = tmp_path / "nowhere" / "weights.bin"
  with pytest.raises(DataError) as e:
    weights.load(kind, path)
  message = str(e.value)
  assert str(path) in message and "does not exist" in message
  for text in ("resnet18-f37072fd.pth", "download.pytorch.org", "cvjena/cnn-models",
               "resnet10_cvgj_iter_320000.caffemodel", "'torchvision_resnet18'",
               "'resnet10_cvgj'"):
    assert text in message


def test_unknown_kind_lists_every_kind(tmp_path):
  with pytest.raises(ConfigError) as e:
    weights.load("resnet50", tmp_path / "x")
  for kind in [*weights.KINDS, *weights.VARIABLE_KINDS]:
    assert repr(kind) in str(e.value)


def test_vgg_kinds_still_return_params_only(tmp_path, write_vgg_face_dag):
  model = models.get("vgg16", widths=(4, 4, 8, 8, 8), fc_features=8)
  params = jax.eval_shape(model.init, jax.random.key(0), np.zeros((1, 32, 32, 3), np.float32))
  params = jax.tree.map(lambda a: np.zeros(a.shape, np.float32), params["params"])
  variables = weights.load("vgg_face_dag", write_vgg_face_dag(params, tmp_path / "v.pth"))
  assert list(variables) == ["params"]


def test_scale_layer_names_follow_the_prototxt():
  for bn in ("data_bn", "conv1_bn", "layer_64_1_bn2", "layer_128_1_bn1", "last_bn"):
    assert resnet_weights.scale_layer_name(bn) == scale_name(bn)
  assert resnet_weights.scale_layer_name("layer_512_1_bn1") == "layer_512_1_scale1"
