"""VGG-Face (Parkhi et al. 2015) weights from three public formats into `models.vgg.VGG16`.

Readers, one per kind (see `mer_jax.weights.KINDS`):
- `read_dag`: Albanie's pytorch-mcn port `vgg_face_dag.pth`, a state_dict with
  `conv1_1.weight` (OIHW) ... `fc8.bias`; fc6 reads an NCHW flatten of pool5.
- `read_keras`: keras-vggface's `rcmalli_vggface_tf_vgg16.h5`, a Keras 2 save
  (full model `model_weights/<layer>/<layer>/kernel:0`, or weights only
  `<layer>/<layer>/kernel:0`); kernels HWIO, fc6 reads an NHWC flatten, and
  the network expects BGR input.
- `read_mat`: MatConvNet `vgg-face.mat`, a SimpleNN `layers` cell (at top level
  or in `net`) of structs with `name` and `weights = {W, b}` (or the older
  `filters`, `biases`); W is HWIO and the fc layers are convolutions, fc6
  `[7, 7, 512, 4096]`, fc7 and fc8 `[1, 1, in, out]`.

Every reader returns the same parameters: `VGG16` params (`kernel` HWIO or
`[in, out]`, fc6 over an NHWC flatten) that expect RGB input in 0..255 minus
`VGG_FACE_MEAN_RGB`. For the Keras file this means reversing conv1_1's input
channels. Sizes are read from the file, so narrow test networks load too; fc8
is included when the file has it.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
import scipy.io

from mer_jax.errors import DataError
from mer_jax.models.vgg import conv_names
from mer_jax.weights import common
from mer_jax.weights.common import Params

VGG_FACE_MEAN_RGB = (129.1863, 104.7624, 93.5940)

SOURCES = (
    "get VGG-Face in one of these formats and pass its kind: "
    "'vgg_face_mat' = MatConvNet vgg-face.mat (VGG-Face page of the Oxford VGG group, "
    "https://www.robots.ox.ac.uk/~vgg/software/vgg_face/, or "
    "http://www.vlfeat.org/matconvnet/models/vgg-face.mat); "
    "'vgg_face_dag' = PyTorch vgg_face_dag.pth (Samuel Albanie's pytorch-mcn port, "
    "http://www.robots.ox.ac.uk/~albanie/models/pytorch-mcn/vgg_face_dag.pth; needs torch); "
    "'keras_vggface' = rcmalli_vggface_tf_vgg16.h5 (keras-vggface release v2.0, "
    "https://github.com/rcmalli/keras-vggface/releases/download/v2.0/"
    "rcmalli_vggface_tf_vgg16.h5; the 'notop' file lacks fc6 and fc7)")

DAG_KEYS = "vgg_face_dag keys conv1_1.weight ... conv5_3.bias, fc6/fc7/fc8.weight and .bias"
KERAS_LAYERS = "keras-vggface VGG16 layers conv1_1 ... conv5_3, fc6, fc7 (fc8 optional)"
MAT_LAYERS = "MatConvNet layers named conv1_1 ... conv5_3, fc6, fc7 (fc8 optional)"
OTHER_FORMATS = ("use the keras-vggface .h5 (kind 'keras_vggface') or the MatConvNet .mat "
                 "(kind 'vgg_face_mat') instead")

# What scipy.io.loadmat raises for a file it cannot read (NotImplementedError: MATLAB v7.3).
MAT_READ_ERRORS = (scipy.io.matlab.MatReadError, NotImplementedError, ValueError, TypeError,
                   OSError)

Layer = dict[str, np.ndarray]
ConvReader = Callable[[str, int], Layer]     # (layer name, input channels) -> layer
Fc6Reader = Callable[[int], Layer]           # conv5_3's channels -> fc6 over an NHWC flatten
DenseReader = Callable[[str, int], Layer]    # (layer name, input features) -> layer


def _assemble(conv: ConvReader, fc6: Fc6Reader, dense: DenseReader, has_fc8: bool) -> Params:
  """Reads conv1_1 ... conv5_3, fc6, fc7 (and fc8), chaining each layer's input size."""
  params: Params = {}
  channels = 3
  for name in conv_names():
    params[name] = conv(name, channels)
    channels = params[name]["kernel"].shape[-1]
  params["fc6"] = fc6(channels)
  features = params["fc6"]["kernel"].shape[-1]
  for name in ("fc7", "fc8") if has_fc8 else ("fc7",):
    params[name] = dense(name, features)
    features = params[name]["kernel"].shape[-1]
  return params


def _layer(kernel: np.ndarray, bias: np.ndarray) -> Layer:
  return {"kernel": np.ascontiguousarray(kernel), "bias": bias}


