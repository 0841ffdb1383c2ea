"""StackedLSTM and the ELRCN temporal-only model against an independent numpy LSTM."""

import jax
import jax.numpy as jnp
import numpy as np

from mer_jax import models
from mer_jax.models.lstm import StackedLSTM


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm(params, x):
  """The textbook LSTM (Hochreiter & Schmidhuber; Gers et al. forget gate), batch-major."""
  b, t, _ = x.shape
  units = params["hi"]["kernel"].shape[0]
  h, c, out = np.zeros((b, units)), np.zeros((b, units)), []
  gate = lambda g, xt, h: xt @ params["i" + g]["kernel"] + h @ params["h" + g]["kernel"] + \
      params["h" + g]["bias"]
  for step in range(t):
    xt = x[:, step]
    i, f = sigmoid(gate("i", xt, h)), sigmoid(gate("f", xt, h))
    g, o = np.tanh(gate("g", xt, h)), sigmoid(gate("o", xt, h))
    c = f * c + i * g
    h = o * np.tanh(c)
    out.append(h)
  return np.stack(out, axis=1)


def test_stacked_lstm_matches_numpy_reference():
  x = np.random.default_rng(0).normal(size=(2, 5, 7)).astype(np.float32)
  model = StackedLSTM((6, 4))
  variables = model.init(jax.random.key(1), x)
  got = np.asarray(model.apply(variables, x))
  p = jax.tree.map(np.asarray, variables["params"])
  want = numpy_lstm(p["cell_1"], numpy_lstm(p["cell_0"], x))
  assert got.shape == (2, 5, 4)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_temporal_only_uses_last_step_of_flattened_pixels():
  model = models.get("elrcn_temporal_only", num_classes=3, lstm_features=(8, 5))
  x = jax.random.uniform(jax.random.key(0), (2, 4, 6, 6, 1))
  variables = model.init(jax.random.key(1), x)
  logits, aux = model.apply(variables, x)
  assert logits.shape == (2, 3)
  assert variables["params"]["temporal"]["cell_0"]["ii"]["kernel"].shape == (36, 8)
  # Logits are the FC of the last LSTM step: recompute them from the features.
  fc = variables["params"]["fc"]
  np.testing.assert_allclose(logits, aux["features"] @ fc["kernel"] + fc["bias"], rtol=1e-5,
                             atol=1e-6)
  # Changing the last frame changes the prediction: the model is sequential.
  x2 = x.at[:, -1].set(0.0)
  assert not jnp.allclose(model.apply(variables, x2)[0], logits)


def test_paper_size_parameter_count():
  """2500 pixels into LSTM(3000) and LSTM(1024), then FC to 5 classes (Khor et al. Fig. 6)."""
  model = models.get("elrcn_temporal_only", num_classes=5, lstm_features=(3000, 1024))
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 10, 50, 50, 1)))
  n = sum(np.prod(s.shape) for s in jax.tree.leaves(shapes))
  lstm = lambda d, u: 4 * (d * u + u * u + u)
  assert n == lstm(2500, 3000) + lstm(3000, 1024) + 1024 * 5 + 5


def test_unknown_model_name_is_a_config_error():
  import pytest
  from mer_jax.errors import ConfigError
  with pytest.raises(ConfigError, match="not a model"):
    models.get("vgg99", num_classes=3)
  with pytest.raises(ConfigError, match="does not fit"):
    models.get("elrcn_temporal_only", num_classes=3, bogus=1)
