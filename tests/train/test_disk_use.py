"""Bounded disk: finished fold groups keep their selected models only, and the run says how much.

One small LOSO run (`elrcn_temporal_only:smoke`, 4 folds trained one at a
time: 4 groups) whose LSTM is wide enough that the arrays, not orbax's few kB
of metadata, make up a checkpoint. After it, no finished group keeps its
training state (Adam's moments); predict's restore and a resume read what is
left; a run killed before or while pruning resumes to the same fold results.
"""

import ast
import json
import logging
import pathlib
import re
import shutil
import types

import numpy as np
import pytest

from mer_jax import config_files, experiment
from mer_jax.data import builders
from mer_jax.train import checkpoint, loop

CONFIG = "configs/elrcn_temporal_only.py"


def small_config(repo_root):
  config = config_files.load_config(str(repo_root / CONFIG), "smoke")
  config.model.lstm_features = (64,)  # ~54k parameters a fold: the arrays dominate the bytes
  config.train.num_epochs = 3
  config.protocol.folds_in_parallel = 1
  return config


def fold_logits(workdir: pathlib.Path) -> dict[str, list]:
  return {p.name: json.loads(p.read_text())["logits"]
          for p in sorted((workdir / "folds").glob("*.json"))}


def group_dirs(workdir: pathlib.Path) -> list[pathlib.Path]:
  return sorted((workdir / "checkpoints").iterdir())


def bytes_of(size: str) -> float:
  """'2.43 MB' -> 2.43e6."""
  number, unit = size.split()
  return float(number) * {"kB": 1e3, "MB": 1e6, "GB": 1e9}[unit]


def folder_bytes(path: pathlib.Path) -> int:
  return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def finished(repo_root, tmp_path_factory):
  """(workdir, printed stdout) of the finished run."""
  workdir = tmp_path_factory.mktemp("disk_use")
  with pytest.MonkeyPatch.context() as patch:
    printed = []
    patch.setattr("builtins.print", lambda *a, **kw: printed.append(" ".join(map(str, a))))
    experiment.run(small_config(repo_root), str(workdir))
  return workdir, printed


def test_finished_groups_keep_no_optimiser_state(finished):
  workdir, _ = finished
  groups = group_dirs(workdir)
  assert [g.name for g in groups] == [f"folds_{i:03d}-{i:03d}" for i in range(4)]
  for group in groups:
    assert not checkpoint.holds_training_state(str(group))
    assert len([p for p in group.iterdir() if p.is_dir()]) == 1  # the full step is gone
    (metadata,) = group.glob("*/default/_METADATA")
    items = [ast.literal_eval(k) for k in json.loads(metadata.read_text())["tree_metadata"]]
    assert items and not [k for k in items if k[0] == "states"]  # the train states' arrays
    assert [k for k in items if "opt_state" in k] == [("best", "opt_state")]  # {} in a selection
    selected = checkpoint.tree_bytes(checkpoint.restore_selected(str(group)))
    assert folder_bytes(group) < 1.5 * selected  # the full state took ~4x (params, 2 moments, best)


def test_the_printed_estimate_is_the_checkpoints_array_bytes(finished):
  workdir, printed = finished
  lines = [line for line in printed if line.startswith("checkpoints: about")]
  assert len(lines) == 1, printed
  size = r"([\d.]+ [kMG]B)"
  found = re.fullmatch(
      rf"checkpoints: about {size} at most \(the in-progress group's training state {size}, "
      rf"twice while an epoch is saved, \+ selected models {size} per finished group x 3 "
      r"groups\)", lines[0])
  most, training, selected = (bytes_of(x) for x in found.groups())
  params = checkpoint.tree_bytes(checkpoint.restore_selected(str(group_dirs(workdir)[0])))
  assert selected == pytest.approx(params, rel=1e-2)
  assert training == pytest.approx(4 * params, rel=1e-2)  # params, Adam's 2 moments, selected
  assert most == pytest.approx(2 * training + 3 * selected, rel=1e-2)


