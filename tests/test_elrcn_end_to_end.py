"""ELRCN-TE end to end on the built-in data: VGG-Face-format weights in, Grad-CAM out.

One short run of `configs/elrcn_te.py:tiny` starting its three streams from a
tiny VGG written as a `vgg_face_dag.pth` state_dict, then
`python -m mer_jax.gradcam`'s `explain` on one of its test samples.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax import config_files, experiment, gradcam
from mer_jax.errors import ConfigError
from mer_jax.models import vgg



@pytest.fixture(scope="module")
def te_run(repo_root, tmp_path_factory, write_vgg_face_dag):
  tmp = tmp_path_factory.mktemp("elrcn_te")
  config = config_files.load_config(str(repo_root / "configs/elrcn_te.py"), "tiny")
  source = vgg.VGG16(num_classes=5, **config.model.cnn).init(
      jax.random.key(7), jnp.zeros((1, 32, 32, 3)))["params"]
  write_vgg_face_dag(jax.tree.map(np.asarray, source), tmp / "vgg_face_dag.pth")
  config.pretrained.update(kind="vgg_face_dag", path=str(tmp / "vgg_face_dag.pth"))
  config.data.cache_dir = str(tmp / "cache")
  results = experiment.run(config, str(tmp / "run"))
  return results, tmp / "run"


def test_te_run_reports_every_sample(te_run):
  results, workdir = te_run
  on_disk = json.loads((workdir / "results.json").read_text())
  assert on_disk["metrics"] == results["metrics"]
  assert len(results["predictions"]) == sum(f["n_test"] for f in results["folds"]) > 0
  assert results["config"]["pretrained"]["kind"] == "vgg_face_dag"


def test_gradcam_explains_a_test_sample_with_its_fold_model(te_run):
  _, workdir = te_run
  key = json.loads((workdir / "results.json").read_text())["predictions"][0]
  key = f"{key['dataset']}/{key['subject']}/{key['clip']}"
  path = gradcam.explain(str(workdir), key)
  with open(path, "rb") as f:
    assert path.endswith(".png") and f.read(8) == b"\x89PNG\r\n\x1a\n"
  with pytest.raises(ConfigError, match="not a sample of this run"):
    gradcam.explain(str(workdir), "synthetic/nobody/EP00")
  with pytest.raises(ConfigError, match="--class_name"):
    gradcam.explain(str(workdir), key, class_name="contempt")


def test_maps_are_drawn_over_the_grey_channel_of_the_stack():
  import ml_collections
  clip = np.arange(2 * 4 * 4 * 5, dtype=np.float32).reshape(2, 4, 4, 5)

  def config(**recipe):
    return ml_collections.ConfigDict({"data": {"recipe": recipe}})

  stack = config(channels=("flow", "strain", "gray"))
  np.testing.assert_array_equal(gradcam.background(stack, clip), clip[..., 4])
  grey_first = config(channels=("gray", "flow"))
  np.testing.assert_array_equal(gradcam.background(grey_first, clip[..., :4]), clip[..., 0])
  flow_only = config(channels=("flow",))
  np.testing.assert_array_equal(gradcam.background(flow_only, clip[..., :3]), clip[..., 2])
  pixels = config(name="pixels")
  np.testing.assert_array_equal(gradcam.background(pixels, clip[..., :1]), clip[..., 0])
