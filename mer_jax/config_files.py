"""Loading experiment config files (`configs/*.py`) by path, as `--config` does.

Config files are plain modules with `get_config(arg)`; one config may build on
another (ELRCN-TE on ELRCN-SE) with `sibling(__file__, 'elrcn_se', arg)`, and
use its helpers through `sibling_module` (HOOF uses LBP-TOP's protocols).
Their variant arguments (`--config=configs/atnet.py:hde,fusion`) share one
parser, `parse_variant`.
"""

from __future__ import annotations

import importlib.util
import os
import types
from typing import Mapping, Sequence

import ml_collections


def load_module(path: str) -> types.ModuleType:
  """The config file at `path` as a module (its constants and helpers)."""
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(f"mer_jax_config_{name}", path)
  if spec is None or spec.loader is None:
    raise FileNotFoundError(f"{path}: not a Python config file")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_config(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
  """`get_config(arg)` of the config file at `path`."""
  return load_module(path).get_config(arg)


def sibling_module(config_file: str, name: str) -> types.ModuleType:
  """`name`.py in the directory of `config_file`, as a module."""
  return load_module(os.path.join(os.path.dirname(os.path.abspath(config_file)), f"{name}.py"))


def sibling(config_file: str, name: str, arg: str | None = None) -> ml_collections.ConfigDict:
  """The config of `name`.py in the directory of `config_file`, for variant `arg`."""
  return sibling_module(config_file, name).get_config(arg)


def parse_variant(arg: str | None, choices: Mapping[str, Sequence[str]], *,
                  defaults: Mapping[str, str | None] | None = None,
                  keyed: Sequence[str] = ()) -> dict[str, str | None]:
  """A config's variant argument, e.g. 'hde,fusion', as {group: part}.

  Each comma-separated part is one of a group's `choices` (at most one per
  group; a later part of the same group wins, as a later flag does) or, for
  the groups named in `keyed`, 'group=value' with any value. Groups the
  argument leaves out take their `defaults` (None without one). An unknown
  part is a ValueError listing what each group accepts.
  """
  found = {group: (defaults or {}).get(group) for group in (*choices, *keyed)}
  for part in filter(None, (arg or "").split(",")):
    key, _, value = part.partition("=")
    if key in keyed and value:
      found[key] = value
      continue
    group = next((g for g, options in choices.items() if part in options), None)
    if group is None:
      expected = "; ".join([f"{g}: {', '.join(o)}" for g, o in choices.items()]
                           + [f"{k}=VALUE" for k in keyed])
      raise ValueError(f"unknown variant part {part!r} in {arg!r}; expected ({expected})")
    found[group] = part
  return found
