"""`protocol.fold_strategy`: folds batched ('vmap') or in turn ('map') give the same folds.

The real fold functions train the same folds from the same keys under both
strategies, on the 4 CPU devices of conftest.py: 4 folds two per device
(ATNet's convolutions and the LSTM model), and 3 folds on one fold device,
the rest of the devices on 'data' (ATNet).
"""

import pathlib
import re

import jax
import numpy as np
import pytest

from benchmarks import families
from mer_jax.errors import ConfigError
from mer_jax.train import fold_fns, fold_strategy, loop, sharding

# (family, folds, folds_in_parallel of the mesh)
CASES = [("atnet", 4, 2), ("atnet", 3, 3), ("elrcn_temporal_only", 4, 2)]


def trained(setup, strategy, folds, group):
  """Per-fold parameters after one 2-step epoch, and the held-out logits."""
  n = setup.batch_size * 2
  data = {"inputs": families.random_inputs(setup, n), "label": families.random_labels(setup, n)}
  mesh = sharding.make_mesh(group)
  fns = fold_fns.make_fold_fns(setup.model, setup.tx, mesh, data, batch_size=setup.batch_size,
                               steps_per_epoch=2, eval_chunk=setup.batch_size,
                               strategy=strategy)
  states = fns.init(fns.put(jax.random.split(jax.random.key(0), folds)))
  # Each fold trains on a different part of the data, so the folds really differ.
  rows = np.stack([np.roll(np.arange(n, dtype=np.int32), 3 * f) for f in range(folds)])
  plan = fns.put({"train": rows, "n_train": np.full(folds, n - 2, np.int32)})
  keys = fns.put(jax.random.split(jax.random.key(1), folds))
  states, _ = loop.train_steps(fns, states, plan, keys, np.ones(folds, bool), 2)
  held_out = rows[:, :setup.batch_size]  # one evaluation chunk
  _, logits = loop.evaluate(fns, states, fns.put(held_out),
                            fns.put(np.full(folds, setup.batch_size - 1, np.int32)))
  return jax.device_get(states.params), logits


@pytest.mark.parametrize("family,folds,group", CASES)
def test_map_and_vmap_train_the_same_folds(family, folds, group):
  setup = families.setup(families.FAMILIES[family], "tiny")
  params_v, logits_v = trained(setup, "vmap", folds, group)
  params_m, logits_m = trained(setup, "map", folds, group)
  assert logits_v.shape[0] == folds and not np.allclose(logits_v[0], logits_v[1])
  np.testing.assert_allclose(logits_m, logits_v, rtol=1e-4, atol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               params_m, params_v)


def test_every_config_model_has_a_measured_cpu_entry():
  configs = pathlib.Path(__file__).parents[2] / "configs"
  used = {m for f in configs.glob("*.py")
          for m in re.findall(r'model_name = "(\w+)"', f.read_text())}
  assert "atnet" in used and "mer_rcnn" in used  # the pattern still finds the configs' models
  missing = sorted(used - {m for b, m in fold_strategy.AUTO if b == "cpu"})
  assert not missing, f"add these models to fold_strategy.AUTO: {missing}"


def test_auto_follows_the_table_and_bad_names_are_config_errors():
  assert fold_strategy.resolve("auto", "cpu", "mer_rcnn") == "map"
  assert fold_strategy.resolve("auto", "cpu", "elrcn_temporal_only") == "vmap"
  assert fold_strategy.resolve("auto", "cpu", "atnet") == "vmap"
  assert fold_strategy.resolve("auto", "cpu", "a_new_cnn") == "map"  # the backend's entry
  assert fold_strategy.resolve("auto", "gpu", "mer_rcnn") == "vmap"
  assert fold_strategy.resolve("auto", "rocm", "atnet") == "vmap"  # no entry: the default
  assert fold_strategy.resolve("map", "gpu", "atnet") == "map"
  with pytest.raises(ConfigError, match=r"fold_strategy='pmap'; expected one of"):
    fold_strategy.resolve("pmap", "cpu", "atnet")
