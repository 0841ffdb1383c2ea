"""The fold functions' pieces: initialisation, no-op updates for stopped folds, the mesh."""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mer_jax import models
from mer_jax.train import fold_fns, sharding, steps
from mer_jax.train.state import create_train_state


def test_mesh_puts_whole_folds_on_devices_and_the_rest_on_data():
  assert jax.device_count() == 4  # conftest.py
  assert dict(sharding.make_mesh(4).shape) == {"fold": 4, "data": 1}
  assert dict(sharding.make_mesh(1).shape) == {"fold": 1, "data": 4}
  assert dict(sharding.make_mesh(2).shape) == {"fold": 2, "data": 2}
  assert dict(sharding.make_mesh(6).shape) == {"fold": 2, "data": 2}


def test_stopped_fold_is_not_updated():
  model = models.get("elrcn_temporal_only", num_classes=2, lstm_features=(4,))
  tx = optax.adam(1e-2)
  data = {"inputs": {"frames": jnp.ones((6, 3, 2, 2, 1))},
          "label": jnp.array([0, 1, 0, 1, 0, 1])}
  state = create_train_state(jax.random.key(0), model, tx, data["inputs"]["frames"][:1])
  fold = {"train": jnp.arange(6), "n_train": jnp.asarray(6)}
  run = lambda active: steps.train_epoch(state, fold, data, jax.random.key(1), active,
                                         model=model, tx=tx, batch_size=4, steps=2)
  frozen, metrics = run(jnp.asarray(False))
  assert metrics["count"] == 0
  jax.tree.map(np.testing.assert_array_equal, frozen, state)
  trained, metrics = run(jnp.asarray(True))
  assert metrics["count"] == 6 and int(trained.step) == 2
  assert not np.allclose(trained.params["fc"]["kernel"], state.params["fc"]["kernel"])


def test_microbatches_give_the_whole_batch_update():
  model = models.get("elrcn_temporal_only", num_classes=3, lstm_features=(5,))
  tx = optax.adam(1e-2)
  x = jax.random.normal(jax.random.key(0), (8, 3, 2, 2, 1))
  labels = jnp.array([0, 1, 2, 0, 1, 2, 0, 1])
  mask = jnp.array([1, 1, 1, 0, 1, 1, 0, 1], jnp.float32)  # padding rows in both halves
  state = create_train_state(jax.random.key(1), model, tx, x[:1])
  step = lambda parts: steps.train_step(state, x, labels, mask, jax.random.key(2),
                                        model=model, tx=tx, microbatches=parts)
  whole, m_whole = step(1)
  split, m_split = step(4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               whole.params, split.params)
  assert not np.allclose(whole.params["fc"]["kernel"], state.params["fc"]["kernel"])
  for key in ("loss_sum", "correct", "count"):
    np.testing.assert_allclose(m_whole[key], m_split[key], rtol=1e-6)


def test_epoch_sees_every_training_sample_once():
  order = steps.epoch_order(jax.random.key(3), jnp.asarray(5), 8)
  assert sorted(np.asarray(order[:5]).tolist()) == [0, 1, 2, 3, 4]
  assert sorted(np.asarray(order[5:]).tolist()) == [5, 6, 7]


def test_folds_get_different_initial_weights():
  model = models.get("elrcn_temporal_only", num_classes=2, lstm_features=(4,))
  mesh = sharding.make_mesh(4)
  data = {"inputs": {"frames": np.zeros((4, 2, 2, 2, 1), np.float32)},
          "label": np.zeros(4, np.int32)}
  fns = fold_fns.make_fold_fns(model, optax.sgd(0.1), mesh, data, batch_size=2,
                               steps_per_epoch=1, eval_chunk=2)
  states = fns.init(fns.put(jax.random.split(jax.random.key(0), 4)))
  kernel = np.asarray(states.params["fc"]["kernel"])  # [F, 4, 2]
  assert kernel.shape == (4, 4, 2) and not np.allclose(kernel[0], kernel[1])
  assert states.params["fc"]["kernel"].sharding.spec[0] == "fold"


def test_stacked_lstm_init_does_not_deadlock_on_cpu(tmp_path):
  """Regression: a vmapped orthogonal init deadlocked XLA:CPU's thread pool (jax 0.10.2)."""
  script = textwrap.dedent("""
      import jax, numpy as np, optax
      from mer_jax import models
      from mer_jax.train import fold_fns, sharding
      model = models.get("elrcn_temporal_only", num_classes=3, lstm_features=(64, 32))
      data = {"inputs": {"frames": np.zeros((8, 4, 8, 8, 1), np.float32)},
              "label": np.zeros(8, np.int32)}
      fns = fold_fns.make_fold_fns(model, optax.adam(1e-3), sharding.make_mesh(4), data,
                                   batch_size=4, steps_per_epoch=1, eval_chunk=4)
      states = fns.init(fns.put(jax.random.split(jax.random.key(0), 4)))
      jax.block_until_ready(states)
      print("initialised")
  """)
  out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=180, env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
  assert "initialised" in out.stdout, out.stderr[-2000:]
