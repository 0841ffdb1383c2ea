"""ELRCN SE / TE / spatial-only: sizes as the paper's, stream routing, remat."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax import models
from mer_jax.models import elrcn

TINY_CNN = dict(widths=(4, 4, 8, 8, 8), fc_features=16)


def shapes_of(model, x):
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
  return variables["params"]


def count(tree):
  return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


def lstm_input_width(params):
  """Rows of the first LSTM layer's input kernels (the per-frame feature width)."""
  cell = params["head"]["temporal"]["cell_0"]
  widths = {k.shape[0] for k in jax.tree.leaves(cell) if k.ndim == 2}
  return max(widths)


def vgg_trunk_params(in_channels):
  """VGG-16 parameters without fc8 for `in_channels` inputs at 224x224."""
  convs = [(in_channels, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256),
           (256, 256), (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
  n = sum(9 * i * o + o for i, o in convs)
  return n + (25088 * 4096 + 4096) + (4096 * 4096 + 4096)


def lstm_params(d, u):
  return 4 * (d * u + u * u + u)


def test_se_full_size_parameters_and_feature_width():
  params = shapes_of(models.get("elrcn_se", num_classes=5), jnp.zeros((1, 10, 224, 224, 5)))
  assert params["cnn"]["conv1_1"]["kernel"].shape == (3, 3, 5, 64)  # 224x224x5 input
  assert lstm_input_width(params) == 4096                            # fc7 per frame
  expected = vgg_trunk_params(5) + lstm_params(4096, 3000) + 3000 * 5 + 5
  assert count(params) == expected


def test_te_full_size_parameters_and_feature_width():
  params = shapes_of(models.get("elrcn_te", num_classes=5), jnp.zeros((1, 10, 224, 224, 5)))
  assert sorted(params) == ["head", "stream_flow", "stream_gray", "stream_strain"]
  for stream in ("stream_flow", "stream_strain", "stream_gray"):
    assert params[stream]["conv1_1"]["kernel"].shape == (3, 3, 3, 64)  # VGG-Face input
  assert lstm_input_width(params) == 3 * 4096                          # 12288 per frame
  expected = 3 * vgg_trunk_params(3) + lstm_params(12288, 3000) + 3000 * 5 + 5
  assert count(params) == expected


def test_fc6_features_feed_the_lstm_when_asked():
  model = models.get("elrcn_se", num_classes=3, cnn=dict(widths=(4, 4, 8, 8, 8),
                                                         fc_features=16),
                     feature_layer="fc6", lstm_features=(6,))
  x = jax.random.normal(jax.random.key(0), (2, 3, 32, 32, 5))
  variables = model.init(jax.random.key(1), x)
  logits, _ = model.apply(variables, x)
  # fc7 is then unused: its parameters get no gradient.
  grads = jax.grad(lambda p: model.apply({"params": p}, x)[0].sum())(variables["params"])
  assert logits.shape == (2, 3)
  assert not np.any(grads["cnn"]["fc7"]["kernel"]) and np.any(grads["cnn"]["fc6"]["kernel"])
  with pytest.raises(ValueError, match="feature_layer"):
    models.get("elrcn_se", num_classes=3, feature_layer="fc8").init(jax.random.key(0), x)


def test_te_streams_read_their_own_channels_with_s_and_g_repeated():
  model = models.get("elrcn_te", num_classes=3, cnn=TINY_CNN, lstm_features=(6,))
  x = jnp.zeros((1, 2, 32, 32, 5)).at[..., 3].set(
      jax.random.uniform(jax.random.key(0), (1, 2, 32, 32)))       # strain only
  params = model.init(jax.random.key(1), x)["params"]
  grads = jax.grad(lambda p: model.apply({"params": p}, x)[0].sum())(params)
  k = {s: np.asarray(grads[f"stream_{s}"]["conv1_1"]["kernel"]) for s in ("flow", "strain",
                                                                         "gray")}
  assert not k["flow"].any() and not k["gray"].any()   # zero input, zero kernel gradient
  assert k["strain"].any()
  np.testing.assert_allclose(k["strain"][:, :, 0], k["strain"][:, :, 1], rtol=1e-6)
  np.testing.assert_allclose(k["strain"][:, :, 0], k["strain"][:, :, 2], rtol=1e-6)


def test_te_grey_stream_gets_the_vgg_face_range():
  mean = (129.1863, 104.7624, 93.5940)
  plain = models.get("elrcn_te", num_classes=3, cnn=TINY_CNN, lstm_features=(6,))
  shifted = models.get("elrcn_te", num_classes=3, cnn=TINY_CNN, lstm_features=(6,),
                       gray_mean_rgb=mean)
  x = jax.random.uniform(jax.random.key(0), (1, 2, 32, 32, 5))
  params = plain.init(jax.random.key(1), x)["params"]
  grey = x[..., 4:5]
  # The shifted model on x equals the plain model on a stack whose grey stream
  # already is 255 * grey - mean; check through the grey stream's first conv.
  conv = params["stream_gray"]["conv1_1"]
  want = jax.lax.conv_general_dilated(
      (255.0 * jnp.repeat(grey, 3, -1) - jnp.asarray(mean)).reshape(2, 32, 32, 3),
      conv["kernel"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
  _, state = shifted.apply({"params": params}, x, capture_intermediates=True,
                           mutable=["intermediates"])
  got = state["intermediates"]["stream_gray"]["conv1_1"]["__call__"][0]
  np.testing.assert_allclose(got, want + conv["bias"], rtol=1e-5, atol=1e-3)


def test_te_rejects_a_stack_without_five_channels():
  model = models.get("elrcn_te", num_classes=3, cnn=TINY_CNN)
  with pytest.raises(ValueError, match="5 channels"):
    model.init(jax.random.key(0), jnp.zeros((1, 2, 32, 32, 3)))


def test_remat_gives_the_same_gradients():
  x = jax.random.normal(jax.random.key(0), (2, 3, 32, 32, 5))
  plain = models.get("elrcn_se", num_classes=3, cnn=TINY_CNN, lstm_features=(6,))
  remat = models.get("elrcn_se", num_classes=3, cnn=TINY_CNN, lstm_features=(6,), remat=True)
  params = plain.init(jax.random.key(1), x)["params"]

  def grads(model):
    f = lambda p: model.apply({"params": p}, x, train=True,
                              rngs={"dropout": jax.random.key(2)})[0].sum()
    return jax.grad(f)(params)

  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               grads(plain), grads(remat))


def test_spatial_only_averages_frame_logits():
  model = models.get("elrcn_spatial_only", num_classes=3, cnn=TINY_CNN)
  x = jax.random.normal(jax.random.key(0), (2, 4, 32, 32, 3))
  variables = model.init(jax.random.key(1), x)
  logits, aux = model.apply(variables, x)
  assert aux["frame_logits"].shape == (2, 4, 3)
  np.testing.assert_allclose(logits, aux["frame_logits"].mean(1), rtol=1e-6)
  # Each frame is classified on its own: frame 0's logits ignore the other frames.
  other = x.at[:, 1:].set(0.0)
  np.testing.assert_allclose(model.apply(variables, other)[1]["frame_logits"][:, 0],
                             aux["frame_logits"][:, 0], rtol=1e-5)


def test_vgg_class_wraps_in_remat_only_when_asked():
  assert elrcn.vgg_class(False) is models.vgg.VGG16
  assert elrcn.vgg_class(True) is not models.vgg.VGG16


def lstm_input_and_fc_output(model, variables, x, layer, train):
  """(what the LSTM reads, ReLU of the VGG's `layer` Dense output) in one call."""
  seen = {}

  def capture(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == "__call__":
      if type(context.module).__name__ == "StackedLSTM":
        seen["lstm_input"] = np.asarray(args[0])
      elif context.module.name == layer and isinstance(context.module, nn.Dense):
        seen["relu_fc"] = np.maximum(np.asarray(out), 0.0)
    return out

  with nn.intercept_methods(capture):
    model.apply(variables, x, train=train, rngs={"dropout": jax.random.key(5)})
  b, t = x.shape[:2]
  return seen["lstm_input"], seen["relu_fc"].reshape(b, t, -1)


@pytest.mark.parametrize("layer", ["fc7", "fc6"])
def test_lstm_reads_the_features_after_dropout_in_training_only(layer):
  """ReLU -> dropout(0.5) -> LSTM: each feature is dropped (0) or kept x 2 in training."""
  model = models.get("elrcn_se", num_classes=3, cnn=dict(TINY_CNN, fc_features=256),
                     feature_layer=layer, lstm_features=(6,))
  x = jax.random.normal(jax.random.key(0), (2, 3, 32, 32, 5))
  variables = model.init(jax.random.key(1), x)
  feats, relu = lstm_input_and_fc_output(model, variables, x, layer, train=True)
  positive = relu > 0
  dropped = positive & (feats == 0)
  np.testing.assert_allclose(feats[~dropped], 2.0 * relu[~dropped], rtol=1e-5, atol=1e-6)
  assert 0.4 < dropped.sum() / positive.sum() < 0.6
  feats, relu = lstm_input_and_fc_output(model, variables, x, layer, train=False)
  np.testing.assert_allclose(feats, relu, rtol=1e-6)                 # evaluation: no dropout
