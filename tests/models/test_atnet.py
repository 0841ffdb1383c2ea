"""ATNet (models/atnet.py): streams, L2-normalised fusion, wiring against its parts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax import models
from mer_jax.errors import ConfigError
from mer_jax.models import atnet, lstm, resnet


def _inputs(batch=2, size=32, steps=5, dims=8, seed=0):
  rng = np.random.default_rng(seed)
  return {"apex": rng.integers(0, 256, (batch, size, size, 1), dtype=np.uint8),
          "adm": rng.normal(size=(batch, steps, dims)).astype(np.float32)}


def _model(stream, **kw):
  return models.get("atnet", num_classes=3, stream=stream, lstm_features=(6, 5), **kw)


@pytest.mark.parametrize("stream, parts", [("spatial", {"spatial"}), ("temporal", {"temporal"}),
                                           ("fusion", {"spatial", "temporal"})])
def test_each_stream_has_its_parts_and_unit_features(stream, parts):
  x = _inputs()
  variables = _model(stream).init(jax.random.key(0), x)
  assert set(variables["params"]) == parts | {"classifier"}
  assert ("batch_stats" in variables) == ("spatial" in parts)
  logits, aux = _model(stream).apply(variables, x)
  assert logits.shape == (2, 3) and set(aux) == parts
  for feature in aux.values():
    np.testing.assert_allclose(np.linalg.norm(np.asarray(feature), axis=-1), 1.0, rtol=1e-5)
  width = 512 * ("spatial" in parts) + 5 * ("temporal" in parts)
  assert variables["params"]["classifier"]["kernel"].shape == (width, 3)


def test_fusion_is_the_classifier_on_the_concatenated_normalised_stream_features():
  x = _inputs(seed=1)
  model = _model("fusion")
  v = model.init(jax.random.key(1), x)
  logits, _ = model.apply(v, x)
  net = resnet.ResNet10Cvgj(num_classes=None)
  feature, _ = net.apply({"params": v["params"]["spatial"],
                          "batch_stats": v["batch_stats"]["spatial"]},
                         jnp.asarray(x["apex"], jnp.float32))
  h = lstm.StackedLSTM((6, 5)).apply({"params": v["params"]["temporal"]}, x["adm"])
  unit = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
  z = np.concatenate([unit(np.asarray(feature)), unit(np.asarray(h).mean(axis=1))], -1)
  head = v["params"]["classifier"]
  np.testing.assert_allclose(logits, z @ np.asarray(head["kernel"]) + np.asarray(head["bias"]),
                             rtol=1e-5, atol=1e-6)


def test_dropout_acts_in_training_only():
  x = _inputs(seed=2)
  model = _model("temporal", dropout_rate=0.5)
  v = model.init(jax.random.key(0), x)
  a, _ = model.apply(v, x, train=True, rngs={"dropout": jax.random.key(1)})
  b, _ = model.apply(v, x, train=True, rngs={"dropout": jax.random.key(2)})
  c, _ = model.apply(v, x)
  d, _ = model.apply(v, x)
  assert not np.allclose(a, b)
  np.testing.assert_array_equal(c, d)


def test_spatial_classifier_shares_the_backbone_layout_with_atnet():
  x = _inputs()
  pre = atnet.SpatialClassifier(num_classes=4).init(jax.random.key(0), x)
  net = _model("fusion").init(jax.random.key(0), x)
  backbone = set(pre["params"]["spatial"]) - set(net["params"]["spatial"])
  assert backbone == {"score"}  # Only its own classifier is extra.
  assert set(pre["batch_stats"]["spatial"]) == set(net["batch_stats"]["spatial"])


def test_resnet18_backbone_standardises_the_grey_input():
  x = _inputs(size=32)
  model = _model("spatial", backbone="resnet18")
  v = model.init(jax.random.key(0), x)
  assert "layer4_1" in v["params"]["spatial"]
  assert np.isfinite(np.asarray(model.apply(v, x)[0])).all()


@pytest.mark.parametrize("kw, x, message", [
    ({"stream": "both"}, _inputs(), "stream='both'"),
    ({"backbone": "vgg"}, _inputs(), "backbone='vgg'"),
    ({}, {"apex": _inputs()["apex"]}, r"needs the stored inputs \['adm'\]"),
    ({}, np.zeros((2, 8, 8, 1)), "single array"),
])
def test_bad_configuration_or_input_is_a_config_error(kw, x, message):
  kw = {"stream": "fusion", **kw}
  with pytest.raises(ConfigError, match=message):
    models.get("atnet", num_classes=3, **kw).init(jax.random.key(0), x)