def test_predict_restores_and_a_lost_fold_result_is_made_again_untrained(
    repo_root, finished, tmp_path, monkeypatch):
  workdir, _ = finished
  copy = tmp_path / "run"
  shutil.copytree(workdir, copy)
  group = copy / "checkpoints/folds_002-002"
  assert not checkpoint.holds_training_state(str(group))
  params = checkpoint.restore_selected_params(str(group), 0)
  assert params["params"] and params["batch_stats"] == {}
  lost = sorted((copy / "folds").glob("*.json"))[2]
  lost.unlink()
  monkeypatch.setattr(loop, "train_epoch", lambda *a: pytest.fail("trained again"))
  experiment.run(small_config(repo_root), str(copy))
  again, first = fold_logits(copy), fold_logits(workdir)
  np.testing.assert_allclose(again[lost.name], first[lost.name], rtol=1e-6)


class Killed(Exception):
  """Stands in for SIGKILL while the first finished group is pruned."""


def test_a_run_killed_while_pruning_resumes_to_the_same_results(
    repo_root, finished, tmp_path, monkeypatch):
  workdir, _ = finished
  save = checkpoint.GroupCheckpointer.save

  def die_when_pruning(self, epoch, tree):
    if "states" not in tree:
      raise Killed(f"killed while pruning {self.directory}")
    save(self, epoch, tree)

  monkeypatch.setattr(checkpoint.GroupCheckpointer, "save", die_when_pruning)
  with pytest.raises(Killed):
    experiment.run(small_config(repo_root), str(tmp_path))
  monkeypatch.undo()
  assert len(fold_logits(tmp_path)) == 1  # group 0 finished, its full state still there
  assert checkpoint.holds_training_state(str(tmp_path / "checkpoints/folds_000-000"))

  trained = []
  train_epoch = loop.train_epoch
  monkeypatch.setattr(loop, "train_epoch", lambda *a: trained.append(1) or train_epoch(*a))
  experiment.run(small_config(repo_root), str(tmp_path))
  assert len(trained) <= 3 * 3  # groups 1-3 only
  for group in group_dirs(tmp_path):
    assert not checkpoint.holds_training_state(str(group))
  resumed, first = fold_logits(tmp_path), fold_logits(workdir)
  assert resumed.keys() == first.keys()
  for name in first:
    np.testing.assert_allclose(resumed[name], first[name], rtol=1e-5, atol=1e-6)


def test_the_preprocessing_cache_logs_its_size(tmp_path, monkeypatch, caplog):
  path = tmp_path / "mer_prepared" / "casme2-pixels-x" / builders.FORMAT_VERSION

  def build(*args, **kwargs):
    path.mkdir(parents=True)
    (path / "records.tfrecord").write_bytes(b"\0" * 2_500_000)

  monkeypatch.setattr(builders, "scan_spec", lambda *a: (
      types.SimpleNamespace(recipe={}), builders.Scan([], [])))
  monkeypatch.setattr(builders, "prepared_dir", lambda *a: str(path))
  monkeypatch.setattr(builders, "is_prepared", lambda p: pathlib.Path(p).is_dir())
  monkeypatch.setattr(builders, "build", build)
  monkeypatch.setattr(builders, "declared_spec", lambda *a: None)
  monkeypatch.setattr(builders.faces, "locate_faces",
                      lambda samples, face: types.SimpleNamespace(
                          samples=samples, notes=[], boxes=None))
  with caplog.at_level(logging.INFO):
    builders.prepare("casme2", "/corpus", {"name": "pixels"}, str(tmp_path))  # builds
    builders.prepare("casme2", "/corpus", {"name": "pixels"}, str(tmp_path))  # reuses
  sizes = [r.getMessage() for r in caplog.records if "2.5 MB on disk" in r.getMessage()]
  assert len(sizes) == 2 and sizes[0].startswith("prepared ") and "reusing" in sizes[1]
