"""Test set-up: four CPU devices (set before jax is imported), quiet TensorFlow, no user corpora.

Four devices let the tests exercise the ('fold', 'data') mesh exactly as an
accelerator host would, e.g. 4 folds at once versus 1 fold over 4 devices.
"""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The user's own corpora (data/corpus_roots.py) never leak into a test: tests set these.
os.environ.pop("MER_JAX_DATA", None)
os.environ.pop("MER_JAX_DATASETS_FILE", None)
os.environ["XDG_CONFIG_HOME"] = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "no_user_config")

import pathlib  # noqa: E402

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
  return REPO


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
  """../shared (real annotation files); tests that need it skip when it is absent."""
  if not SHARED.is_dir():
    pytest.skip("../shared is not present (it holds the reference annotation files)")
  return SHARED


@pytest.fixture(scope="session")
def write_vgg_face_dag():
  """`write(params, path)`: saves Flax VGG16 params as a vgg_face_dag.pth state_dict.

  The inverse of the importer's layout change, written independently: OIHW
  convolutions, [out, in] dense layers and an fc6 that reads pool5 in NCHW
  order. Returns the path.
  """
  import numpy as np
  import torch

  from mer_jax.models import vgg

  def to_torch(a):
    return torch.tensor(np.ascontiguousarray(a))

  def write(params, path):
    sd = {}
    for layer in vgg.conv_names():
      sd[f"{layer}.weight"] = to_torch(np.asarray(params[layer]["kernel"]).transpose(3, 2, 0, 1))
      sd[f"{layer}.bias"] = to_torch(params[layer]["bias"])
    c = params["conv5_3"]["kernel"].shape[-1]
    fc6 = np.asarray(params["fc6"]["kernel"])                   # [(h w c), out], NHWC order
    side = int(round((fc6.shape[0] // c) ** 0.5))
    sd["fc6.weight"] = to_torch(fc6.reshape(side, side, c, -1).transpose(3, 2, 0, 1)
                                .reshape(fc6.shape[1], -1))
    for layer in ("fc7", "fc8"):
      if layer in params:
        sd[f"{layer}.weight"] = to_torch(np.asarray(params[layer]["kernel"]).T)
    for layer in ("fc6", "fc7", "fc8"):
      if layer in params:
        sd[f"{layer}.bias"] = to_torch(params[layer]["bias"])
    torch.save(sd, path)
    return path

  return write
