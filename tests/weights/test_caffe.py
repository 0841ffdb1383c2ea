"""The caffemodel reader and writer against protobuf bytes encoded and decoded by hand.

The wire format is written here from first principles (varint keys
`field << 3 | wire type`, length-delimited messages, packed repeated
fields) with BVLC caffe.proto's field numbers, so the schema in
`mer_jax.weights.caffe` is checked independently of its own writer.
"""

import struct

import numpy as np
import pytest

from mer_jax.errors import DataError
from mer_jax.weights import caffe

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


# A minimal protobuf wire encoder / decoder.

def varint(n):
  out = bytearray()
  while True:
    byte, n = n & 0x7F, n >> 7
    out.append(byte | (0x80 if n else 0))
    if not n:
      return bytes(out)


def field(number, wire_type, payload):
  """One field: key, then the payload (length-prefixed for BYTES)."""
  key = varint(number << 3 | wire_type)
  if wire_type == BYTES:
    return key + varint(len(payload)) + payload
  return key + payload


def text(number, s):
  return field(number, BYTES, s.encode())


def packed_floats(number, values):
  return field(number, BYTES, struct.pack(f"<{len(values)}f", *values))


def packed_doubles(number, values):
  return field(number, BYTES, struct.pack(f"<{len(values)}d", *values))


def packed_varints(number, values):
  return field(number, BYTES, b"".join(varint(v) for v in values))


def decode(data):
  """[(field number, wire type, value)]: ints for varints, bytes for the others."""
  out, i = [], 0
  while i < len(data):
    key, i = read_varint(data, i)
    number, wire_type = key >> 3, key & 7
    if wire_type == VARINT:
      value, i = read_varint(data, i)
    elif wire_type == BYTES:
      size, i = read_varint(data, i)
      value, i = data[i:i + size], i + size
    else:
      size = 8 if wire_type == FIXED64 else 4
      value, i = data[i:i + size], i + size
    out.append((number, wire_type, value))
  return out


def read_varint(data, i):
  value, shift = 0, 0
  while True:
    byte = data[i]
    value |= (byte & 0x7F) << shift
    i, shift = i + 1, shift + 7
    if not byte & 0x80:
      return value, i


# caffe.proto: NetParameter.layer = 100, .layers = 2; LayerParameter name 1, type 2,
# bottom 3, top 4, param 6, blobs 7, convolution_param 106, batch_norm_param 139;
# V1LayerParameter name 4, type 5 (CONVOLUTION = 4), blobs 6; BlobProto num 1,
# channels 2, height 3, width 4, data 5, shape 7, double_data 8; BlobShape dim 1.

def blob_with_shape(shape, values):
  return packed_floats(5, values) + field(7, BYTES, packed_varints(1, shape))


def hand_encoded_net():
  conv_weight = np.arange(12, dtype=np.float32).reshape(2, 3, 2, 1) / 4
  conv = (text(1, "conv1") + text(2, "Convolution") + text(3, "data") + text(4, "conv1")
          + field(6, BYTES, field(3, FIXED32, struct.pack("<f", 1.0)))      # param {lr_mult}
          + field(7, BYTES, blob_with_shape([2, 3, 2, 1], conv_weight.ravel()))
          + field(7, BYTES, blob_with_shape([2], [0.5, -1.5]))
          + field(106, BYTES, field(1, VARINT, varint(2))))                # num_output: 2
  bn = (text(1, "conv1_bn") + text(2, "BatchNorm")
        + field(7, BYTES, blob_with_shape([2], [3.0, 4.0]))
        + field(7, BYTES, packed_doubles(8, [5.0, 6.0]) + field(7, BYTES, packed_varints(1, [2])))
        + field(7, BYTES, blob_with_shape([1], [2.0]))
        + field(139, BYTES, field(3, FIXED32, struct.pack("<f", 1e-3))))
  relu = text(1, "conv1_relu") + text(2, "ReLU") + text(3, "conv1") + text(4, "conv1")
  # A V1 layer with legacy 4-D blob dims (num, channels, height, width).
  fc = (text(4, "fc") + field(5, VARINT, varint(14))
        + field(6, BYTES, field(1, VARINT, varint(1)) + field(2, VARINT, varint(1))
                + field(3, VARINT, varint(2)) + field(4, VARINT, varint(3))
                + packed_floats(5, [1, 2, 3, 4, 5, 6])))
  old_conv = text(4, "old_conv") + field(5, VARINT, varint(4))
  net = (text(1, "tiny") + field(2, BYTES, fc) + field(2, BYTES, old_conv)
         + field(100, BYTES, conv) + field(100, BYTES, bn) + field(100, BYTES, relu))
  return net, conv_weight


