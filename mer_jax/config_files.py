"""Loading experiment config files (`configs/*.py`) by path, as `--config` does.

Config files are plain modules with `get_config(arg)`; one config may build on
another (ELRCN-TE on ELRCN-SE) with `sibling(__file__, 'elrcn_se', arg)`.
"""

from __future__ import annotations

import importlib.util
import os

import ml_collections


def load_config(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
  """`get_config(arg)` of the config file at `path`."""
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(f"mer_jax_config_{name}", path)
  if spec is None or spec.loader is None:
    raise FileNotFoundError(f"{path}: not a Python config file")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def sibling(config_file: str, name: str, arg: str | None = None) -> ml_collections.ConfigDict:
  """The config of `name`.py in the directory of `config_file`, for variant `arg`."""
  path = os.path.join(os.path.dirname(os.path.abspath(config_file)), f"{name}.py")
  return load_config(path, arg)
