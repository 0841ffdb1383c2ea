"""Test set-up: four CPU devices (set before jax is imported), quiet TensorFlow.

Four devices let the tests exercise the ('fold', 'data') mesh exactly as an
accelerator host would, e.g. 4 folds at once versus 1 fold over 4 devices.
"""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

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
