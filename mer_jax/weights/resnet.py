"""ResNet weights into `models.resnet`: torchvision's ResNet-18 and cvjena's ResNet10_cvgj.

Readers (see `mer_jax.weights.VARIABLE_KINDS`) return full Flax variables,
`{'params': ..., 'batch_stats': ...}`, nested exactly like the model's:
- `read_torchvision_resnet18`: a torchvision `resnet18` state_dict (`.pth`,
  e.g. `resnet18-f37072fd.pth`); conv weights OIHW -> HWIO, BN `weight`/`bias`
  -> `scale`/`bias`, `running_mean`/`running_var` -> `mean`/`var`, fc
  `[out, in]` -> kernel `[in, out]`. `num_batches_tracked` is not used.
- `read_resnet10_cvgj`: the Caffe `resnet10_cvgj_iter_320000.caffemodel`.
  Convolution blobs `[out, in, kh, kw]` (+ bias); BatchNorm blobs
  `mean_sum, var_sum, scale_factor` (statistics = sum / factor, 0 when the
  factor is 0, as Caffe computes them); the Scale layer after each BatchNorm
  (`conv1_scale` after `conv1_bn`, `layer_128_1_scale1` after
  `layer_128_1_bn1`: the name with its last `bn` replaced by `scale`) gives
  the same Flax BatchNorm's `scale` and `bias`; InnerProduct `score` `[out, in]`.
  The model was trained on BGR input (Caffe's ImageData layer decodes with
  OpenCV; cvjena's train.prototxt) of raw 0..255 values; for a 3-channel file
  the importer reverses data_bn's and conv1's input channels, so that the
  imported model takes RGB like every other kind.

The classifier (`fc`, `score`) is included when the file has it. Input
channels are read from the file (conv1, or data_bn for ResNet10_cvgj);
`to_grayscale` turns an RGB import into a one-channel one.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Any

import numpy as np

from mer_jax.errors import DataError
from mer_jax.models.resnet import BN_EPSILON, RESNET18_BLOCKS, WIDTHS
from mer_jax.weights import caffe, common

Variables = dict[str, dict[str, Any]]

SOURCES = (
    "get one of these files and pass its kind: "
    "'torchvision_resnet18' = torchvision's ImageNet resnet18 state_dict resnet18-f37072fd.pth "
    "(https://download.pytorch.org/models/resnet18-f37072fd.pth; reading it needs torch); "
    "'resnet10_cvgj' = cvjena's Caffe resnet10_cvgj_iter_320000.caffemodel (download links in "
    "https://github.com/cvjena/cnn-models, ResNet_preact/ResNet10_cvgj/model_download_link.txt); "
    "the '_gray' kinds take the same files for one-channel input")
RESNET18_KEYS = ("torchvision resnet18 keys conv1.weight, bn1.*, layer1.0.conv1.weight ... "
                 "layer4.1.bn2.*, layer{2,3,4}.0.downsample.{0,1}.*, fc.weight, fc.bias")
CVGJ_LAYERS = ("ResNet10_cvgj layers data_bn/data_scale, conv1, conv1_bn/conv1_scale, "
               "layer_64_1_conv1 ... layer_512_1_conv_expand, last_bn/last_scale, score")
NO_TORCH = "convert the weights to another format (no other ResNet-18 format is supported yet)"


def _set(tree: dict, path: tuple[str, ...], value: Any) -> None:
  for part in path[:-1]:
    tree = tree.setdefault(part, {})
  tree[path[-1]] = value


# torchvision ResNet-18s (.pth): the 2-D resnet18 and the video r3d_18

@dataclasses.dataclass(frozen=True)
class TorchResNetLayout:
  """Where a torchvision ResNet-18 state_dict keeps each layer (2-D or 3-D)."""

  stem: tuple[str, str]          # torch keys of the stem's conv and BN
  stem_names: tuple[str, str]    # their Flax names
  stem_kernel: tuple[int, ...]   # the stem conv's spatial kernel (its length: 2-D or 3-D)
  block_conv: str                # a block's i-th conv, e.g. 'conv{i}' or 'conv{i}.0'
  block_bn: str                  # its BN, e.g. 'bn{i}' or 'conv{i}.1'
  keys: str                      # the expected keys, for messages


RESNET18_LAYOUT = TorchResNetLayout(("conv1", "bn1"), ("conv1", "bn1"), (7, 7), "conv{i}",
                                    "bn{i}", RESNET18_KEYS)
_BN_ENTRIES = (("weight", "scale", "params"), ("bias", "bias", "params"),
               ("running_mean", "mean", "batch_stats"), ("running_var", "var", "batch_stats"))


def read_torch_basic_resnet(arrays: dict[str, np.ndarray], path: pathlib.Path,
                            layout: TorchResNetLayout) -> Variables:
  """Flax variables of `models.resnet.ResNet18` / `models.resnet3d.R3D18` from a state_dict.

  Conv weights `[out, in, *k]` -> kernels `[*k, in, out]`; BN weight/bias ->
  scale/bias, running statistics -> mean/var; fc `[out, in]` -> `[in, out]`
  when the file has it. Shapes are checked; a DataError names file and key.
  """
  dims = len(layout.stem_kernel)
  axes = "[out, in, " + ", ".join(("kt", "kh", "kw")[3 - dims:]) + "]"
  variables: Variables = {"params": {}, "batch_stats": {}}

  def get(key: str, expected: tuple[common.Dim, ...], what: str) -> np.ndarray:
    return common.check_shape(path, key, common.take(arrays, key, path, layout.keys),
                              expected, what)

  def conv(key: str, target: tuple[str, ...], shape: tuple[common.Dim, ...]) -> int:
    w = get(f"{key}.weight", shape, f"Conv{dims}d weight {axes}")
    kernel = np.ascontiguousarray(w.transpose(*range(2, w.ndim), 1, 0))
    _set(variables["params"], (*target, "kernel"), kernel)
    return w.shape[0]

  def norm(key: str, target: tuple[str, ...], size: int) -> None:
    for name, part, collection in _BN_ENTRIES:
      value = get(f"{key}.{name}", (size,), f"BatchNorm{dims}d({size}) {name}")
      _set(variables[collection], (*target, part), value)

  k3, k1 = (3,) * dims, (1,) * dims
  channels = conv(layout.stem[0], layout.stem_names[:1], (WIDTHS[0], "in", *layout.stem_kernel))
  norm(layout.stem[1], layout.stem_names[1:], channels)
  for stage, width in enumerate(WIDTHS):
    for block in range(RESNET18_BLOCKS):
      key, name = f"layer{stage + 1}.{block}", f"layer{stage + 1}_{block}"
      for i, cin in ((1, channels), (2, width)):
        conv(f"{key}.{layout.block_conv.format(i=i)}", (name, f"conv{i}"), (width, cin, *k3))
        norm(f"{key}.{layout.block_bn.format(i=i)}", (name, f"bn{i}"), width)
      if channels != width:
        conv(f"{key}.downsample.0", (name, "downsample_conv"), (width, channels, *k1))
        norm(f"{key}.downsample.1", (name, "downsample_bn"), width)
      channels = width
  if "fc.weight" in arrays:
    w = get("fc.weight", ("out", channels), "Linear weight [out, in]")
    bias = common.check_bias(path, "fc.bias", common.take(arrays, "fc.bias", path, layout.keys),
                             w.shape[0])
    variables["params"]["fc"] = {"kernel": np.ascontiguousarray(w.T), "bias": bias}
  return variables


def read_torchvision_resnet18(path: str | os.PathLike) -> Variables:
  """Reads a torchvision `resnet18` state_dict into `models.resnet.ResNet18` variables."""
  path = common.require_file(path, "ResNet-18 weights file for kind 'torchvision_resnet18' "
                             "(a torchvision resnet18 state_dict)", SOURCES)
  return read_torch_basic_resnet(common.torch_state_dict(path, NO_TORCH), path,
                                 RESNET18_LAYOUT)


# cvjena ResNet10_cvgj (.caffemodel)

def scale_layer_name(batch_norm: str) -> str:
  """The Scale layer that follows a BatchNorm in the cvgj prototxt: `conv1_bn` -> `conv1_scale`."""
  return re.sub(r"bn(\d*)$", r"scale\1", batch_norm)


class _CaffeImport:
  """Copies caffemodel layers into Flax variables, checking types and shapes."""

  def __init__(self, path: pathlib.Path, layers: dict[str, caffe.CaffeLayer]):
    self.path, self.layers = path, layers
    self.variables: Variables = {"params": {}, "batch_stats": {}}

  def blobs(self, name: str, layer_type: str, count: int) -> list[np.ndarray]:
    """The blobs of layer `name`, which must be a `layer_type` with `count` blobs."""
    if name not in self.layers:
      raise DataError(f"{self.path}: layer {name!r} is missing; expected the {CVGJ_LAYERS}; "
                      f"the file has {sorted(n for n, x in self.layers.items() if x.blobs)}")
    layer = self.layers[name]
    if layer.type != layer_type or len(layer.blobs) != count:
      raise DataError(f"{self.path}: layer {name!r} is a {layer.type} with {len(layer.blobs)} "
                      f"blobs; expected a {layer_type} with {count}")
    return layer.blobs

  def conv(self, name: str, shape: tuple[common.Dim, ...], bias: bool = False) -> int:
    blobs = self.blobs(name, "Convolution", 2 if bias else 1)
    w = common.check_shape(self.path, f"layer {name!r} weight", blobs[0], shape,
                           "Caffe Convolution weight [out, in, kh, kw]")
    self.variables["params"][name] = {"kernel": np.ascontiguousarray(w.transpose(2, 3, 1, 0))}
    if bias:
      self.variables["params"][name]["bias"] = self.vector(name, 1, blobs[1], w.shape[0])
    return w.shape[0]

  def norm(self, name: str, size: int) -> None:
    """BatchNorm `name` and its Scale layer into one Flax BatchNorm."""
    mean_sum, var_sum, factor = self.blobs(name, "BatchNorm", 3)
    eps = self.layers[name].batch_norm_eps
    if eps is not None and not np.isclose(eps, BN_EPSILON, rtol=1e-6, atol=0):
      raise DataError(f"{self.path}: layer {name!r} has batch_norm_param.eps = {eps}; the "
                      f"model uses Caffe's default {BN_EPSILON}")
    factor = float(self.vector(name, 2, factor, 1)[0])
    inverse = 0.0 if factor == 0 else 1.0 / factor          # as Caffe's BatchNormLayer
    self.variables["batch_stats"][name] = {
        "mean": self.vector(name, 0, mean_sum, size) * inverse,
        "var": self.vector(name, 1, var_sum, size) * inverse}
    scale_name = scale_layer_name(name)
    gamma, beta = self.blobs(scale_name, "Scale", 2)
    self.variables["params"][name] = {"scale": self.vector(scale_name, 0, gamma, size),
                                      "bias": self.vector(scale_name, 1, beta, size)}

  def dense(self, name: str, features: int) -> None:
    w, b = self.blobs(name, "InnerProduct", 2)
    if w.ndim == 4 and w.shape[:2] == (1, 1):               # legacy [1, 1, out, in] blob
      w = w[0, 0]
    w = common.check_shape(self.path, f"layer {name!r} weight", w, ("out", features),
                           "Caffe InnerProduct weight [out, in]")
    self.variables["params"][name] = {"kernel": np.ascontiguousarray(w.T),
                                      "bias": self.vector(name, 1, b, w.shape[0])}

  def vector(self, name: str, index: int, blob: np.ndarray, size: int) -> np.ndarray:
    """A blob of `size` values (any shape with only 1s besides) as float32 `[size]`."""
    if blob.size != size or sorted(blob.shape)[:-1] != [1] * (blob.ndim - 1):
      raise DataError(f"{self.path}: layer {name!r} blob {index} has shape "
                      f"{common.shape_text(blob.shape)}; expected [{size}]")
    return blob.reshape(size).astype(np.float32)


def read_resnet10_cvgj(path: str | os.PathLike) -> Variables:
  """Reads cvjena's ResNet10_cvgj caffemodel into `models.resnet.ResNet10Cvgj` variables."""
  path = common.require_file(path, "ResNet10_cvgj weights file for kind 'resnet10_cvgj' "
                             "(a Caffe .caffemodel)", SOURCES)
  net = _CaffeImport(path, caffe.read_caffemodel(path))
  data_bn = net.blobs("data_bn", "BatchNorm", 3)
  channels = data_bn[0].size                                # input channels
  net.norm("data_bn", channels)
  channels = net.conv("conv1", (WIDTHS[0], channels, 7, 7), bias=True)
  net.norm("conv1_bn", channels)
  for width in WIDTHS:
    prefix = f"layer_{width}_1"
    if width != WIDTHS[0]:
      net.norm(f"{prefix}_bn1", channels)
      net.conv(f"{prefix}_conv_expand", (width, channels, 1, 1))
    net.conv(f"{prefix}_conv1", (width, channels, 3, 3))
    net.norm(f"{prefix}_bn2", width)
    channels = net.conv(f"{prefix}_conv2", (width, width, 3, 3))
  net.norm("last_bn", channels)
  if "score" in net.layers:
    net.dense("score", channels)
  if data_bn[0].size == 3:
    _bgr_to_rgb(net.variables)
  return net.variables