def _pool5_side(path: pathlib.Path, key: str, n_inputs: int, channels: int) -> int:
  """H (= W) of the pool5 map that fc6's `n_inputs = H * W * channels` inputs flatten."""
  side = math.isqrt(n_inputs // channels)
  if side * side * channels != n_inputs or side == 0:
    raise DataError(f"{path}: {key} has {n_inputs} inputs; expected conv5_3's {channels} "
                    f"channels times a square pool5 map, H*H*{channels} (VGG-Face: "
                    f"7*7*{channels} = {49 * channels})")
  return side


def _require(path: str | os.PathLike, kind: str, what: str) -> pathlib.Path:
  return common.require_file(path, f"VGG-Face weights file for kind {kind!r} ({what})", SOURCES)


# PyTorch: Albanie's pytorch-mcn port.

def read_dag(path: str | os.PathLike) -> Params:
  """Reads `vgg_face_dag.pth` (a state_dict; needs torch) into VGG16 params."""
  path = _require(path, "vgg_face_dag", "a PyTorch state_dict such as vgg_face_dag.pth")
  arrays = common.torch_state_dict(path, OTHER_FORMATS)

  def get(key: str, expected: tuple[common.Dim, ...], layout: str) -> np.ndarray:
    return common.check_shape(path, key, common.take(arrays, key, path, DAG_KEYS), expected,
                              layout)

  def bias(name: str, size: int) -> np.ndarray:
    key = f"{name}.bias"
    return common.check_bias(path, key, common.take(arrays, key, path, DAG_KEYS), size)

  def conv(name: str, channels: int) -> Layer:
    w = get(f"{name}.weight", ("out", channels, 3, 3), "Conv2d weight [out, in, kh, kw]")
    return _layer(w.transpose(2, 3, 1, 0), bias(name, w.shape[0]))

  def fc6(channels: int) -> Layer:
    w = get("fc6.weight", ("out", "in"), "Linear weight [out, in]")
    side = _pool5_side(path, "fc6.weight", w.shape[1], channels)
    # [out, C*H*W] (NCHW flatten) -> [H*W*C, out] (NHWC flatten).
    kernel = w.reshape(-1, channels, side, side).transpose(2, 3, 1, 0)
    return _layer(kernel.reshape(side * side * channels, -1), bias("fc6", w.shape[0]))

  def dense(name: str, features: int) -> Layer:
    w = get(f"{name}.weight", ("out", features), "Linear weight [out, in]")
    return _layer(w.T, bias(name, w.shape[0]))

  return _assemble(conv, fc6, dense, has_fc8="fc8.weight" in arrays)


# Keras: rcmalli's keras-vggface.

def read_keras(path: str | os.PathLike) -> Params:
  """Reads keras-vggface's `rcmalli_vggface_tf_vgg16.h5` into VGG16 params (RGB input)."""
  path = _require(path, "keras_vggface", "an HDF5 Keras save such as rcmalli_vggface_tf_vgg16.h5")
  try:
    with h5py.File(path, "r") as f:
      root = f.get("model_weights", f)
      params = _read_keras_root(path, root)
  except OSError as e:
    raise DataError(f"{path}: not a readable HDF5 file ({e}); kind 'keras_vggface' expects "
                    f"keras-vggface's rcmalli_vggface_tf_vgg16.h5") from None
  # keras-vggface is fed BGR; reorder conv1_1's input channels so RGB input works.
  params["conv1_1"]["kernel"] = np.ascontiguousarray(params["conv1_1"]["kernel"][:, :, ::-1, :])
  return params


def _read_keras_root(path: pathlib.Path, root: h5py.Group) -> Params:
  prefix = root.name.strip("/") + "/" if root.name != "/" else ""

  def get(name: str, expected: tuple[common.Dim, ...], layout: str) -> Layer:
    datasets = _keras_datasets(path, root, name, prefix)
    w = common.check_shape(path, datasets["kernel"][0], datasets["kernel"][1], expected, layout)
    b = common.check_bias(path, datasets["bias"][0], datasets["bias"][1], w.shape[-1])
    return _layer(w, b)

  def conv(name: str, channels: int) -> Layer:
    return get(name, (3, 3, channels, "out"), "Conv2D kernel [kh, kw, in, out]")

  def fc6(channels: int) -> Layer:
    layer = get("fc6", ("in", "out"), "Dense kernel [in, out], NHWC flatten")
    _pool5_side(path, f"{prefix}fc6 kernel", layer["kernel"].shape[0], channels)
    return layer

  def dense(name: str, features: int) -> Layer:
    return get(name, (features, "out"), "Dense kernel [in, out]")

  return _assemble(conv, fc6, dense, has_fc8="fc8" in root)


def _keras_datasets(path: pathlib.Path, root: h5py.Group, name: str,
                    prefix: str) -> dict[str, tuple[str, np.ndarray]]:
  """`{'kernel': (h5 path, array), 'bias': ...}` of layer `name`, searched below its group."""
  if name not in root:
    layers = sorted(k for k in root if isinstance(root[k], h5py.Group))
    hint = " (the 'notop' file has no fc layers)" if name in ("fc6", "fc7") else ""
    raise DataError(f"{path}: layer {name!r} is missing{hint}; expected group "
                    f"'{prefix}{name}/{name}/kernel:0' of the {KERAS_LAYERS}; groups found: "
                    f"{layers}")
  found: dict[str, tuple[str, np.ndarray]] = {}

  def visit(item_name: str, item: Any) -> None:
    part = item_name.rsplit("/", 1)[-1].split(":")[0]
    if isinstance(item, h5py.Dataset) and part in ("kernel", "bias"):
      found.setdefault(part, (item.name.lstrip("/"), item[()]))

  root[name].visititems(visit)
  for part in ("kernel", "bias"):
    if part not in found:
      raise DataError(f"{path}: layer {name!r} has no {part} dataset; expected "
                      f"'{prefix}{name}/{name}/{part}:0'")
  return found


# MatConvNet: the Oxford VGG group's SimpleNN model.

def read_mat(path: str | os.PathLike) -> Params:
  """Reads MatConvNet `vgg-face.mat` (SimpleNN, MATLAB v5/v7 file) into VGG16 params."""
  path = _require(path, "vgg_face_mat", "a MatConvNet SimpleNN model such as vgg-face.mat")
  try:
    mat = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=False)
  except MAT_READ_ERRORS as e:
    raise DataError(f"{path}: scipy.io.loadmat cannot read it ({e}); expected a MATLAB v5/v7 "
                    f"file such as vgg-face.mat (re-save a v7.3 file with save(..., '-v7'))"
                    ) from None
  layers = _mat_layers(path, mat)

  def weights(name: str) -> tuple[str, np.ndarray, np.ndarray]:
    if name not in layers:
      raise DataError(f"{path}: layer {name!r} is missing; expected {MAT_LAYERS}; layers "
                      f"with weights found: {sorted(layers)}")
    return (f"layer {name!r} W", *layers[name])

  def get(name: str, expected: tuple[common.Dim, ...]) -> Layer:
    key, w, b = weights(name)
    w = common.check_shape(path, key, w, expected, "MatConvNet conv W [kh, kw, in, out]")
    return _layer(w, common.check_bias(path, f"layer {name!r} b", b, w.shape[-1]))

  def conv(name: str, channels: int) -> Layer:
    return get(name, (3, 3, channels, "out"))

  def fc6(channels: int) -> Layer:
    layer = get("fc6", ("H", "H", channels, "out"))
    kernel = layer["kernel"]
    # A valid HxH convolution over pool5 = a dense layer over its NHWC flatten.
    return _layer(kernel.reshape(-1, kernel.shape[-1]), layer["bias"])

  def dense(name: str, features: int) -> Layer:
    layer = get(name, (1, 1, features, "out"))
    return _layer(layer["kernel"][0, 0], layer["bias"])

  return _assemble(conv, fc6, dense, has_fc8="fc8" in layers)


