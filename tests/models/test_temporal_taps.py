"""3-D convolutions as sums of 2-D ones over temporal taps (models/temporal_taps.py).

Values and gradients against PyTorch's `conv3d` (an independent reference) on
r3d_18's kinds of convolution (3x3x3, the strided stem, the 1x1x1 stride-2
shortcut, the class conv's 1x3x3), under `vmap` over folds, and the whole
R3D18 with either implementation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from mer_jax.errors import ConfigError
from mer_jax.models import resnet3d, temporal_taps

# (clips NTHWC, kernel THWIO, strides, padding) of the convolutions r3d_18 has.
CASES = [
    ((2, 5, 9, 9, 3), (3, 3, 3, 3, 4), (1, 1, 1), ((1, 1),) * 3),
    ((2, 6, 8, 8, 4), (3, 3, 3, 4, 5), (2, 2, 2), ((1, 1),) * 3),
    ((1, 7, 10, 10, 3), (3, 7, 7, 3, 4), (1, 2, 2), ((1, 1), (3, 3), (3, 3))),
    ((2, 6, 8, 8, 4), (1, 1, 1, 4, 6), (2, 2, 2), ((0, 0),) * 3),
    ((2, 3, 5, 5, 4), (1, 3, 3, 4, 3), (1, 1, 1), ((0, 0), (1, 1), (1, 1))),
]


def torch_conv_and_grads(x, w, strides, padding, cotangent):
  """PyTorch's conv3d of channels-last arrays, and the gradients of <conv, cotangent>."""
  tx = torch.tensor(np.transpose(x, (0, 4, 1, 2, 3)), requires_grad=True)
  tw = torch.tensor(np.transpose(w, (4, 3, 0, 1, 2)), requires_grad=True)
  out = torch.nn.functional.conv3d(tx, tw, stride=strides, padding=[p[0] for p in padding])
  (out * torch.tensor(np.transpose(cotangent, (0, 4, 1, 2, 3)))).sum().backward()
  return (np.transpose(out.detach().numpy(), (0, 2, 3, 4, 1)),
          np.transpose(tx.grad.numpy(), (0, 2, 3, 4, 1)),
          np.transpose(tw.grad.numpy(), (2, 3, 4, 1, 0)))


def taps(x, w, strides, padding):
  return temporal_taps.taps_or_xla(x, w, strides, padding,
                                   dimension_numbers=temporal_taps.CLIPS)


@pytest.mark.parametrize("shape,kernel,strides,padding", CASES)
def test_values_and_gradients_equal_pytorch_conv3d(shape, kernel, strides, padding):
  rng = np.random.default_rng(0)
  x = rng.standard_normal(shape, dtype=np.float32)
  w = rng.standard_normal(kernel, dtype=np.float32)
  out = np.asarray(taps(x, w, strides, padding))
  cotangent = rng.standard_normal(out.shape, dtype=np.float32)
  want, want_dx, want_dw = torch_conv_and_grads(x, w, strides, padding, cotangent)
  dx, dw = jax.grad(lambda a, b: jnp.sum(taps(a, b, strides, padding) * cotangent),
                    (0, 1))(x, w)
  np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-4)


def test_folds_vmapped_with_their_own_kernels_equal_each_fold_alone():
  shape, kernel, strides, padding = CASES[1]
  keys = jax.random.split(jax.random.key(0), 2)
  xs = jax.random.normal(keys[0], (3,) + shape)
  ws = jax.random.normal(keys[1], (3,) + kernel)
  batched = jax.vmap(lambda a, b: taps(a, b, strides, padding))(xs, ws)
  for fold in range(3):
    alone = jax.lax.conv_general_dilated(xs[fold], ws[fold], strides, padding,
                                         dimension_numbers=temporal_taps.CLIPS)
    np.testing.assert_allclose(batched[fold], alone, rtol=1e-5, atol=1e-5)


def test_calls_it_does_not_cover_go_to_xla_unchanged():
  x = jnp.ones((1, 4, 6, 6, 2))
  w = jnp.ones((3, 3, 3, 2, 2))
  same = temporal_taps.taps_or_xla(x, w, (1, 1, 1), "SAME",
                                   dimension_numbers=temporal_taps.CLIPS)
  want = jax.lax.conv_general_dilated(x, w, (1, 1, 1), "SAME",
                                      dimension_numbers=temporal_taps.CLIPS)
  np.testing.assert_array_equal(same, want)
  assert not temporal_taps._covered(x, w, ((1, 1),) * 3, None, (2, 1, 1),
                                    temporal_taps.CLIPS, 1, {})  # dilated: XLA's


def test_auto_is_the_taps_on_cpu_and_bad_names_are_config_errors():
  assert jax.default_backend() == "cpu"
  assert temporal_taps.conv_for("auto") is temporal_taps.taps_or_xla
  assert temporal_taps.conv_for("xla") is jax.lax.conv_general_dilated
  with pytest.raises(ConfigError, match=r"config.model.conv3d='fast'; expected one of"):
    temporal_taps.conv_for("fast")


def test_r3d18_gives_the_same_logits_and_gradients_with_either_convolution():
  clips = jax.random.uniform(jax.random.key(1), (2, 6, 24, 24, 3))
  nets = {impl: resnet3d.R3D18(num_classes=3, widths=(8, 8, 16, 16), conv3d=impl)
          for impl in ("xla", "temporal_taps")}
  variables = nets["xla"].init(jax.random.key(0), clips)

  def loss(params, net):
    logits, _ = net.apply({**variables, "params": params}, clips, train=True,
                          mutable=["batch_stats"])[0]
    return jnp.sum(logits ** 2), logits

  (_, want), want_grad = jax.value_and_grad(loss, has_aux=True)(variables["params"],
                                                                 nets["xla"])
  (_, got), got_grad = jax.value_and_grad(loss, has_aux=True)(variables["params"],
                                                               nets["temporal_taps"])
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
  for g, w in zip(jax.tree.leaves(got_grad), jax.tree.leaves(want_grad)):
    np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-5)