def _bgr_to_rgb(variables: Variables) -> None:
  """Reverses the input channels of `data_bn` and `conv1` (in place), for RGB input."""
  for collection in ("params", "batch_stats"):
    bn = variables[collection]["data_bn"]
    for key in bn:
      bn[key] = np.ascontiguousarray(bn[key][::-1])
  conv1 = variables["params"]["conv1"]
  conv1["kernel"] = np.ascontiguousarray(conv1["kernel"][:, :, ::-1, :])


# Grey input

def to_grayscale(variables: Variables, first_conv: str = "conv1",
                 input_bn: str | None = None) -> Variables:
  """One-channel variables from RGB ones: a grey image then acts as its three-channel copy.

  Without `input_bn` (ResNet-18), `first_conv`'s kernel is summed over its
  input channels: the model on grey `g` equals the RGB model on `[g, g, g]`
  exactly (normalise grey input with one mean and std for all channels).

  With `input_bn` (ResNet10_cvgj's `data_bn`, a per-channel affine map
  y_c = a_c * (x + s_c) at inference), the statistics, scale and bias are
  averaged to one channel, a' = scale' / sqrt(var' + eps), and the bias is set
  so that the grey map is a' * (g + mean_c s_c); `first_conv`'s kernel becomes
  sum_c W_c * a_c / a'. This is exact when the channels share the shift s_c
  (in particular when their data_bn parameters are equal); otherwise only the
  offset differs, never the response to g.

  Args:
    variables: `{'params': ..., 'batch_stats': ...}` of an RGB (3-channel) import.
    first_conv: the top-level layer that reads the input (or `input_bn`'s output).
    input_bn: the top-level BatchNorm applied to the input before `first_conv`, if any.

  Returns:
    New variables (the inputs are not modified) for a one-channel input.
  """
  params = dict(variables["params"])
  kernel = np.asarray(params[first_conv]["kernel"], np.float32)       # [kh, kw, C, out]
  weight = np.ones(kernel.shape[2], np.float32)                       # a_c / a'
  out = {**variables, "params": params}
  if input_bn is not None:
    stats = dict(variables["batch_stats"])
    params[input_bn], stats[input_bn], weight = _grey_input_bn(params[input_bn],
                                                               stats[input_bn])
    out["batch_stats"] = stats
  params[first_conv] = {**params[first_conv],
                        "kernel": np.einsum("hwco,c->hwo", kernel, weight)[:, :, None, :]}
  return out


def _grey_input_bn(bn_params: dict, bn_stats: dict) -> tuple[dict, dict, np.ndarray]:
  """One-channel BatchNorm (params, stats) and the per-channel kernel weights a_c / a'."""
  mean, var = (np.asarray(bn_stats[k], np.float64) for k in ("mean", "var"))
  scale, bias = (np.asarray(bn_params[k], np.float64) for k in ("scale", "bias"))
  slope = scale / np.sqrt(var + BN_EPSILON)                           # a_c
  shift = np.divide(bias, slope, out=np.zeros_like(bias), where=slope != 0) - mean   # s_c
  grey_scale, grey_var = scale.mean(keepdims=True), var.mean(keepdims=True)
  grey_slope = grey_scale / np.sqrt(grey_var + BN_EPSILON)            # a'
  grey_bias = grey_slope * (mean.mean() + shift.mean())
  f32 = lambda a: np.asarray(a, np.float32)
  return ({"scale": f32(grey_scale), "bias": f32(grey_bias)},
          {"mean": f32(mean.mean(keepdims=True)), "var": f32(grey_var)},
          f32(slope / grey_slope))