def _mat_layers(path: pathlib.Path, mat: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
  """`{name: (W, b)}` of the layers that carry weights, from `layers` or `net.layers`."""
  layers = mat.get("layers")
  if layers is None and "net" in mat:
    layers = getattr(_unwrap(mat["net"]), "layers", None)
  if layers is None:
    fields = sorted(k for k in mat if not k.startswith("__"))
    raise DataError(f"{path}: no 'layers' at top level or in 'net' (found {fields}); expected "
                    f"a MatConvNet SimpleNN model such as vgg-face.mat")
  found = {}
  for item in np.asarray(layers, dtype=object).flat:
    layer = _unwrap(item)
    pair = _mat_weights(layer)
    if pair is not None:
      found[_text(getattr(layer, "name", ""))] = pair
  return found


def _mat_weights(layer: Any) -> tuple[Any, Any] | None:
  """(W, b) of a layer struct (`weights = {W, b}` or `filters`, `biases`), or None."""
  if hasattr(layer, "weights"):
    cell = [_unwrap(x) for x in np.asarray(layer.weights, dtype=object).flat]
    return (cell[0], cell[1]) if len(cell) == 2 else None
  if hasattr(layer, "filters") and hasattr(layer, "biases"):
    return _unwrap(layer.filters), _unwrap(layer.biases)
  return None


def _unwrap(x: Any) -> Any:
  """The element of a 1x1 MATLAB cell or struct array (loaded as a size-1 object array)."""
  while isinstance(x, np.ndarray) and x.dtype == object and x.size == 1:
    x = x.flat[0]
  return x


def _text(x: Any) -> str:
  """A MATLAB char array (loaded as a 1-element str array) as a str."""
  values = np.asarray(x).ravel()
  return str(values[0]) if values.size == 1 else ""
