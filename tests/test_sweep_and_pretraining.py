"""Sweep configs (sweep.py) and the pre-training stage's pieces (train/pretraining.py)."""

import ml_collections
import numpy as np
import pytest

from mer_jax.data import pretrain_sources
from mer_jax.errors import ConfigError
from mer_jax import experiment, sweep
from mer_jax.train import pretraining


def _config(**sweep_runs):
  return ml_collections.ConfigDict({
      "model": {"stream": "fusion", "lstm_features": (8,)},
      "eval": {"row_name": ""},
      "pretrain": {"source": "", "folder": ""},
      "sweep": {"runs": tuple(sweep_runs.items())}})


def test_each_run_sets_its_fields_names_its_row_and_has_no_sweep():
  c = _config(a=(("model.stream", "temporal"), ("model.lstm_features", (4, 2))), b=())
  runs = sweep.runs(c)
  assert list(runs) == ["a", "b"]
  assert runs["a"].model.stream == "temporal" and runs["a"].model.lstm_features == (4, 2)
  assert runs["b"].model.stream == "fusion" and runs["a"].eval.row_name == "a (ours)"
  assert not sweep.runs(runs["a"]) and c.model.stream == "fusion"  # the original is untouched


def test_no_sweep_section_or_no_runs_is_a_single_run():
  assert sweep.runs(ml_collections.ConfigDict({"seed": 0})) == {}
  assert sweep.runs(_config()) == {}


def test_a_field_the_config_lacks_is_a_config_error():
  with pytest.raises(ConfigError, match="sets 'model.widht'"):
    sweep.runs(_config(a=(("model.widht", 3),)))
  with pytest.raises(ConfigError, match="sets 'optim.lr'"):
    sweep.runs(_config(a=(("optim.lr", 3),)))


def test_held_out_split_is_stratified_disjoint_and_seeded():
  labels = np.asarray([0] * 20 + [1] * 10 + [2] * 3)
  train, held = pretraining.held_out_split(labels, 0.1, seed=5)
  assert not set(train) & set(held) and len(train) + len(held) == len(labels)
  np.testing.assert_array_equal(np.bincount(labels[held]), [2, 1, 1])  # at least one each
  again = pretraining.held_out_split(labels, 0.1, seed=5)
  np.testing.assert_array_equal(held, again[1])
  _, none = pretraining.held_out_split(labels, 0.0, seed=5)
  assert none.size == 0


def test_pretraining_config_errors_name_the_field():
  c = _config()
  pretraining.check_config(c)  # source '': no stage, nothing to check
  assert not pretraining.enabled(c)
  c.pretrain.source = "folder"
  with pytest.raises(ConfigError, match="config.pretrain.folder is empty"):
    pretraining.check_config(c)
  c.pretrain.source = "imagenet"
  with pytest.raises(ConfigError, match="config.pretrain.source='imagenet'"):
    pretraining.check_config(c)


def test_synthetic_and_folder_sources_give_grey_labelled_images(tmp_path):
  import cv2
  synthetic = {"source": "synthetic", "image_size": 24,
               "synthetic": {"num_subjects": 2, "clips_per_subject": 4, "image_size": 32,
                             "seed": 1}}
  images, labels, names = pretrain_sources.load_images(synthetic)
  assert images.shape[1:] == (24, 24, 1) and images.dtype == np.uint8
  assert names == ("negative", "positive", "surprise") and len(labels) == len(images) > 0
  for name, value in (("happy", 200), ("sad", 50)):
    (tmp_path / name).mkdir()
    cv2.imwrite(str(tmp_path / name / "a.png"), np.full((40, 30, 3), value, np.uint8))
  folder = {"source": "folder", "folder": str(tmp_path), "image_size": 16, "face": "none",
            "classes": ()}
  images, labels, names = pretrain_sources.load_images(folder)
  assert names == ("happy", "sad") and images.shape == (2, 16, 16, 1)
  np.testing.assert_array_equal(images[labels == 0], 200)


def test_model_stage_pretrains_the_whole_network_on_clips_and_folds_start_from_it(
    repo_root, tmp_path):
  import json
  from mer_jax import config_files
  import jax
  from mer_jax import models
  from mer_jax.train import loop
  config = config_files.load_config(str(repo_root / "configs/elrcn_temporal_only.py"), "demo")
  config.data.synthetic.update(num_subjects=4, clips_per_subject=4, image_size=32)
  config.data.recipe.update(image_size=8, num_frames=3)
  config.model.lstm_features = (6,)
  config.protocol.update(name="subject_kfold", k=2, folds_in_parallel=1)
  config.train.update(num_epochs=1, batch_size=4, selection="last", progress_bar=False)
  config.eval.batch_size = 4
  config.pretrain = {
      "stage": "model", "source": "synthetic", "folder": "", "face": "none", "classes": (),
      "image_size": 8, "held_out": 0.25, "into": ("",), "skip": (), "num_epochs": 2,
      "batch_size": 4, "optim": {"name": "adam"},
      "schedule": {"kind": "constant", "base_lr": 1e-2},
      "augment": {"name": "none"},
      "synthetic": {"num_subjects": 2, "clips_per_subject": 4, "image_size": 32, "seed": 7}}
  stage = str(tmp_path / "run" / "pretrain")
  experiment.run(config, str(tmp_path / "run"))
  summary = json.loads((tmp_path / "run" / "pretrain" / pretraining.SUMMARY).read_text())
  assert summary["class_names"] == ["negative", "positive", "surprise"]
  assert len(summary["train_loss"]) == 2 and summary["n_held_out"] > 0
  learnt = loop.pretrain(config, None, stage)  # the finished stage is read back, not rerun
  fresh = models.get(config.model_name, num_classes=3, **config.model)
  shapes = jax.eval_shape(lambda: fresh.init(jax.random.key(0), np.zeros((1, 3, 8, 8, 1),
                                                                         np.float32)))
  assert set(learnt["params"]) == set(shapes["params"])  # the whole network, every layer
