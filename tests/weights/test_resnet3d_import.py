"""r3d_18 importer against an independent PyTorch implementation of torchvision's r3d_18.

The torch module below has torchvision's `r3d_18` module and parameter names
(`stem.0`, `layer2.0.conv1.0`, `layer2.0.downsample.1`, ...; torchvision itself
is not a dependency), random weights and non-trivial batch norm statistics;
its state_dict is saved and imported, and the Flax R3D18 must give torch's
logits, pooled features and layer4 maps in eval mode.
"""

import jax
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mer_jax import weights
from mer_jax.errors import DataError
from mer_jax.models.resnet3d import R3D18

CLASSES = 10
WIDTHS = (64, 128, 256, 512)
CLIP = (2, 6, 36, 28, 3)   # [B, T, H, W, C]: odd sizes after a few halvings, H != W


# torchvision r3d_18 (VideoResNet with BasicStem, BasicBlock, Conv3DSimple)

class BasicBlock(nn.Module):
  def __init__(self, c_in, c, stride):
    super().__init__()
    self.conv1 = nn.Sequential(nn.Conv3d(c_in, c, 3, stride, 1, bias=False),
                               nn.BatchNorm3d(c), nn.ReLU())
    self.conv2 = nn.Sequential(nn.Conv3d(c, c, 3, 1, 1, bias=False), nn.BatchNorm3d(c))
    self.downsample = None
    if stride != 1 or c_in != c:
      self.downsample = nn.Sequential(nn.Conv3d(c_in, c, 1, stride, bias=False),
                                      nn.BatchNorm3d(c))

  def forward(self, x):
    out = self.conv2(self.conv1(x))
    return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchR3D18(nn.Module):
  def __init__(self, classes):
    super().__init__()
    self.stem = nn.Sequential(nn.Conv3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                              nn.BatchNorm3d(64), nn.ReLU())
    c_in = 64
    for i, c in enumerate(WIDTHS):
      stride = 1 if i == 0 else 2
      setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(c_in, c, stride),
                                                   BasicBlock(c, c, 1)))
      c_in = c
    self.fc = nn.Linear(512, classes)

  def maps(self, x):
    x = self.stem(x)
    for i in range(4):
      x = getattr(self, f"layer{i + 1}")(x)
    return x

  def forward(self, x):
    return self.fc(self.maps(x).mean(dim=(2, 3, 4)))   # AdaptiveAvgPool3d(1), flatten


def randomise(model, seed):
  """He-normal convolutions, random affine BN with non-trivial running statistics."""
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in model.modules():
      if isinstance(m, nn.Conv3d):
        fan_in = m.weight[0].numel()
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
      elif isinstance(m, nn.BatchNorm3d):
        n = m.num_features
        m.weight.copy_(0.5 + torch.rand(n, generator=g))
        m.bias.copy_(0.2 * torch.randn(n, generator=g))
        m.running_mean.copy_(0.2 * torch.randn(n, generator=g))
        m.running_var.copy_(0.5 + torch.rand(n, generator=g))
        m.num_batches_tracked.fill_(1234)
      elif isinstance(m, nn.Linear):
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
        m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
  return model.eval()


@pytest.fixture(scope="module")
def r3d18():
  """(torch model, clip [B, T, H, W, C], (logits, features, maps [B, T', H', W', C]))."""
  model = randomise(TorchR3D18(CLASSES), seed=0)
  x = np.random.default_rng(0).normal(size=CLIP).astype(np.float32)
  with torch.no_grad():
    maps = model.maps(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3))))
    features = maps.mean(dim=(2, 3, 4))
    logits = model.fc(features)
  return model, x, (logits.numpy(), features.numpy(), maps.numpy().transpose(0, 2, 3, 4, 1))


@pytest.fixture(scope="module")
def saved(r3d18, tmp_path_factory):
  path = tmp_path_factory.mktemp("r3d") / "r3d_18.pth"
  torch.save(r3d18[0].state_dict(), path)
  return path


def assert_close(got, want):
  scale = float(np.abs(want).max())
  assert scale > 0.1   # the reference is not degenerate
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


def assert_fits_model(variables, model):
  """The imported tree has exactly the Flax model's names and shapes, in both collections."""
  init = jax.eval_shape(model.init, jax.random.key(0), np.zeros((1, 4, 32, 32, 3), np.float32))
  shapes = lambda tree: jax.tree.map(lambda a: tuple(np.shape(a)), tree)
  assert shapes(variables) == shapes(dict(init))


