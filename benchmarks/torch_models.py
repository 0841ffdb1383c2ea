"""PyTorch equivalents of the mer_jax models, for the train-step comparison.

Same layers, widths, kernel sizes, strides, paddings, normalisations and
dropout as the Flax modules in `mer_jax/models/`, laid out channels-first as
PyTorch's convolutions want (`[N, C, H, W]`, clips `[N, C, T, H, W]`); the
benchmark feeds each framework its natural layout. Initialisation is
PyTorch's default (it does not change a step's cost). The parameter counts
match the Flax models' except for PyTorch's LSTM, which has two bias vectors
per gate (b_ih and b_hh) where Flax's `OptimizedLSTMCell` has one; the
benchmark checks the counts agree within a few per cent.

`build(setup)` returns `(module, optimiser, to_torch)` for a
`benchmarks.families.Setup`; `to_torch` turns the channels-last numpy
inputs into the module's input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

VGG_CONVS = (2, 2, 3, 3, 3)
RESNET_WIDTHS = (64, 128, 256, 512)


class StackedLSTM(nn.Module):
  """LSTM layers one after another, batch-first `[B, T, D]` -> `[B, T, features[-1]]`."""

  def __init__(self, in_features: int, features: Sequence[int]):
    super().__init__()
    sizes = [in_features, *features]
    self.layers = nn.ModuleList(nn.LSTM(a, b, batch_first=True)
                                for a, b in zip(sizes[:-1], sizes[1:]))

  def forward(self, x):
    for layer in self.layers:
      x, _ = layer(x)
    return x


class VGG16(nn.Module):
  """models/vgg.py's VGG16 without fc8: fc7 features `[N, fc]` of `[N, C, S, S]`."""

  def __init__(self, in_ch: int, side: int, widths=(64, 128, 256, 512, 512),
               fc_features: int = 4096, dropout_rate: float = 0.5):
    super().__init__()
    layers, c = [], in_ch
    for width, n in zip(widths, VGG_CONVS):
      for _ in range(n):
        layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(inplace=True)]
        c = width
      layers.append(nn.MaxPool2d(2))
    self.convs = nn.Sequential(*layers)
    self.fc6 = nn.Linear(c * (side // 2 ** len(VGG_CONVS)) ** 2, fc_features)
    self.fc7 = nn.Linear(fc_features, fc_features)
    self.dropout = nn.Dropout(dropout_rate)

  def forward(self, x):
    x = torch.flatten(self.convs(x), 1)
    return F.relu(self.fc7(self.dropout(F.relu(self.fc6(x)))))


class ElrcnSE(nn.Module):
  """models/elrcn.py's ElrcnSE: VGG-16 fc7 per frame, LSTM, last step, FC; `[B, T, C, S, S]`."""

  def __init__(self, num_classes: int, in_ch: int, side: int, lstm_features=(3000,),
               cnn: dict | None = None):
    super().__init__()
    self.cnn = VGG16(in_ch, side, **(cnn or {}))
    self.temporal = StackedLSTM(self.cnn.fc7.out_features, lstm_features)
    self.fc = nn.Linear(lstm_features[-1], num_classes)

  def forward(self, x):
    b, t = x.shape[:2]
    feats = self.cnn(x.reshape((b * t,) + x.shape[2:])).reshape(b, t, -1)
    return self.fc(self.temporal(feats)[:, -1])


class ElrcnTemporalOnly(nn.Module):
  """models/elrcn.py's ElrcnTemporalOnly: flattened pixels `[B, T, D]` -> LSTM -> FC."""

  def __init__(self, num_classes: int, in_features: int, lstm_features=(3000, 1024)):
    super().__init__()
    self.temporal = StackedLSTM(in_features, lstm_features)
    self.fc = nn.Linear(lstm_features[-1], num_classes)

  def forward(self, x):
    return self.fc(self.temporal(x)[:, -1])


class Activation(nn.Module):
  """models/rcn.py's normalised activation f: ReLU + LRN, BatchNorm + ReLU, or ReLU."""

  def __init__(self, features: int, norm: str):
    super().__init__()
    self.norm = norm
    self.bn = nn.BatchNorm2d(features, momentum=0.1) if norm == "batch" else None
    self.lrn = nn.LocalResponseNorm(features // 8 + 1, 0.001, 0.75, 1.0) if norm == "lrn" else None

  def forward(self, z):
    z = F.relu(self.bn(z) if self.bn is not None else z)
    return self.lrn(z) if self.lrn is not None else z


class RecurrentConvLayer(nn.Module):
  """models/rcn.py's RCL: 1x1 feed-forward conv, a shared 3x3 recurrent conv, unrolled."""

  def __init__(self, features: int, iterations: int, norm: str):
    super().__init__()
    self.feedforward = nn.Conv2d(features, features, 1)
    self.recurrent = nn.Conv2d(features, features, 3, padding=1, bias=False)
    self.acts = nn.ModuleList(Activation(features, norm) for _ in range(iterations + 1))

  def forward(self, u):
    ff = self.feedforward(u)
    v = self.acts[0](ff)
    for act in self.acts[1:]:
      v = act(ff + self.recurrent(v))
    return v


class MerRcnn(nn.Module):
  """models/rcn.py's MerRcnn on `[B, C, P, T]`: conv1, pooled RCLs, average pool, FC."""

  def __init__(self, num_classes: int, features=64, iterations=3, norm="lrn",
               pools=((4, 1), (4, 1), (4, 4), (4, 2)), conv1_kernel=(5, 5),
               dropout_rate=0.0, in_ch: int = 3, **_):
    super().__init__()
    self.conv1 = nn.Conv2d(in_ch, features, tuple(conv1_kernel))
    self.act1 = Activation(features, norm)
    self.pools = [tuple(p) for p in pools]
    self.rcls = nn.ModuleList(RecurrentConvLayer(features, iterations, norm) for _ in pools)
    self.dropout = nn.Dropout(dropout_rate)
    self.classifier = nn.Linear(features, num_classes, bias=False)

  def forward(self, x):
    x = self.act1(self.conv1(x))
    for window, rcl in zip(self.pools, self.rcls):
      x = rcl(F.max_pool2d(x, window, window))
    return self.classifier(self.dropout(x.mean(dim=(2, 3))))


class ResNet10Cvgj(nn.Module):
  """models/resnet.py's ResNet10Cvgj (pre-activation, Caffe layout): `[B, C, S, S]` -> 512."""

  def __init__(self, in_ch: int = 1):
    super().__init__()
    self.data_bn = nn.BatchNorm2d(in_ch)
    self.conv1 = nn.Conv2d(in_ch, 64, 7, stride=2, padding=3)
    self.conv1_bn = nn.BatchNorm2d(64)
    blocks, c = [], 64
    for width in RESNET_WIDTHS:
      first = width == RESNET_WIDTHS[0]
      blocks.append(nn.ModuleDict(dict(
          bn1=nn.Identity() if first else nn.BatchNorm2d(c),
          conv1=nn.Conv2d(c, width, 3, stride=1 if first else 2, padding=1, bias=False),
          bn2=nn.BatchNorm2d(width),
          conv2=nn.Conv2d(width, width, 3, padding=1, bias=False),
          expand=nn.Identity() if first else nn.Conv2d(c, width, 1, stride=2, bias=False))))
      c = width
    self.blocks = nn.ModuleList(blocks)
    self.last_bn = nn.BatchNorm2d(c)

  def forward(self, x):
    x = F.relu(self.conv1_bn(self.conv1(self.data_bn(x))))
    x = F.max_pool2d(x, 3, 2, ceil_mode=True)
    for i, blk in enumerate(self.blocks):
      a = x if i == 0 else F.relu(blk["bn1"](x))
      y = blk["conv2"](F.relu(blk["bn2"](blk["conv1"](a))))
      x = y + blk["expand"](a)
    return F.relu(self.last_bn(x)).mean(dim=(2, 3))


class ATNet(nn.Module):
  """models/atnet.py's fusion ATNet: ResNet-10 on the apex, LSTM on ADM, L2, concat, FC."""

  def __init__(self, num_classes: int, adm_features: int, lstm_features=(512, 512),
               dropout_rate: float = 0.5, stream: str = "fusion", **_):
    super().__init__()
    if stream != "fusion":
      raise ValueError(f"only the fusion stream is benchmarked, got {stream!r}")
    self.spatial = ResNet10Cvgj(1)
    self.temporal = StackedLSTM(adm_features, lstm_features)
    self.dropout = nn.Dropout(dropout_rate)
    self.classifier = nn.Linear(512 + lstm_features[-1], num_classes)

  def forward(self, x):
    spatial = F.normalize(self.spatial(x["apex"]), dim=-1)
    temporal = F.normalize(self.temporal(x["adm"]).mean(dim=1), dim=-1)
    return self.classifier(self.dropout(torch.cat([spatial, temporal], dim=-1)))


class BasicBlock3d(nn.Module):
  """torchvision's video BasicBlock (Conv3DSimple): conv-BN-ReLU-conv-BN + shortcut, ReLU."""

  def __init__(self, c_in: int, width: int, stride: int):
    super().__init__()
    self.conv1 = nn.Conv3d(c_in, width, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm3d(width)
    self.conv2 = nn.Conv3d(width, width, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm3d(width)
    self.down = None
    if stride != 1 or c_in != width:
      self.down = nn.Sequential(nn.Conv3d(c_in, width, 1, stride, bias=False),
                                nn.BatchNorm3d(width))

  def forward(self, x):
    y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
    return F.relu(y + (x if self.down is None else self.down(x)))


class R3D18Maps(nn.Module):
  """torchvision's r3d_18 up to layer4 (no pool, no fc), with stage `widths`."""

  def __init__(self, widths: Sequence[int] = RESNET_WIDTHS):
    super().__init__()
    self.stem = nn.Sequential(
        nn.Conv3d(3, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
        nn.BatchNorm3d(widths[0]), nn.ReLU(inplace=True))
    blocks, c = [], widths[0]
    for stage, width in enumerate(widths):
      for block in range(2):
        blocks.append(BasicBlock3d(c, width, 2 if stage > 0 and block == 0 else 1))
        c = width
    self.layers = nn.Sequential(*blocks)

  def forward(self, x):
    return self.layers(self.stem(x))


class PeepholeConvLSTMCell(nn.Module):
  """models/conv_lstm.py's cell: gates from two 3x3 convs, peepholes of shape [F, H, W]."""

  def __init__(self, c_in: int, features: int, side: int):
    super().__init__()
    self.input_conv = nn.Conv2d(c_in, 4 * features, 3, padding=1)
    self.hidden_conv = nn.Conv2d(features, 4 * features, 3, padding=1, bias=False)
    shape = (features, side, side)
    self.peep_i, self.peep_f, self.peep_o = (nn.Parameter(torch.zeros(shape)) for _ in "ifo")

  def forward(self, carry, x):
    c, h = carry
    z_i, z_f, z_c, z_o = torch.chunk(self.input_conv(x) + self.hidden_conv(h), 4, dim=1)
    i = torch.sigmoid(z_i + self.peep_i * c)
    f = torch.sigmoid(z_f + self.peep_f * c)
    c = f * c + i * torch.tanh(z_c)
    h = torch.sigmoid(z_o + self.peep_o * c) * torch.tanh(c)
    return (c, h), h


class R3dConvLstmAE(nn.Module):
  """models/r3d_convlstm_ae.py: r3d_18 maps, 2-1-2 ConvLSTM AE, 1x3x3 class conv, mean."""

  MEAN, STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)

  def __init__(self, num_classes: int, frames: int, side: int, hidden=(101,) * 4,
               backbone_widths=RESNET_WIDTHS, decoder_input="feedback", **_):
    super().__init__()
    self.backbone = R3D18Maps(backbone_widths)
    map_side = side
    for _ in range(4):   # stem and layer2..4 halve space, rounding up
      map_side = math.ceil(map_side / 2)
    ins = (backbone_widths[-1], hidden[0], hidden[1], hidden[2])
    self.cells = nn.ModuleList(PeepholeConvLSTMCell(a, b, map_side) for a, b in zip(ins, hidden))
    self.feedback = decoder_input == "feedback"
    self.class_conv = nn.Conv3d(hidden[3], num_classes, (1, 3, 3), padding=(0, 1, 1))
    self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1, 1))
    self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1, 1))

  def forward(self, x):
    maps = self.backbone((x - self.mean) / self.std)                 # [B, C, T', H', W']
    b, _, t, hh, ww = maps.shape
    carries = [(maps.new_zeros(b, cell.hidden_conv.in_channels, hh, ww),) * 2
               for cell in self.cells]
    for step in range(t):
      carries[0], h1 = self.cells[0](carries[0], maps[:, :, step])
      carries[1], encoded = self.cells[1](carries[1], h1)
    inputs, outputs = encoded, []
    for _ in range(t):
      carries[2], h3 = self.cells[2](carries[2], inputs)
      carries[3], h4 = self.cells[3](carries[3], h3)
      outputs.append(h4)
      inputs = h4 if self.feedback else inputs
    return self.class_conv(torch.stack(outputs, dim=2)).mean(dim=(2, 3, 4))


def _channels_first(x: np.ndarray, clip: bool) -> torch.Tensor:
  """`[B, (T,) H, W, C]` -> `[B, C, (T,) H, W]` (clip) or `[B, T, C, H, W]` (frames)."""
  order = (0, 4, 1, 2, 3) if clip else (0, 1, 4, 2, 3)
  return torch.from_numpy(np.ascontiguousarray(x.transpose(order)))


def build_module(s: Any) -> tuple[nn.Module, Any]:
  """The PyTorch model of `s` (a families.Setup) and its input converter."""
  m, name, shapes = dict(s.config.model.to_dict()), s.config.model_name, s.shapes
  if name == "elrcn_se":
    t, side, _, c = shapes["frames"]
    return (ElrcnSE(s.num_classes, c, side, tuple(m["lstm_features"]), m.get("cnn")),
            lambda x: _channels_first(x["frames"], clip=False))
  if name == "elrcn_temporal_only":
    t = shapes["frames"][0]
    return (ElrcnTemporalOnly(s.num_classes, math.prod(shapes["frames"][1:]),
                              tuple(m["lstm_features"])),
            lambda x: torch.from_numpy(x["frames"].reshape(len(x["frames"]), t, -1)))
  if name == "mer_rcnn":   # [B, P, T, C] -> [B, C, P, T]
    return (MerRcnn(s.num_classes, **m),
            lambda x: torch.from_numpy(np.ascontiguousarray(x["frames"].transpose(0, 3, 1, 2))))
  if name == "atnet":
    return (ATNet(s.num_classes, shapes["adm"][1], tuple(m["lstm_features"]), m["dropout_rate"],
                  m["stream"]),
            lambda x: {"apex": torch.from_numpy(np.ascontiguousarray(
                x["apex"].transpose(0, 3, 1, 2))), "adm": torch.from_numpy(x["adm"])})
  if name == "r3d_convlstm_ae":
    t, side = shapes["frames"][:2]
    return (R3dConvLstmAE(s.num_classes, t, side, tuple(m["hidden"]),
                          tuple(m["backbone_widths"]), m["decoder_input"]),
            lambda x: _channels_first(x["frames"], clip=True))
  raise ValueError(f"no PyTorch model for {name!r}")


def make_optimizer(module: nn.Module, config: Any) -> torch.optim.Optimizer:
  """The config's optimiser in PyTorch: Adam (b1, b2, eps) or SGD (momentum, L2 decay).

  The learning rate is the schedule's base rate; a schedule changes no step's cost.
  """
  o, lr = config.optim, config.schedule.base_lr
  if o.name == "adam":
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(o.b1, o.b2), eps=o.eps,
                            weight_decay=o.get("weight_decay", 0.0))
  return torch.optim.SGD(module.parameters(), lr=lr, momentum=o.get("momentum", 0.9),
                         nesterov=o.get("nesterov", False),
                         weight_decay=o.get("weight_decay", 0.0))


def count_params(module: nn.Module) -> int:
  return sum(p.numel() for p in module.parameters())
