"""Pretrained layers placed into a fresh model: where, what is skipped, clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mer_jax import models, weights
from mer_jax.errors import ConfigError
from mer_jax.models import vgg
from mer_jax.train import fold_fns, pretrained, sharding

TINY_CNN = dict(widths=(4, 4, 8, 8, 8), fc_features=16)
STREAMS = ("stream_flow", "stream_strain", "stream_gray")


def te_model():
  return models.get("elrcn_te", num_classes=3, cnn=TINY_CNN, lstm_features=(6,))


def imported_vgg(num_classes=7):
  """Params of a tiny VGG16 (with an fc8 of `num_classes`), as an importer returns them."""
  model = vgg.VGG16(num_classes=num_classes, **TINY_CNN)
  params = model.init(jax.random.key(42), jnp.zeros((1, 32, 32, 3)))["params"]
  return jax.tree.map(np.asarray, params)


def test_place_copies_into_every_stream_and_skips_fc8():
  x = jnp.zeros((1, 2, 32, 32, 5))
  params = te_model().init(jax.random.key(0), x)["params"]
  source = imported_vgg()
  placed = pretrained.place(params, source, STREAMS)
  for stream in STREAMS:
    for layer in vgg.conv_names() + ["fc6", "fc7"]:
      np.testing.assert_array_equal(placed[stream][layer]["kernel"], source[layer]["kernel"])
    assert "fc8" not in placed[stream]
  jax.tree.map(np.testing.assert_array_equal, placed["head"], params["head"])


def test_place_names_a_mismatched_layer_and_an_unknown_path():
  x = jnp.zeros((1, 2, 32, 32, 5))
  params = te_model().init(jax.random.key(0), x)["params"]
  wide = vgg.VGG16(widths=(8, 4, 8, 8, 8), fc_features=16).init(
      jax.random.key(1), jnp.zeros((1, 32, 32, 3)))["params"]
  with pytest.raises(ConfigError, match="conv1_1/kernel has shape"):
    pretrained.place(params, wide, STREAMS)
  with pytest.raises(ConfigError, match="no 'stream_depth'"):
    pretrained.place(params, imported_vgg(), ("stream_depth",))


def test_empty_kind_means_no_import_and_into_is_required():
  assert pretrained.load({"kind": "", "path": ""}) is None
  with pytest.raises(ConfigError, match="into is empty"):
    pretrained.load({"kind": "vgg_face_dag", "path": "x.pth", "into": ()})
  with pytest.raises(ConfigError, match="path is empty.*where to get them"):
    pretrained.load({"kind": "vgg_face_dag", "path": "", "into": STREAMS})


def test_every_fold_starts_from_the_imported_file(tmp_path, write_vgg_face_dag):
  source = imported_vgg()
  path = write_vgg_face_dag(source, tmp_path / "tiny_vgg_face_dag.pth")
  cfg = {"kind": "vgg_face_dag", "path": str(path), "into": STREAMS, "skip": ("fc8",)}
  imported = pretrained.load(cfg)
  model = te_model()
  data = {"inputs": {"frames": np.zeros((4, 2, 32, 32, 5), np.float32)},
          "label": np.zeros(4, np.int32)}
  pretrained.check(model, jnp.zeros((1, 2, 32, 32, 5)), imported, cfg)
  fns = fold_fns.make_fold_fns(model, optax.sgd(0.1), sharding.make_mesh(2), data,
                               batch_size=2, steps_per_epoch=1, eval_chunk=2,
                               start=fold_fns.StartWeights(imported, STREAMS, ("fc8",)))
  states = fns.init(fns.put(jax.random.split(jax.random.key(0), 2)))
  for stream in STREAMS:
    got = np.asarray(states.params[stream]["fc6"]["kernel"])      # [F, in, out]
    np.testing.assert_allclose(got[0], source["fc6"]["kernel"], rtol=0, atol=0)
    np.testing.assert_allclose(got[1], source["fc6"]["kernel"], rtol=0, atol=0)
  head = np.asarray(states.params["head"]["fc"]["kernel"])
  assert not np.allclose(head[0], head[1])  # The rest is a fresh init per fold.
  assert weights.load("vgg_face_dag", path)["params"].keys() == source.keys()
  assert "fc8" not in imported["params"]  # Skipped layers are not sent to the devices.