def test_reference_has_torchvision_keys_and_parameter_count():
  model = TorchR3D18(400)
  sd = model.state_dict()
  assert len(sd) == 122
  assert sd["stem.0.weight"].shape == (64, 3, 3, 7, 7)
  assert sd["layer3.0.downsample.0.weight"].shape == (256, 128, 1, 1, 1)
  assert sd["layer4.1.conv2.1.running_var"].shape == (512,)
  assert sum(p.numel() for p in model.parameters()) == 33_371_472


def test_torchvision_r3d_18_matches_torch(r3d18, saved):
  _, x, (logits, features, maps) = r3d18
  variables = weights.load("torchvision_r3d_18", saved)
  model = R3D18(num_classes=CLASSES)
  assert_fits_model(variables, model)
  assert variables["params"]["stem_conv"]["kernel"].shape == (3, 7, 7, 3, 64)   # [T,H,W,I,O]
  got, aux = model.apply(variables, x, train=False)
  assert aux["maps"].shape == maps.shape == (2, 1, 3, 2, 512)
  assert_close(np.asarray(aux["maps"]), maps)
  assert_close(np.asarray(aux["features"]), features)
  assert_close(np.asarray(got), logits)


def test_without_fc_gives_features_and_maps(r3d18, tmp_path):
  model, x, (_, features, maps) = r3d18
  torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("fc.")},
             tmp_path / "notop.pth")
  variables = weights.load("torchvision_r3d_18", tmp_path / "notop.pth")
  assert "fc" not in variables["params"]
  assert_fits_model(variables, R3D18())
  assert_fits_model(variables, R3D18(return_maps=True))
  got, _ = R3D18(return_maps=True).apply(variables, x[:1])
  assert_close(np.asarray(got), maps[:1])


def test_input_convention_constants():
  assert weights.R3D18_MEAN_RGB == (0.43216, 0.394666, 0.37645)
  assert weights.R3D18_STD_RGB == (0.22803, 0.22145, 0.216989)


# Errors

def test_missing_key_and_wrong_shape_name_file_and_key(r3d18, tmp_path):
  model = r3d18[0]
  sd = {k: v for k, v in model.state_dict().items() if k != "layer3.0.downsample.1.running_var"}
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError, match=r"w\.pth: key 'layer3\.0\.downsample\.1\.running_var' "
                                      r"is missing; expected torchvision r3d_18 keys"):
    weights.load("torchvision_r3d_18", tmp_path / "w.pth")
  sd = dict(model.state_dict())
  sd["layer2.0.conv1.0.weight"] = torch.zeros(128, 64, 3, 3)   # a 2-D ResNet's kernel
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError) as e:
    weights.load("torchvision_r3d_18", tmp_path / "w.pth")
  assert ("w.pth: layer2.0.conv1.0.weight has shape [128, 64, 3, 3]; expected "
          "[128, 64, 3, 3, 3] (Conv3d weight [out, in, kt, kh, kw])" in str(e.value))
  sd = dict(model.state_dict())
  sd["fc.bias"] = torch.zeros(CLASSES + 1)
  torch.save(sd, tmp_path / "w.pth")
  with pytest.raises(DataError, match=r"w\.pth: fc\.bias has shape \[11\]; expected \[10\]"):
    weights.load("torchvision_r3d_18", tmp_path / "w.pth")


def test_2d_resnet_file_is_a_data_error(tmp_path):
  torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "resnet18.pth")
  with pytest.raises(DataError, match=r"resnet18\.pth: key 'stem\.0\.weight' is missing.*"
                                      r"the file has conv1\.weight"):
    weights.load("torchvision_r3d_18", tmp_path / "resnet18.pth")
  (tmp_path / "junk.pth").write_bytes(b"not a zip")
  with pytest.raises(DataError, match=r"junk\.pth: torch\.load"):
    weights.load("torchvision_r3d_18", tmp_path / "junk.pth")


def test_missing_file_says_where_to_get_r3d_18(tmp_path):
  path = tmp_path / "nowhere" / "r3d_18.pth"
  with pytest.raises(DataError) as e:
    weights.load("torchvision_r3d_18", path)
  message = str(e.value)
  assert str(path) in message and "does not exist" in message
  for text in ("r3d_18-b3b3357e.pth", "https://download.pytorch.org/models/",
               "'torchvision_r3d_18'"):
    assert text in message
