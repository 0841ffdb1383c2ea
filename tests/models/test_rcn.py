"""MER-RCNN: LRN and the RCL against PyTorch, weight sharing, Table 1 sizes, training."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

from mer_jax import models
from mer_jax.models import rcn

PAPER_INPUT = (2, 1966, 30, 3)
# Spatial sizes (P, T) of Table 1 for the paper's input, after conv1 and each pool.
PAPER_SIZES = {"conv1": (1962, 26), "rcl2": (490, 26), "rcl3": (122, 26), "rcl4": (30, 6),
               "rcl5": (7, 3)}
TINY_INPUT = (4, 64, 16, 3)
TINY_POOLS = ((2, 1), (2, 1), (2, 2), (2, 2))  # conv1 60x12 -> 30x12 -> 15x12 -> 7x6 -> 3x3


def normal(shape, seed):
  """Standard normal float32 test data (numpy: no per-shape compilation of a JAX PRNG)."""
  return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def count(tree):
  return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


def to_torch_nchw(x):
  return torch.tensor(np.asarray(x)).permute(0, 3, 1, 2)


def oihw(kernel):
  """A Flax HWIO convolution kernel as a PyTorch OIHW weight."""
  return torch.tensor(np.asarray(kernel)).permute(3, 2, 0, 1)


def torch_rcl(params, u, iterations, norm):
  """The RCL of eq. 2-3 unrolled by hand in PyTorch; returns NHWC numpy."""
  ff_params = params["feedforward"]
  ff = torch.nn.functional.conv2d(to_torch_nchw(u), oihw(ff_params["kernel"]),
                                  torch.tensor(np.asarray(ff_params["bias"])))
  features = ff.shape[1]
  lrn = torch.nn.LocalResponseNorm(features // 8 + 1, alpha=0.001, beta=0.75, k=1.0)
  f = (lambda z: lrn(torch.relu(z))) if norm == "lrn" else torch.relu
  v = f(ff)
  for _ in range(iterations):
    v = f(ff + torch.nn.functional.conv2d(v, oihw(params["recurrent"]["kernel"]), padding=1))
  return v.permute(0, 2, 3, 1).numpy()


def paper_size_shapes(model):
  """Shapes of `(variables, (logits, aux), intermediates)` for the paper's input, unevaluated."""
  x = jax.ShapeDtypeStruct(PAPER_INPUT, jnp.float32)
  variables = jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)
  outputs, state = jax.eval_shape(
      lambda v, x: model.apply(v, x, train=False, capture_intermediates=True,
                               mutable=["intermediates"]), variables, x)
  return variables, outputs, state