def test_reads_hand_encoded_bytes(tmp_path):
  data, conv_weight = hand_encoded_net()
  (tmp_path / "tiny.caffemodel").write_bytes(data)
  layers = caffe.read_caffemodel(tmp_path / "tiny.caffemodel")
  assert set(layers) == {"fc", "old_conv", "conv1", "conv1_bn", "conv1_relu"}
  conv = layers["conv1"]
  assert conv.type == "Convolution" and conv.batch_norm_eps is None
  np.testing.assert_array_equal(conv.blobs[0], conv_weight)
  np.testing.assert_array_equal(conv.blobs[1], [0.5, -1.5])
  bn = layers["conv1_bn"]
  assert bn.type == "BatchNorm" and bn.batch_norm_eps == pytest.approx(1e-3)
  np.testing.assert_array_equal(bn.blobs[1], [5.0, 6.0])      # double_data
  assert [b.shape for b in bn.blobs] == [(2,), (2,), (1,)]
  assert layers["conv1_relu"].type == "ReLU" and layers["conv1_relu"].blobs == []
  fc = layers["fc"]                                           # V1, legacy dims
  assert fc.type == "InnerProduct" and fc.blobs[0].shape == (1, 1, 2, 3)
  np.testing.assert_array_equal(fc.blobs[0].ravel(), [1, 2, 3, 4, 5, 6])
  assert layers["old_conv"].type == "Convolution" and layers["old_conv"].blobs == []


def test_batch_norm_eps_defaults_to_caffes(tmp_path):
  bn = text(1, "bn") + text(2, "BatchNorm") + field(7, BYTES, blob_with_shape([1], [1.0]))
  (tmp_path / "m.caffemodel").write_bytes(field(100, BYTES, bn))
  assert caffe.read_caffemodel(tmp_path / "m.caffemodel")["bn"].batch_norm_eps == (
      pytest.approx(1e-5))


def test_writer_uses_caffe_field_numbers(tmp_path):
  weight = np.arange(6, dtype=np.float32).reshape(3, 2)
  caffe.write_caffemodel(tmp_path / "w.caffemodel", {
      "score": caffe.CaffeLayer("InnerProduct", [weight, np.zeros(3)]),
      "bn": caffe.CaffeLayer("BatchNorm", [np.ones(1)], batch_norm_eps=1e-5)})
  net = decode((tmp_path / "w.caffemodel").read_bytes())
  assert [(n, t) for n, t, _ in net] == [(100, BYTES), (100, BYTES)]
  score = decode(net[0][2])
  assert score[:2] == [(1, BYTES, b"score"), (2, BYTES, b"InnerProduct")]
  blob = dict((n, v) for n, _, v in decode(score[2][2]))
  assert score[2][0] == 7
  assert decode(blob[7]) == [(1, BYTES, varint(3) + varint(2))]          # shape.dim, packed
  assert struct.unpack("<6f", blob[5]) == tuple(weight.ravel())          # data, packed float
  eps = [v for n, _, v in decode(net[1][2]) if n == 139]
  assert decode(eps[0])[0][:2] == (3, FIXED32)


def test_round_trip_keeps_names_order_types_shapes_and_values(tmp_path):
  rng = np.random.default_rng(0)
  layers = {
      "data_bn": caffe.CaffeLayer("BatchNorm", [rng.normal(size=3), rng.uniform(1, 2, 3),
                                                np.array([999.0])], batch_norm_eps=1e-5),
      "conv1": caffe.CaffeLayer("Convolution", [rng.normal(size=(4, 3, 7, 7)),
                                                rng.normal(size=4)]),
      "conv1_relu": caffe.CaffeLayer("ReLU", []),
      "scalar": caffe.CaffeLayer("Parameter", [np.array(2.5)]),
  }
  caffe.write_caffemodel(tmp_path / "r.caffemodel", list(layers.items()))
  back = caffe.read_caffemodel(tmp_path / "r.caffemodel")
  assert list(back) == list(layers)
  for name, layer in layers.items():
    assert back[name].type == layer.type
    assert len(back[name].blobs) == len(layer.blobs)
    for got, want in zip(back[name].blobs, layer.blobs):
      assert got.dtype == np.float32 and got.shape == np.shape(want)
      np.testing.assert_array_equal(got, np.float32(want))
  assert back["data_bn"].batch_norm_eps == pytest.approx(1e-5)


def test_text_prototxt_is_not_a_caffemodel(tmp_path):
  path = tmp_path / "deploy.prototxt"
  path.write_text('name: ""\nlayer {\n  name: "data"\n  type: "Input"\n}\n')
  with pytest.raises(DataError, match="deploy.prototxt: not a Caffe .caffemodel"):
    caffe.read_caffemodel(path)


def test_file_without_layers_is_refused(tmp_path):
  path = tmp_path / "empty.caffemodel"
  path.write_bytes(text(1, "only a name"))
  with pytest.raises(DataError, match="empty.caffemodel: no layers"):
    caffe.read_caffemodel(path)


def test_missing_file_is_a_data_error(tmp_path):
  with pytest.raises(DataError, match="nowhere.caffemodel.*does not exist"):
    caffe.read_caffemodel(tmp_path / "nowhere.caffemodel")


def test_blob_whose_data_does_not_fill_its_shape_names_the_layer(tmp_path):
  layer = text(1, "conv9") + text(2, "Convolution") + field(7, BYTES,
                                                           blob_with_shape([2, 2], [1, 2, 3]))
  (tmp_path / "t.caffemodel").write_bytes(field(100, BYTES, layer))
  with pytest.raises(DataError, match=r"t.caffemodel: layer 'conv9' blob 0 has 3 values for "
                                      r"shape \[2, 2\]"):
    caffe.read_caffemodel(tmp_path / "t.caffemodel")
