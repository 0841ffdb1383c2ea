"""A paper protocol on corpus trees that look real keeps every one of its clips.

The trees (tests/corpus_trees.py) hold the REAL annotation files of CASME II
and SAMM and the SMIC rows of the official MEGC 2019 ground truth, laid out as
distributed: CASME II `Cropped/` and `SMIC_all_cropped/` with tight crops of a
photographed face (no margin, as the official crops), SAMM with 960 x 650 grey
frames and the face off-centre. Before the face step, OpenCV's frontal cascade
found no face in most tight crops and the MEGC 2019 composite shrank from 442
clips to a few hundred without failing.
"""

import json
import os
import shutil

import pytest

import corpus_trees
from mer_jax import config_files, experiment
from mer_jax.data import manifests
from mer_jax.data import pipeline
from mer_jax.errors import DataError
from mer_jax.eval import report


@pytest.fixture(scope="module")
def megc2019_roots(tmp_path_factory, shared_dir):
  del shared_dir  # skips the module when ../shared (the annotation files) is absent
  return corpus_trees.write_megc2019_trees(tmp_path_factory.mktemp("corpora"), samm_size=(960, 650))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("cache")


def composite_config(repo_root, roots, cache):
  config = config_files.load_config(str(repo_root / "configs" / "lbp_top.py"),
                                    "megc2019_cde,p4,tim10")
  for name, root in roots.items():
    config.data.roots[name] = root
  config.data.cache_dir = str(cache)
  return config


def test_the_megc2019_composite_predicts_all_442_clips(repo_root, megc2019_roots, cache_dir,
                                                        tmp_path):
  experiment.run(composite_config(repo_root, megc2019_roots, cache_dir), str(tmp_path / "run"))
  with open(tmp_path / "run" / "results.json", encoding="utf-8") as f:
    results = json.load(f)
  assert len(results["predictions"]) == 442 and len(results["folds"]) == 68
  assert results["protocol"]["clips"]["clips"] == 442
  assert manifests.is_complete(results["protocol"]["clips"])
  stages = results["face_stages"]
  assert stages["casme2"] == {"official_crop": 145} and stages["smic"] == {"official_crop": 164}
  assert sum(stages["samm"].values()) == 133 and "whole_frame" not in stages["samm"]
  assert {r["dataset"] for r in results["predictions"]} == {"casme2", "samm", "smic"}
  assert "of 442 clips" not in (tmp_path / "run" / "results.md").read_text()


def test_a_lost_clip_stops_the_protocol_unless_allowed(repo_root, megc2019_roots, cache_dir,
                                                       tmp_path):
  """One SMIC clip's frames are 0-byte files: an error naming it, or '441 of 442 clips'."""
  smic = os.path.join(str(tmp_path), "SMIC")
  shutil.copytree(megc2019_roots["smic"], smic)
  clip = os.path.join(smic, "SMIC_all_cropped", "HS", "s1", "micro", "negative", "s1_ne_01")
  for name in os.listdir(clip):
    open(os.path.join(clip, name), "wb").close()
  config = composite_config(repo_root, dict(megc2019_roots, smic=smic), cache_dir)
  with pytest.raises(DataError, match=r"441 of 442 clips.*smic 163 of 164.*smic/s1/s1_ne_01"):
    pipeline.load_experiment_data(config.data)
  config.data.allow_missing = True
  data = pipeline.load_experiment_data(config.data)
  assert len(data.samples) == 441 and data.coverage["clips"] == 441
  assert report.coverage_note({"clips": data.coverage}).startswith("> **441 of 442 clips**")


def test_elrcn_megc2018_keeps_253_clips_with_samm_faces_cropped(repo_root, megc2019_roots):
  """ELRCN-SE's CDE data on the same trees: 253 / 47, SAMM cut to its face, not resized whole."""
  config = config_files.load_config(str(repo_root / "configs" / "elrcn_se.py"), "cde")
  for name in ("casme2", "samm"):
    config.data.roots[name] = megc2019_roots[name]
  config.data.cache_dir = ""
  config.data.recipe.update(image_size=16, num_frames=2)  # the paper's steps, at test size
  data = pipeline.load_experiment_data(config.data)
  assert manifests.is_complete(data.coverage) and len(data.samples) == 253
  stages = report.face_stages(data.samples)
  assert stages["casme2"] == {"official_crop": 185}
  assert sum(stages["samm"].values()) == 68 and "whole_frame" not in stages["samm"]
