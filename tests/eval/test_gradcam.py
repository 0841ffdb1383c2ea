"""Grad-CAM: the gradient it uses is the true one, the map is the published formula.

Also `python -m mer_jax.gradcam`'s output check: a --output that cannot be
written is a ConfigError before the data are loaded.
"""

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mer_jax import gradcam as gradcam_cli
from mer_jax import models
from mer_jax.data import pipeline
from mer_jax.errors import ConfigError
from mer_jax.eval import gradcam
from mer_jax.models import vgg

TINY_CNN = dict(widths=(4, 4, 8, 8, 8), fc_features=16)


@pytest.fixture(scope="module")
def image_model():
  model = models.get("vgg16", num_classes=3, **TINY_CNN)
  image = jax.random.uniform(jax.random.key(0), (64, 64, 3))
  variables = model.init(jax.random.key(1), image[None])
  return model, variables, image


def test_maps_match_grad_cam_computed_from_a_separate_head(image_model):
  model, variables, image = image_model
  maps, c, logits = gradcam.class_activation_maps(model, variables, image, class_index=2)
  assert c == 2 and logits.shape == (3,) and maps["model"].shape == (1, 64, 64)
  # Independent reference: conv5_3's activations by capture, and the gradient
  # of logit 2 w.r.t. them through a hand-written copy of the rest of VGG-16
  # (pool5, fc6, fc7, fc8), not through the model's perturbation hook.
  _, state = model.apply(variables, image[None], mutable=["intermediates"])
  acts = state["intermediates"][vgg.LAST_CONV_OUTPUT][0]               # [1, h, w, K]
  p = variables["params"]

  def head(a):
    n, h, w, k = a.shape
    pooled = a.reshape(n, h // 2, 2, w // 2, 2, k).max(axis=(2, 4)).reshape(n, -1)
    x = jax.nn.relu(pooled @ p["fc6"]["kernel"] + p["fc6"]["bias"])
    x = jax.nn.relu(x @ p["fc7"]["kernel"] + p["fc7"]["bias"])
    return (x @ p["fc8"]["kernel"] + p["fc8"]["bias"])[0, 2]

  np.testing.assert_allclose(head(acts), logits[2], rtol=1e-5)
  alpha = np.asarray(jax.grad(head)(acts)).mean(axis=(1, 2))            # [1, K]
  cam = np.maximum((np.asarray(acts)[0] * alpha[0]).sum(-1), 0.0)       # [h, w]
  want = np.asarray(jax.image.resize(jnp.asarray(cam)[None], (1, 64, 64), "bilinear"))
  np.testing.assert_allclose(maps["model"], want / want.max(), atol=1e-5)


def test_default_class_is_the_prediction_and_a_bad_class_is_refused(image_model):
  model, variables, image = image_model
  _, c, logits = gradcam.class_activation_maps(model, variables, image)
  assert c == int(np.argmax(logits))
  with pytest.raises(ValueError, match="outside 0..2"):
    gradcam.class_activation_maps(model, variables, image, class_index=3)


def test_te_gets_one_map_per_stream_and_frame():
  model = models.get("elrcn_te", num_classes=3, cnn=TINY_CNN, lstm_features=(6,))
  clip = jax.random.uniform(jax.random.key(0), (2, 32, 32, 5))
  variables = model.init(jax.random.key(1), clip[None])
  maps, _, _ = gradcam.class_activation_maps(model, variables, clip)
  assert sorted(maps) == ["stream_flow", "stream_gray", "stream_strain"]
  for m in maps.values():
    assert m.shape == (2, 32, 32) and m.min() >= 0.0 and m.max() <= 1.0


def test_overlay_is_blue_where_cold_and_red_where_hot():
  heat = np.zeros((4, 4))
  heat[0, 0] = 1.0
  rgb = gradcam.overlay(np.zeros((4, 4)), heat, strength=1.0)
  assert rgb.dtype == np.uint8 and rgb.shape == (4, 4, 3)
  assert rgb[0, 0, 0] > 100 and rgb[0, 0, 2] < 50      # red
  assert rgb[3, 3, 2] > 100 and rgb[3, 3, 0] < 50      # blue


@pytest.fixture()
def explain_without_data(tmp_path, monkeypatch):
  """`explain(output)` on a run dir holding only config.json; loading its data fails the test."""
  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / "config.json").write_text(json.dumps({"model_name": "elrcn_se", "data": {}}))

  def no_data(_):
    raise AssertionError("the data were loaded before the output was checked")

  monkeypatch.setattr(pipeline, "load_experiment_data", no_data)
  return lambda output="": gradcam_cli.explain(str(workdir), "casme2/sub01/EP01", output=output)


def test_an_output_under_a_file_is_refused_before_the_data_are_loaded(tmp_path,
                                                                      explain_without_data):
  (tmp_path / "file.txt").write_text("a file, not a folder")
  bad = tmp_path / "file.txt" / "out.png"
  with pytest.raises(ConfigError, match=re.escape(f"--output={bad} cannot be written")):
    explain_without_data(str(bad))
  with pytest.raises(ConfigError, match=re.escape(f"--output={tmp_path} cannot be written")):
    explain_without_data(str(tmp_path))  # a folder where the PNG should go
  with pytest.raises(AssertionError, match="data were loaded"):  # a good one gets that far
    explain_without_data(str(tmp_path / "new" / "cam.png"))
  assert (tmp_path / "new").is_dir() and not list((tmp_path / "new").iterdir())


def test_an_unwritable_default_output_is_named_as_the_default(tmp_path, explain_without_data):
  (tmp_path / "run" / "gradcam").write_text("a file where the gradcam/ folder goes")
  default = gradcam_cli.output_path(str(tmp_path / "run"), "casme2/sub01/EP01")
  assert default == str(tmp_path / "run" / "gradcam" / "casme2__sub01__EP01.png")
  message = f"the default output {default} cannot be written"
  with pytest.raises(ConfigError, match=re.escape(message)):
    explain_without_data()
