"""Pretrained weights into a freshly initialised model (e.g. VGG-Face into ELRCN-TE).

`config.pretrained` names an importer kind and a file (`mer_jax.weights`)
and the submodules that receive the imported layers (`into`: one path per
copy, e.g. the three VGG streams of ELRCN-TE, or '' for the whole model).
What is imported is a variables dict, `{'params': ..., 'batch_stats': ...}`
(batch statistics for networks with batch norm, e.g. the ResNets); each
collection goes to the same place in the model's collection. Layers named in
`skip` (VGG-Face's 2622-way fc8, a ResNet's ImageNet classifier) and layers
the target does not have are left as initialised; any other mismatch is an
error that names the layer.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from absl import logging
import jax
import jax.numpy as jnp

from mer_jax import weights
from mer_jax.errors import ConfigError

Params = Mapping[str, Any]
Variables = Mapping[str, Params]   # collection ('params', 'batch_stats') -> tree


def load(cfg: Mapping | None) -> Variables | None:
  """The imported variables named by `config.pretrained`, without its `skip` layers.

  None when `kind` is empty (no import).
  """
  if not cfg or not cfg.get("kind"):
    return None
  if not cfg.get("into"):
    raise ConfigError("config.pretrained.into is empty; name the submodules that receive "
                      f"the {cfg['kind']} weights (e.g. ('stream_flow',))")
  if not cfg.get("path"):
    raise ConfigError(
        f"config.pretrained.path is empty, but config.pretrained.kind={cfg['kind']!r} asks for "
        "pretrained weights: pass --config.pretrained.path=FILE (README.md, 'Pretrained "
        "weights', says where to get them and which formats work), or "
        "--config.pretrained.kind='' to train from scratch")
  return without(weights.load(cfg["kind"], cfg["path"]), cfg.get("skip", ("fc8",)))


def without(variables: Variables, skip: Sequence[str]) -> dict:
  """`variables` without the top-level layers named in `skip`, in every collection."""
  return {name: {layer: tree for layer, tree in collection.items() if layer not in skip}
          for name, collection in variables.items()}


def subtree(params: Params, path: str) -> Params:
  """The sub-dict of `params` at the '/'-separated `path` ('' is the root)."""
  node = params
  for part in filter(None, path.split("/")):
    if part not in node:
      raise ConfigError(f"config.pretrained.into names {path!r}, but the model has no "
                        f"{part!r} there; it has {sorted(node)}")
    node = node[part]
  return node


def replace_at(params: Params, path: str, value: Params) -> dict:
  """A copy of `params` with the sub-dict at `path` replaced by `value`."""
  if not path:
    return dict(value)
  head, _, rest = path.partition("/")
  out = dict(params)
  out[head] = replace_at(params[head], rest, value) if rest else value
  return out


def merge_layers(target: Params, imported: Params, path: str, skip: Sequence[str],
                 source: str = "") -> dict:
  """`target` with every imported entry of the same name (nested dicts merged recursively).

  `path` is where `target` sits in the model and `source` where `imported`
  sits in the file, both for messages.
  """
  out = dict(target)
  for name, value in imported.items():
    if name in skip or name not in target:
      continue
    want = target[name]
    where, what = f"{path}/{name}" if path else name, f"{source}/{name}" if source else name
    if isinstance(value, Mapping) and isinstance(want, Mapping):
      out[name] = merge_layers(want, value, where, (), what)
      continue
    if isinstance(value, Mapping) or isinstance(want, Mapping) or (
        tuple(want.shape) != tuple(value.shape)):
      found = "a layer" if isinstance(value, Mapping) else f"shape {tuple(value.shape)}"
      expected = "a layer" if isinstance(want, Mapping) else tuple(want.shape)
      raise ConfigError(f"pretrained {what} has {found}, but {where} is {expected}; the "
                        "model's sizes must match the imported network's")
    out[name] = jnp.asarray(value, want.dtype)
  return out


def place(params: Params, imported: Params | None, into: Sequence[str],
          skip: Sequence[str] = ("fc8",)) -> Params:
  """`params` (one collection) with `imported` copied into each submodule of `into`."""
  if imported is None:
    return params
  for path in into:
    target = subtree(params, path)
    params = replace_at(params, path, merge_layers(target, imported, path, skip))
  return params


def place_variables(variables: Variables, imported: Variables | None, into: Sequence[str],
                    skip: Sequence[str] = ("fc8",)) -> dict:
  """`variables` with each imported collection placed into the same collection."""
  out = dict(variables)
  for name, tree in (imported or {}).items():
    if not tree:  # e.g. the empty batch statistics of a network without batch norm
      continue
    if name not in out:
      raise ConfigError(f"pretrained weights have {name!r}, but the model has no such "
                        f"variables (it has {sorted(out)}); is it the right network?")
    out[name] = place(out[name], tree, into, skip)
  return out


def describe(imported: Variables, variables: Variables, into: Sequence[str],
             skip: Sequence[str]) -> None:
  """Logs which layers are imported and which stay as initialised."""
  params = variables["params"]
  for path in into:
    target = subtree(params, path)
    used = sorted(k for k in imported.get("params", {}) if k in target and k not in skip)
    fresh = sorted(k for k in target if k not in used)
    logging.info("pretrained -> %s: %d layers imported (%s ... %s); initialised: %s",
                 path or "<model>", len(used), used[0] if used else "-",
                 used[-1] if used else "-", fresh or "none")


def check(model, example: jax.Array, imported: Variables | None, cfg: Mapping) -> None:
  """Fails early (before any compilation) if `imported` does not fit the model."""
  if imported is None:
    return
  skip = cfg.get("skip", ("fc8",))
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), example, train=False))
  jax.eval_shape(lambda v, i: place_variables(v, i, cfg["into"], skip), dict(shapes), imported)
  describe(imported, shapes, cfg["into"], skip)
