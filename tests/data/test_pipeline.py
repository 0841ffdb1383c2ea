"""config.data -> samples, labels and preprocessed arrays."""

import numpy as np
import pytest

from mer_jax.data import builders, pipeline
from mer_jax.errors import DataError


def data_config(**overrides):
  cfg = {"datasets": ("synthetic",), "roots": {"synthetic": ""},
         "label_scheme": "three_class",
         "recipe": {"name": "pixels", "image_size": 10, "num_frames": 5, "grayscale": True,
                    "temporal": "linear", "subtract_onset": False},
         "synthetic": {"num_subjects": 3, "clips_per_subject": 5, "image_size": 32, "seed": 0}}
  cfg.update(overrides)
  return cfg


def test_arrays_match_the_samples_and_the_scheme():
  data = pipeline.load_experiment_data(data_config())
  n = len(data.samples)
  assert data.inputs["frames"].shape == (n, 5, 10, 10, 1)
  assert data.inputs["frames"].dtype == np.float32
  assert 0.0 <= data.inputs["frames"].min() and data.inputs["frames"].max() <= 1.0
  assert data.class_names == ("negative", "positive", "surprise")
  assert all(s.emotion != "others" for s in data.samples)  # 'others' is not 3-class.
  assert n + len(data.excluded) == 15
  happy = [y for s, y in zip(data.samples, data.labels) if s.emotion == "happiness"]
  assert happy and set(happy) == {1}


def test_subtract_onset_leaves_only_motion():
  cfg = data_config()
  cfg["recipe"] = dict(cfg["recipe"], subtract_onset=True)
  x = pipeline.load_experiment_data(cfg).inputs["frames"]
  assert np.all(x[:, 0] == 0.0) and np.abs(x).max() > 0.0


def test_read_back_from_disk_equals_in_memory(tmp_path):
  from mer_jax.data import synthetic
  from mer_jax.data.synthetic import native
  spec = synthetic.SyntheticSpec(num_subjects=3, clips_per_subject=5, image_size=32, seed=0)
  native.write_native(synthetic.generate(spec), str(tmp_path))
  memory = pipeline.load_experiment_data(data_config())
  disk = pipeline.load_experiment_data(data_config(roots={"synthetic": str(tmp_path)}))
  assert [s.key for s in disk.samples] == [s.key for s in memory.samples]
  np.testing.assert_array_equal(disk.inputs["frames"], memory.inputs["frames"])


def test_scheme_that_leaves_no_sample_is_a_data_error():
  cfg = data_config(synthetic={"num_subjects": 2, "clips_per_subject": 3, "image_size": 32,
                               "emotions": ("others",)})
  with pytest.raises(DataError, match="no sample of .* has a label in scheme 'three_class'"):
    pipeline.load_experiment_data(cfg)


def test_casme2_layout_through_the_config(tmp_path):
  """Synthetic clips written as CASME II, read back by the adapter the config names."""
  from mer_jax.data import datasets, synthetic
  from mer_jax.data.synthetic.writers import casme2 as casme2_writer
  spec = synthetic.SyntheticSpec(num_subjects=3, clips_per_subject=5, image_size=32, seed=0)
  generated = synthetic.generate(spec)
  casme2_writer.write(generated, str(tmp_path))
  frame = tmp_path / "Cropped" / "sub02"
  clip = sorted(frame.iterdir())[0]
  corrupt = sorted(clip.iterdir())[0]
  corrupt.write_bytes(b"not a jpeg")  # One unreadable frame: that clip is left out.
  cfg = data_config(datasets=("casme2",), label_scheme="casme2_5",
                    **dict(datasets.default_data_config(), cache_dir=""))
  cfg["roots"] = dict(cfg["roots"], casme2=str(tmp_path))
  data = pipeline.load_experiment_data(cfg)
  cached = pipeline.load_experiment_data(dict(cfg, cache_dir=str(tmp_path / "cache")))
  assert [s.key for s in cached.samples] == [s.key for s in data.samples]
  np.testing.assert_array_equal(cached.inputs["frames"], data.inputs["frames"])
  np.testing.assert_array_equal(cached.labels, data.labels)
  assert {e.key for e in cached.excluded} == {e.key for e in data.excluded}
  assert list((tmp_path / "cache" / "mer_prepared").iterdir())  # The cache was written.
  # The cache read is named (for results.json's provenance); none without a cache.
  (folder,) = (tmp_path / "cache" / "mer_prepared").iterdir()
  assert cached.caches == {"casme2": f"{folder.name}/{builders.FORMAT_VERSION}"}
  assert folder.name.startswith("casme2-pixels-") and data.caches == {"casme2": None}
  in_scheme = [s for s in generated.samples
               if s.emotion in ("happiness", "disgust", "repression", "surprise", "others")]
  keys = {s.key.split("/", 1)[1] for s in data.samples}
  assert f"sub02/{clip.name}" not in keys
  assert len(data.samples) == len(in_scheme) - 1  # Nothing else lost.
  reasons = {e.key: e.reason for e in data.excluded}
  assert str(corrupt) in reasons[f"casme2/sub02/{clip.name}"]
  assert any(e.repaired and "apex" in e.reason for e in data.excluded)  # The '/' apex.
  assert data.inputs["frames"].shape[0] == len(data.samples)


def test_recipes_receive_the_apex_position(monkeypatch):
  """`islam` ends its onset->apex frames at the sample's apex, given by the pipeline."""
  from mer_jax.data import synthetic
  from mer_jax.preprocess import recipes
  seen = []
  islam = recipes.RECIPES["islam"]
  monkeypatch.setitem(recipes.RECIPES, "islam",
                      lambda f, r, apex_index=None, **clip: seen.append(apex_index) or islam(
                          f, r, apex_index=apex_index, **clip))
  cfg = data_config(recipe={"name": "islam", "image_size": 16, "num_frames": 12,
                            "face": "none"})
  data = pipeline.load_experiment_data(cfg)
  assert seen == [s.apex - s.onset for s in data.samples]
  spec = synthetic.SyntheticSpec(**cfg["synthetic"])
  video = {s.key: v for s, v in zip(*[getattr(synthetic.generate(spec), k)
                                      for k in ("samples", "videos")])}
  s, x = data.samples[0], data.inputs["frames"][0]
  apex = recipes.resize(video[s.key][s.apex - s.onset][None], 16)[0] / 255.0
  np.testing.assert_allclose(x[-1], apex, atol=1e-6)  # The apex is the last frame.
