"""The fold-parallel engine end to end on the smoke config (4 CPU devices).

Folds trained 4 at once must give the results of folds trained one by one,
and a run killed after a checkpoint must resume to the same results.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

from mer_jax import config_files, experiment
from mer_jax.train import checkpoint, loop, outcomes

CONFIG = "configs/elrcn_temporal_only.py"


def smoke_config(repo_root, **train):
  config = config_files.load_config(str(repo_root / CONFIG), "smoke")
  config.train.update(num_epochs=3, **train)
  return config


def fold_logits(workdir: pathlib.Path) -> dict[str, np.ndarray]:
  return {p.name: np.asarray(json.loads(p.read_text())["logits"])
          for p in sorted((workdir / "folds").glob("*.json"))}


@pytest.fixture(scope="module")
def reference(repo_root, tmp_path_factory):
  """Folds trained 4 at once on a ('fold': 4, 'data': 1) mesh."""
  workdir = tmp_path_factory.mktemp("four_at_once")
  config = smoke_config(repo_root)
  config.protocol.folds_in_parallel = 4
  return experiment.run(config, str(workdir)), workdir


def test_one_fold_at_a_time_matches_four_at_once(repo_root, tmp_path, reference):
  results4, dir4 = reference
  config = smoke_config(repo_root)
  config.protocol.folds_in_parallel = 1  # Mesh ('fold': 1, 'data': 4): batch split 4 ways.
  results1 = experiment.run(config, str(tmp_path))
  logits1, logits4 = fold_logits(tmp_path), fold_logits(dir4)
  assert logits1.keys() == logits4.keys() and len(logits1) == 4
  for name in logits1:
    np.testing.assert_allclose(logits1[name], logits4[name], rtol=1e-4, atol=1e-5)
  assert results1["metrics"] == pytest.approx(results4["metrics"])
  assert [p["pred"] for p in results1["predictions"]] == \
      [p["pred"] for p in results4["predictions"]]


class Killed(Exception):
  """Stands in for SIGKILL right after a checkpoint was committed."""


def test_killed_run_resumes_to_the_same_results(repo_root, tmp_path, reference, monkeypatch):
  results4, _ = reference
  config = smoke_config(repo_root)
  config.protocol.folds_in_parallel = 4
  save = checkpoint.GroupCheckpointer.save

  def save_then_die(self, epoch, tree):
    save(self, epoch, tree)
    self.close()
    raise Killed(f"killed after epoch {epoch}")

  monkeypatch.setattr(checkpoint.GroupCheckpointer, "save", save_then_die)
  with pytest.raises(Killed):
    experiment.run(config, str(tmp_path))
  assert not (tmp_path / "results.json").exists()
  monkeypatch.undo()

  epochs_run = []
  train_epoch = loop.train_epoch
  def counting(*args):
    epochs_run.append(1)
    return train_epoch(*args)
  monkeypatch.setattr(loop, "train_epoch", counting)
  resumed = experiment.run(config, str(tmp_path))
  assert len(epochs_run) == 2  # Epoch 0 came from the checkpoint.
  assert resumed["metrics"] == pytest.approx(results4["metrics"], abs=1e-6)
  on_disk = json.loads((tmp_path / "results.json").read_text())
  assert on_disk["metrics"] == pytest.approx(results4["metrics"], abs=1e-6)


def test_finished_run_is_not_trained_again(repo_root, reference, monkeypatch):
  results4, dir4 = reference
  config = smoke_config(repo_root)
  config.protocol.folds_in_parallel = 2  # A speed knob: may change on resume.
  monkeypatch.setattr(loop, "train_epoch", lambda *a: pytest.fail("trained again"))
  again = experiment.run(config, str(dir4))
  assert again["metrics"] == pytest.approx(results4["metrics"])



def test_a_resume_trains_only_the_unfinished_folds_whatever_the_group_size(
    repo_root, tmp_path, reference, monkeypatch):
  _, dir4 = reference
  workdir = tmp_path / "run"
  shutil.copytree(dir4, workdir)
  names = sorted((workdir / "folds").glob("*.json"))
  for path in (names[1], names[3]):  # Folds 1 and 3 unfinished; 0 and 2 done.
    path.unlink()
  groups = []
  train_group = loop.train_group
  def recording(fns, plan, ids, *args):
    groups.append(list(ids))
    return train_group(fns, plan, ids, *args)
  monkeypatch.setattr(loop, "train_group", recording)
  config = smoke_config(repo_root)
  config.protocol.folds_in_parallel = 4
  experiment.run(config, str(workdir))
  assert groups == [[1, 3, -1, -1]]  # Before: the whole group 0-3 again.
  resumed, reference_logits = fold_logits(workdir), fold_logits(dir4)
  for name in reference_logits:  # A fold's result does not depend on its group.
    np.testing.assert_allclose(resumed[name], reference_logits[name], rtol=1e-4, atol=1e-5)

def test_results_json_has_the_documented_keys(reference):
  results, workdir = reference
  on_disk = json.loads((workdir / "results.json").read_text())
  for key in ("config", "protocol", "metrics", "per_dataset", "folds", "predictions"):
    assert key in on_disk
  assert set(on_disk["metrics"]) >= {"uf1", "uar", "accuracy"}
  assert on_disk["per_dataset"]["synthetic"]["accuracy"] == results["metrics"]["accuracy"]
  assert len(on_disk["folds"]) == 4
  fold = on_disk["folds"][0]
  assert fold["n_train"] == fold["n_fit"] + fold["n_monitor"] and fold["n_test"] > 0
  for fold in on_disk["folds"]:  # Validation subjects come from the training subjects only.
    assert fold["monitor_subjects"] and not set(fold["monitor_subjects"]) & set(
        fold["test_subjects"])
  subjects = {p["subject"] for p in on_disk["predictions"]}
  assert len(subjects) == 4 and len(on_disk["predictions"]) == sum(
      f["n_test"] for f in on_disk["folds"])
  for name in ("results.md", "confusion.png", "learning_curves.png", "config.json"):
    assert (workdir / name).stat().st_size > 0
  assert list((workdir / "tensorboard").iterdir())


def read_events(tensorboard_dir: pathlib.Path) -> dict[str, dict[int, object]]:
  """{tag: {step: value}} of every scalar and text the run wrote to TensorBoard."""
  from tensorboard.backend.event_processing import event_accumulator
  from tensorboard.util import tensor_util
  events = event_accumulator.EventAccumulator(
      str(tensorboard_dir), size_guidance={event_accumulator.TENSORS: 0})
  events.Reload()
  out = {}
  for tag in events.Tags()["tensors"]:
    for e in events.Tensors(tag):
      value = tensor_util.make_ndarray(e.tensor_proto).item()
      out.setdefault(tag, {})[e.step] = value.decode() if isinstance(value, bytes) else value
  return out


def test_results_json_records_provenance(reference):
  import jax
  _, workdir = reference
  prov = json.loads((workdir / "results.json").read_text())["provenance"]
  assert prov["packages"]["jax"] == jax.__version__ and prov["mer_jax_version"] == "0.1.0"
  commit = prov["git"]["commit"]
  assert commit is None or (len(commit) == 40 and isinstance(prov["git"]["dirty"], bool))
  assert prov["backend"] == "cpu" and prov["device_count"] == 4 and prov["process_count"] == 1
  assert prov["data_caches"] == {"synthetic": None}  # generated in memory: no cache
  assert set(prov["stage_seconds"]) == {"data", "train", "report"}
  assert all(seconds > 0 for seconds in prov["stage_seconds"].values())


def test_tensorboard_names_folds_by_test_subject(reference):
  _, workdir = reference
  on_disk = json.loads((workdir / "results.json").read_text())
  events = read_events(workdir / "tensorboard")
  assert '"selection": "val_loss"' in events["config"][0]  # the run's config, as text
  folds = on_disk["folds"]
  for fold in folds:
    (subject,) = fold["test_subjects"]
    tag = "test_" + subject.replace("/", "_")  # 'test_synthetic_s00'
    history = outcomes.load_all(str(workdir), [fold["name"]])[fold["name"]].history
    assert sorted(events[f"{tag}/lr"]) == [0, 1, 2]
    # The inverse-time schedule of the smoke config: 1e-3 / (1 + 1e-6 * step), about 1e-3.
    assert all(v == pytest.approx(1e-3, rel=1e-4) for v in events[f"{tag}/lr"].values())
    # The monitored loss is the validation subjects' mean loss (selection 'val_loss').
    assert [events[f"{tag}/val_loss"][e] for e in range(3)] == pytest.approx(
        history["monitor_loss"], rel=1e-6)
    assert sorted(events[f"{tag}/train_loss"]) == [0, 1, 2]
  assert not [t for t in events if t.startswith("fold")]


def test_tensorboard_lr_follows_a_step_schedule(repo_root, tmp_path):
  config = smoke_config(repo_root, selection="last")
  config.schedule = dict(kind="step", base_lr=1e-3, factor=0.1, every_epochs=2)
  experiment.run(config, str(tmp_path))
  events = read_events(tmp_path / "tensorboard")
  lr_tags = [t for t in events if t.endswith("/lr")]
  assert len(lr_tags) == 4  # one per fold
  for tag in lr_tags:  # / 10 from epoch 2 on
    assert [events[tag][e] for e in range(3)] == pytest.approx([1e-3, 1e-3, 1e-4], rel=1e-6)
  assert not [t for t in events if t.endswith("_loss") and "train" not in t]  # none monitored
