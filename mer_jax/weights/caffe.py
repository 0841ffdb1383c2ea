"""Caffe `.caffemodel` files read and written without Caffe.

A caffemodel is a binary `caffe.NetParameter` protobuf. Only the part that
carries weights is declared here, with BVLC caffe.proto's field numbers;
the parser skips every other field:

    NetParameter      name = 1, layers = 2 (V1LayerParameter, legacy), layer = 100
    LayerParameter    name = 1, type = 2 (string), blobs = 7, batch_norm_param = 139
    V1LayerParameter  name = 4, type = 5 (LayerType enum, read as an int), blobs = 6
    BlobProto         num = 1, channels = 2, height = 3, width = 4 (legacy 4-D shape),
                      data = 5 (packed float), shape = 7, double_data = 8 (packed double)
    BlobShape         dim = 1 (packed int64)
    BatchNormParameter eps = 3 (default 1e-5)

`read_caffemodel` returns `{layer name: CaffeLayer}` with each blob reshaped
to its shape (`shape.dim`, else the legacy `[num, channels, height, width]`).
`write_caffemodel` writes the same schema (new-style `layer` entries), for
tests and for converting weights from other frameworks.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Iterable, Mapping

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from mer_jax.errors import DataError
from mer_jax.weights import common

_PACKAGE = "mer_jax_caffe"
_F = descriptor_pb2.FieldDescriptorProto
# (message, [(field, number, type, label, message type or None, packed)]).
_SCHEMA = (
    ("BlobShape", [("dim", 1, _F.TYPE_INT64, _F.LABEL_REPEATED, None, True)]),
    ("BlobProto", [
        ("num", 1, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None, False),
        ("channels", 2, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None, False),
        ("height", 3, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None, False),
        ("width", 4, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None, False),
        ("data", 5, _F.TYPE_FLOAT, _F.LABEL_REPEATED, None, True),
        ("shape", 7, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, "BlobShape", False),
        ("double_data", 8, _F.TYPE_DOUBLE, _F.LABEL_REPEATED, None, True)]),
    ("BatchNormParameter", [("eps", 3, _F.TYPE_FLOAT, _F.LABEL_OPTIONAL, None, False)]),
    ("LayerParameter", [
        ("name", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None, False),
        ("type", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None, False),
        ("blobs", 7, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "BlobProto", False),
        ("batch_norm_param", 139, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, "BatchNormParameter",
         False)]),
    ("V1LayerParameter", [
        ("name", 4, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None, False),
        ("type", 5, _F.TYPE_INT32, _F.LABEL_OPTIONAL, None, False),
        ("blobs", 6, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "BlobProto", False)]),
    ("NetParameter", [
        ("name", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None, False),
        ("layers", 2, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "V1LayerParameter", False),
        ("layer", 100, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "LayerParameter", False)]),
)
CAFFE_BN_EPSILON = 1e-5   # BatchNormParameter.eps default
# V1LayerParameter.LayerType numbers of layers with weights (and a few common
# others) -> the type strings Caffe's V1 upgrade gives them.
V1_TYPES = {3: "Concat", 4: "Convolution", 5: "Data", 6: "Dropout", 14: "InnerProduct",
            15: "LRN", 17: "Pooling", 18: "ReLU", 20: "Softmax", 21: "SoftmaxWithLoss",
            25: "Eltwise", 39: "Deconvolution"}


@dataclasses.dataclass
class CaffeLayer:
  """One layer of a caffemodel.

  Attributes:
    type: Caffe's type string ('Convolution', 'BatchNorm', 'Scale', 'InnerProduct',
      ...); V1 layers get the string of their enum (`V1_TYPES`), else 'V1:<number>'.
    blobs: the weights, float32, each in its stored shape.
    batch_norm_eps: `batch_norm_param.eps` of a BatchNorm layer (None for other types).
  """

  type: str
  blobs: list[np.ndarray]
  batch_norm_eps: float | None = None


def _build_net_class() -> type[message.Message]:
  """The NetParameter message class of the schema above, in a private descriptor pool."""
  proto = descriptor_pb2.FileDescriptorProto(name="mer_jax_caffe.proto", package=_PACKAGE,
                                             syntax="proto2")
  for name, fields in _SCHEMA:
    msg = proto.message_type.add(name=name)
    for field, number, kind, label, type_name, packed in fields:
      f = msg.field.add(name=field, number=number, type=kind, label=label)
      if type_name:
        f.type_name = f".{_PACKAGE}.{type_name}"
      if packed:
        f.options.packed = True
      if field == "eps":
        f.default_value = str(CAFFE_BN_EPSILON)
  pool = descriptor_pool.DescriptorPool()
  pool.Add(proto)
  descriptor = pool.FindMessageTypeByName(f"{_PACKAGE}.NetParameter")
  if hasattr(message_factory, "GetMessageClass"):      # protobuf >= 4.22
    return message_factory.GetMessageClass(descriptor)
  return message_factory.MessageFactory(pool).GetPrototype(descriptor)


NetParameter = _build_net_class()


def read_caffemodel(path: str | os.PathLike) -> dict[str, CaffeLayer]:
  """Reads the layers of a binary `.caffemodel` (layers without weights included).

  Raises:
    DataError: the file is missing, is not a binary NetParameter, holds no
      layers, or has a blob whose data does not fill its shape.
  """
  path = common.require_file(path, "Caffe model", "pass the binary .caffemodel file")
  net = NetParameter()
  try:
    net.ParseFromString(path.read_bytes())
  except (message.DecodeError, RuntimeError, ValueError) as e:
    raise DataError(f"{path}: not a Caffe .caffemodel (binary NetParameter protobuf): {e}; "
                    f"a .prototxt is the text network definition, not the weights") from None
  if not net.layer and not net.layers:
    raise DataError(f"{path}: no layers (NetParameter fields 'layer' = 100 and 'layers' = 2 "
                    f"are empty); expected a binary Caffe .caffemodel with weights")
  layers = {}
  for v1 in net.layers:
    layers[v1.name] = CaffeLayer(V1_TYPES.get(v1.type, f"V1:{v1.type}"),
                                 [_blob_array(path, v1.name, i, b) for i, b in enumerate(v1.blobs)])
  for layer in net.layer:
    eps = layer.batch_norm_param.eps if layer.type == "BatchNorm" else None
    layers[layer.name] = CaffeLayer(
        layer.type, [_blob_array(path, layer.name, i, b) for i, b in enumerate(layer.blobs)], eps)
  return layers


def _blob_array(path: pathlib.Path, layer: str, index: int, blob: message.Message) -> np.ndarray:
  """A BlobProto's values, float32, in its shape (`shape.dim` or the legacy 4-D one)."""
  values = np.asarray(blob.data if len(blob.data) else blob.double_data, np.float32)
  if blob.HasField("shape"):
    shape = tuple(int(d) for d in blob.shape.dim)
  elif any(blob.HasField(f) for f in ("num", "channels", "height", "width")):
    shape = (blob.num, blob.channels, blob.height, blob.width)
  else:
    shape = (values.size,)
  if values.size != int(np.prod(shape)):
    raise DataError(f"{path}: layer {layer!r} blob {index} has {values.size} values for shape "
                    f"{list(shape)}; the file is truncated or not a caffemodel")
  return values.reshape(shape)


def write_caffemodel(path: str | os.PathLike,
                     layers: Mapping[str, CaffeLayer] | Iterable[tuple[str, CaffeLayer]]) -> None:
  """Writes `{name: CaffeLayer}` (or (name, layer) pairs, in order) as a binary caffemodel.

  Each blob is stored as float data with its shape in `shape.dim`; BatchNorm
  layers with `batch_norm_eps` set get `batch_norm_param.eps`.
  """
  net = NetParameter()
  items = layers.items() if isinstance(layers, Mapping) else layers
  for name, layer in items:
    entry = net.layer.add(name=name, type=layer.type)
    if layer.batch_norm_eps is not None:
      entry.batch_norm_param.eps = layer.batch_norm_eps
    for array in layer.blobs:
      array = np.asarray(array, np.float32)
      blob = entry.blobs.add()
      blob.shape.SetInParent()            # a scalar blob still gets its (empty) shape
      blob.shape.dim.extend(array.shape)
      blob.data.extend(array.ravel().tolist())
  pathlib.Path(path).write_bytes(net.SerializeToString())
