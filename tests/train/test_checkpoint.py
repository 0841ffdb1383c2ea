"""Group checkpoints: folders named by their folds, found again, and damage named with its fix."""

import os
import pathlib

import numpy as np
import pytest

from mer_jax.errors import ConfigError
from mer_jax.train import checkpoint


@pytest.mark.parametrize("ids, name", [
    ([0, 1, 2, 3], "folds_000-003"),            # The name earlier versions gave.
    ([8, 9, -1, -1], "folds_008-009_of4"),
    ([3, 5, 6, -1], "folds_003_005-006_of4"),
    ([7], "folds_007-007"),
])
def test_a_group_folder_names_exactly_its_folds(ids, name):
  assert os.path.basename(checkpoint.group_dir("w", ids)) == name
  assert checkpoint.group_folds_of(name) == [i for i in ids if i >= 0]


def test_a_resume_with_other_groups_finds_each_fold_in_its_own_group(tmp_path):
  root = tmp_path / "checkpoints"
  for ids in ([0, 1, 2, 3], [4, 5, 6, 7]):  # The first run's groups ...
    os.makedirs(checkpoint.group_dir(str(tmp_path), ids))
  os.utime(root / "folds_004-007", (1, 1))  # ... left at epoch 55, then resumed two at a time.
  for ids in ([4, 6], [5, 7]):
    os.makedirs(checkpoint.group_dir(str(tmp_path), ids))
  assert checkpoint.find_fold(str(tmp_path), 2) == (str(root / "folds_000-003"), 2)
  assert checkpoint.find_fold(str(tmp_path), 6) == (str(root / "folds_004_006_of2"), 1)
  assert checkpoint.find_fold(str(tmp_path), 5) == (str(root / "folds_005_007_of2"), 0)
  with pytest.raises(ConfigError, match="no checkpoint of fold 8"):
    checkpoint.find_fold(str(tmp_path), 8)


def saved(directory: pathlib.Path) -> dict:
  tree = {"best": {"params": {"w": np.arange(6.0).reshape(2, 3)}}, "epoch": np.asarray(4)}
  ckpt = checkpoint.GroupCheckpointer(str(directory))
  ckpt.save(4, tree)
  ckpt.close()
  return tree


def test_a_checkpoint_round_trips(tmp_path):
  tree = saved(tmp_path / "g")
  ckpt = checkpoint.GroupCheckpointer(str(tmp_path / "g"))
  back = ckpt.restore(tree)
  ckpt.close()
  np.testing.assert_array_equal(back["best"]["params"]["w"], tree["best"]["params"]["w"])
  np.testing.assert_array_equal(checkpoint.restore_selected_params(str(tmp_path / "g"), 1)[
      "params"]["w"], [3.0, 4.0, 5.0])


def damage_data(directory: pathlib.Path) -> None:
  for path in directory.rglob("*"):
    if path.is_file() and "d" == path.parent.name:  # The array chunks.
      path.write_bytes(b"\0" * 7)


def zero_metadata(directory: pathlib.Path) -> None:
  (directory / "4" / "default" / "_METADATA").write_bytes(b"")


@pytest.mark.parametrize("damage", [damage_data, zero_metadata])
def test_a_damaged_checkpoint_names_its_folder_and_the_fix(tmp_path, damage):
  group = tmp_path / "folds_000-003"
  tree = saved(group)
  damage(group)
  ckpt = checkpoint.GroupCheckpointer(str(group))
  with pytest.raises(ConfigError) as resumed:
    ckpt.restore(tree)
  ckpt.close()
  with pytest.raises(ConfigError) as predicted:  # What predict and gradcam read.
    checkpoint.restore_selected(str(group))
  for error in (resumed, predicted):
    message = str(error.value)
    assert str(group) in message and "cannot be read" in message
    assert "delete that folder and run the same training command again" in message
    assert "\n" not in message