def untied_rcl(ff_params, recurrent_kernels, u):
  """An RCL with one recurrent kernel per step (norm='lrn'), written with lax convolutions."""
  dims = ("NHWC", "HWIO", "NHWC")
  ff = jax.lax.conv_general_dilated(u, ff_params["kernel"], (1, 1), "VALID",
                                    dimension_numbers=dims) + ff_params["bias"]
  f = lambda z: rcn.lrn(jax.nn.relu(z), ff.shape[-1] // 8 + 1)
  v = f(ff)
  for kernel in recurrent_kernels:
    v = f(ff + jax.lax.conv_general_dilated(v, kernel, (1, 1), ((1, 1), (1, 1)),
                                            dimension_numbers=dims))
  return v


@pytest.mark.parametrize("size", [1, 4, 5])
def test_lrn_matches_torch_local_response_norm(size):
  x = 3.0 * normal((2, 5, 4, 11), seed=0)
  alpha, beta, k = 0.5, 0.75, 1.5
  got = rcn.lrn(x, size, alpha, beta, k)
  want = torch.nn.LocalResponseNorm(size, alpha, beta, k)(to_torch_nchw(x))
  np.testing.assert_allclose(got, want.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)
  assert not np.allclose(got, x, atol=1e-2)  # the normalisation is not a no-op here


@pytest.mark.parametrize("norm", ["lrn", "none"])
def test_rcl_matches_pytorch_unrolled_by_hand(norm):
  u = 10.0 * normal((2, 6, 5, 3), seed=0)  # large: LRN matters
  layer = rcn.RecurrentConvLayer(features=16, iterations=3, norm=norm)
  variables = layer.init(jax.random.key(1), u, train=False)
  got = layer.apply(variables, u, train=False)
  want = torch_rcl(variables["params"], u, iterations=3, norm=norm)
  assert got.shape == (2, 6, 5, 16)
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  # More steps change the output: the recurrence is really applied.
  assert not np.allclose(want, torch_rcl(variables["params"], u, iterations=2, norm=norm))


@pytest.mark.parametrize("iterations", [1, 2, 3, 5])
def test_rcl_holds_one_recurrent_kernel_whatever_the_iterations(iterations):
  u = jnp.zeros((1, 4, 4, 3))
  layer = rcn.RecurrentConvLayer(features=8, iterations=iterations)
  params = jax.eval_shape(lambda: layer.init(jax.random.key(0), u, train=False))["params"]
  shapes = jax.tree.map(lambda a: a.shape, params)
  assert shapes == {"feedforward": {"kernel": (1, 1, 3, 8), "bias": (8,)},
                    "recurrent": {"kernel": (3, 3, 8, 8)}}
  assert count(params) == 3 * 8 + 8 + 9 * 8 * 8


def test_shared_kernel_gradient_is_the_sum_of_untied_gradients():
  iterations = 3
  u = 4.0 * normal((2, 5, 4, 3), seed=0)
  layer = rcn.RecurrentConvLayer(features=8, iterations=iterations)
  params = layer.init(jax.random.key(1), u, train=False)["params"]
  readout = normal((2, 5, 4, 8), seed=2)
  kernel = params["recurrent"]["kernel"]
  untied = [kernel] * iterations
  np.testing.assert_allclose(untied_rcl(params["feedforward"], untied, u),
                             layer.apply({"params": params}, u, train=False), rtol=1e-5,
                             atol=1e-5)

  def tied_loss(kernel):
    p = {**params, "recurrent": {"kernel": kernel}}
    return jnp.sum(readout * layer.apply({"params": p}, u, train=False))

  def untied_loss(kernels):
    return jnp.sum(readout * untied_rcl(params["feedforward"], kernels, u))

  untied_grads = jax.jit(jax.grad(untied_loss))(untied)
  assert not np.allclose(untied_grads[0], untied_grads[-1])  # each step's share differs
  np.testing.assert_allclose(jax.jit(jax.grad(tied_loss))(kernel), sum(untied_grads),
                             rtol=1e-4, atol=1e-5)


def test_zero_iterations_is_f_of_the_feedforward_conv():
  u = 10.0 * normal((2, 4, 3, 3), seed=0)
  layer = rcn.RecurrentConvLayer(features=16, iterations=0)
  variables = layer.init(jax.random.key(1), u, train=False)
  ff = variables["params"]["feedforward"]
  assert set(variables["params"]) == {"feedforward"}      # the recurrent conv is never called
  want = rcn.lrn(jax.nn.relu(u @ ff["kernel"][0, 0] + ff["bias"]), 16 // 8 + 1)
  np.testing.assert_allclose(layer.apply(variables, u, train=False), want, rtol=1e-5,
                             atol=1e-5)


def test_unknown_norm_is_a_clear_error():
  with pytest.raises(ValueError, match=r"norm='layer'.*'lrn', 'batch', 'none'"):
    rcn.RecurrentConvLayer(8, norm="layer").init(jax.random.key(0), jnp.zeros((1, 4, 4, 3)),
                                                  train=False)


def test_paper_size_shapes_and_parameter_count():
  model = models.get("mer_rcnn", num_classes=4)
  variables, (logits, aux), state = paper_size_shapes(model)
  m, c = 64, 4
  assert logits.shape == (2, c) and logits.dtype == jnp.float32
  assert aux["features"].shape == (2, m)
  for layer, (p, t) in PAPER_SIZES.items():
    assert state["intermediates"][layer]["__call__"][0].shape == (2, p, t, m), layer
  params = variables["params"]
  assert sorted(params) == ["classifier", "conv1", "rcl2", "rcl3", "rcl4", "rcl5"]
  assert params["conv1"]["kernel"].shape == (5, 5, 3, m)
  assert set(params["classifier"]) == {"kernel"}                   # eq. 4: no bias
  rcl = m * m + m + 9 * m * m
  assert count(params) == (5 * 5 * 3 * m + m) + 4 * rcl + m * c == 169_216


def test_bfloat16_activations_keep_float32_params_and_logits():
  model = rcn.MerRcnn(num_classes=4, dtype="bfloat16")
  variables, (logits, aux), state = paper_size_shapes(model)
  assert variables["params"]["rcl2"]["recurrent"]["kernel"].dtype == jnp.float32
  assert state["intermediates"]["rcl5"]["__call__"][0].dtype == jnp.bfloat16
  assert logits.dtype == jnp.float32 and aux["features"].dtype == jnp.float32


def test_sgd_on_a_fixed_batch_reduces_the_loss():
  model = rcn.MerRcnn(num_classes=3, features=8, pools=TINY_POOLS)
  x = normal(TINY_INPUT, seed=0)
  labels = jnp.array([0, 1, 2, 1])
  params = model.init(jax.random.key(1), x, train=False)["params"]
  optimizer = optax.sgd(0.05)  # small steps: plain gradient descent must go downhill

  def loss_fn(params):
    logits, _ = model.apply({"params": params}, x, train=True)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  @jax.jit
  def step(params, opt_state):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  opt_state = optimizer.init(params)
  losses = []
  for _ in range(8):
    params, opt_state, loss = step(params, opt_state)
    losses.append(float(loss))
  assert np.all(np.diff(losses) < 0), losses
  assert losses[-1] < 0.95 * losses[0], losses


def test_batch_norm_variant_updates_batch_stats_per_step():
  model = rcn.MerRcnn(num_classes=3, features=8, norm="batch", pools=TINY_POOLS)
  x = normal(TINY_INPUT, seed=0) + 2.0
  variables = model.init(jax.random.key(1), x, train=False)
  stats = variables["batch_stats"]
  assert sorted(stats["rcl2"]) == ["norm_0", "norm_1", "norm_2", "norm_3"]
  assert "conv1_norm" in stats
  (logits, _), updated = model.apply(variables, x, train=True, mutable=["batch_stats"])
  assert logits.shape == (4, 3)
  for layer in ("conv1_norm", "rcl3"):
    old, new = jax.tree.leaves(stats[layer]), jax.tree.leaves(updated["batch_stats"][layer])
    assert all(not np.allclose(a, b) for a, b in zip(old, new)), layer
  # In evaluation the running averages are read, not written.
  logits_eval, _ = model.apply(variables, x, train=False)
  assert logits_eval.shape == (4, 3) and not np.allclose(logits_eval, logits)


def test_dropout_only_when_training():
  model = rcn.MerRcnn(num_classes=3, features=8, pools=TINY_POOLS, dropout_rate=0.5)
  x = normal(TINY_INPUT, seed=0)
  variables = model.init(jax.random.key(1), x, train=False)
  a, _ = model.apply(variables, x, train=False)
  b, _ = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(2)})
  np.testing.assert_array_equal(a, model.apply(variables, x, train=False)[0])
  assert not np.allclose(a, b)


@pytest.mark.parametrize("shape, needed", [((1, 259, 30, 3), "P=260"),
                                           ((1, 1966, 11, 3), "T=12")])
def test_too_small_input_is_a_clear_error(shape, needed):
  model = rcn.MerRcnn(num_classes=4, features=8)
  with pytest.raises(ValueError, match=re.escape(str(shape)) + ".*" + needed):
    model.init(jax.random.key(0), jnp.zeros(shape), train=False)


def test_registry_builds_mer_rcnn():
  model = models.get("mer_rcnn", num_classes=4, features=8)
  assert isinstance(model, rcn.MerRcnn) and model.features == 8
  x = jax.ShapeDtypeStruct((1, 260, 12, 3), jnp.float32)  # the smallest input Table 1 accepts
  logits, aux = jax.eval_shape(
      lambda x: model.apply(model.init(jax.random.key(0), x, train=False), x, train=False), x)
  assert logits.shape == (1, 4) and aux["features"].shape == (1, 8)
