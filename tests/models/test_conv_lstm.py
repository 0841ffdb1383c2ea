"""Peephole ConvLSTM cell against eq. 1-5 in numpy; the 2-1-2 auto-encoder's unrolling."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.models import conv_lstm


def normal(shape, seed, scale=1.0):
  return scale * np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def conv_same(x, kernel):
  """'SAME' cross-correlation of one map `x` [H, W, C] with `kernel` [kh, kw, C, O], by loops."""
  kh, kw = kernel.shape[:2]
  padded = np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
  out = np.zeros(x.shape[:2] + kernel.shape[-1:], np.float64)
  for row in range(x.shape[0]):
    for col in range(x.shape[1]):
      for dy in range(kh):
        for dx in range(kw):
          out[row, col] += padded[row + dy, col + dx] @ kernel[dy, dx]
  return out


def sigmoid(z):
  return 1.0 / (1.0 + np.exp(-z))


def numpy_step(params, c_prev, h_prev, x):
  """Eq. 1-5 of Islam et al. for one example, float64 numpy."""
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  features = c_prev.shape[-1]
  wx, wh = p["input_conv"]["kernel"], p["hidden_conv"]["kernel"]
  b = p["input_conv"]["bias"]
  part = lambda w, g: w[..., g * features:(g + 1) * features]   # noqa: E731  gates i, f, c, o
  pre = lambda g: conv_same(x, part(wx, g)) + conv_same(h_prev, part(wh, g)) + part(b, g)  # noqa
  i = sigmoid(pre(0) + p["peephole_i"] * c_prev)
  f = sigmoid(pre(1) + p["peephole_f"] * c_prev)
  c = f * c_prev + i * np.tanh(pre(2))
  o = sigmoid(pre(3) + p["peephole_o"] * c)
  return c, o * np.tanh(c)


def randomize(params, seed):
  """Non-zero values for every parameter (the peepholes and the bias start at zero)."""
  leaves, tree = jax.tree.flatten(params)
  return jax.tree.unflatten(tree, [normal(a.shape, seed + k, 0.5) for k, a in enumerate(leaves)])


def test_one_step_matches_numpy_equations_1_to_5():
  cell = conv_lstm.PeepholeConvLSTMCell(features=3)
  x = normal((1, 5, 5, 2), seed=0)
  c_prev, h_prev = normal((1, 5, 5, 3), seed=1), normal((1, 5, 5, 3), seed=2, scale=0.5)
  params = jax.eval_shape(lambda: cell.init(jax.random.key(0), (c_prev, h_prev), x))["params"]
  shapes = jax.tree.map(lambda a: a.shape, params)
  assert shapes == {"input_conv": {"kernel": (3, 3, 2, 12), "bias": (12,)},
                    "hidden_conv": {"kernel": (3, 3, 3, 12)},
                    "peephole_i": (5, 5, 3), "peephole_f": (5, 5, 3), "peephole_o": (5, 5, 3)}
  params = randomize(params, seed=10)
  step = jax.jit(lambda params: cell.apply({"params": params}, (c_prev, h_prev), x))
  (c, h), out = step(params)
  want_c, want_h = numpy_step(params, c_prev[0], h_prev[0], x[0])
  np.testing.assert_allclose(c[0], want_c, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(h[0], want_h, rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(out, h)
  # The peepholes matter: zeroing W_co alone changes h.
  assert not np.allclose(step({**params, "peephole_o": np.zeros((5, 5, 3), np.float32)})[1], h)


def test_cell_runs_under_nn_rnn_like_a_python_loop():
  cell = conv_lstm.PeepholeConvLSTMCell(features=3)
  xs = normal((2, 3, 4, 4, 2), seed=0)                      # [B, T, H, W, C]
  rnn = nn.RNN(cell)
  variables = jax.eval_shape(lambda: rnn.init(jax.random.key(0), xs))
  params = randomize(variables["params"]["cell"], seed=20)
  ys = jax.jit(rnn.apply)({"params": {"cell": params}}, xs)

  @jax.jit
  def python_loop(params, xs):
    carry, ys = cell.initialize_carry(None, xs[:, 0].shape), []
    for t in range(xs.shape[1]):
      carry, y = cell.apply({"params": params}, carry, xs[:, t])
      ys.append(y)
    return jnp.stack(ys, axis=1)

  np.testing.assert_allclose(ys, python_loop(params, xs), rtol=1e-5, atol=1e-6)


def autoencoder_setup(decoder_input="feedback", hidden=(4, 3, 5, 3)):
  model = conv_lstm.ConvLSTMAutoEncoder(hidden, decoder_input)
  x = normal((2, 3, 4, 4, 6), seed=0)                       # [B, T, H, W, C]
  params = jax.eval_shape(lambda: model.init(jax.random.key(0), x))["params"]
  return model, x, randomize(params, seed=30)


@pytest.mark.parametrize("decoder_input", ["feedback", "repeat"])
def test_decoder_unrolls_t_steps_from_the_encoded_vector(decoder_input):
  model, x, params = autoencoder_setup(decoder_input)
  decoded, encoded = jax.jit(model.apply)({"params": params}, x)
  assert decoded.shape == (2, 3, 4, 4, 3) and encoded.shape == (2, 4, 4, 3)

  @jax.jit
  def by_hand(params, x):
    """The cells stepped one by one from zero states: T encoder steps, then T decoder steps."""
    step = lambda name, carry, inp: conv_lstm.PeepholeConvLSTMCell(  # noqa: E731
        carry[0].shape[-1]).apply({"params": params[name]}, carry, inp)[0]
    zeros = lambda f: (jnp.zeros((2, 4, 4, f)),) * 2                  # noqa: E731
    enc1, enc2 = zeros(4), zeros(3)
    for t in range(3):
      enc1 = step("encoder_1", enc1, x[:, t])
      enc2 = step("encoder_2", enc2, enc1[1])
    dec1, dec2, inputs, outputs = zeros(5), zeros(3), enc2[1], []
    for t in range(3):
      dec1 = step("decoder_1", dec1, inputs)
      dec2 = step("decoder_2", dec2, dec1[1])
      outputs.append(dec2[1])
      inputs = dec2[1] if decoder_input == "feedback" else inputs
    return jnp.stack(outputs, axis=1), enc2[1]

  want_decoded, want_encoded = by_hand(params, x)
  np.testing.assert_allclose(encoded, want_encoded, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(decoded, want_decoded, rtol=1e-5, atol=1e-6)
  assert not np.allclose(decoded[:, 0], decoded[:, -1])     # the steps are not one state copied


def test_first_frame_reaches_every_decoded_step():
  model, x, params = autoencoder_setup()
  apply = jax.jit(model.apply)
  decoded, _ = apply({"params": params}, x)
  changed = x.copy()
  changed[:, 0] += 1.0
  decoded_changed, _ = apply({"params": params}, changed)
  for t in range(x.shape[1]):
    assert not np.allclose(decoded[:, t], decoded_changed[:, t], atol=1e-6), t


@pytest.mark.parametrize("hidden, decoder_input, message", [
    ((4, 3, 5), "feedback", "four positive sizes"),
    ((4, 3, 5, 4), "feedback", "make them equal"),
    ((4, 3, 5, 3), "mirror", "decoder_input='mirror'"),
])
def test_bad_auto_encoder_config_is_a_clear_error(hidden, decoder_input, message):
  model = conv_lstm.ConvLSTMAutoEncoder(hidden, decoder_input)
  with pytest.raises(ConfigError, match=message):
    model.init(jax.random.key(0), jnp.zeros((1, 2, 4, 4, 6)))
