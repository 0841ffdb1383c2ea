"""Pretrained weights into a freshly initialised model (e.g. VGG-Face into ELRCN-TE).

`config.pretrained` names an importer kind and a file (`mer_jax.weights`)
and the submodules that receive the imported layers (`into`: one path per
copy, e.g. the three VGG streams of ELRCN-TE). Layers named in `skip`
(VGG-Face's 2622-way fc8) and layers the target does not have are left as
initialised; any other mismatch is an error that names the layer.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from absl import logging
import jax
import jax.numpy as jnp

from mer_jax import weights
from mer_jax.errors import ConfigError

Params = Mapping[str, Any]


def load(cfg: Mapping | None) -> Params | None:
  """The imported params named by `config.pretrained` without its `skip` layers.

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
        "VGG-Face weights', says where to get them and which formats work), or "
        "--config.pretrained.kind='' to train from scratch")
  skip = cfg.get("skip", ("fc8",))
  params = weights.load(cfg["kind"], cfg["path"])["params"]
  return {layer: tensors for layer, tensors in params.items() if layer not in skip}


def subtree(params: Params, path: str) -> Params:
  """The sub-dict of `params` at the '/'-separated `path`."""
  node = params
  for part in path.split("/"):
    if part not in node:
      raise ConfigError(f"config.pretrained.into names {path!r}, but the model has no "
                        f"{part!r} there; it has {sorted(node)}")
    node = node[part]
  return node


def replace_at(params: Params, path: str, value: Params) -> dict:
  """A copy of `params` with the sub-dict at `path` replaced by `value`."""
  head, _, rest = path.partition("/")
  out = dict(params)
  out[head] = replace_at(params[head], rest, value) if rest else value
  return out


def merge_layers(target: Params, imported: Params, path: str, skip: Sequence[str]) -> dict:
  """`target`'s layers, each replaced by the imported layer of the same name."""
  out = dict(target)
  for layer, tensors in imported.items():
    if layer in skip or layer not in target:
      continue
    for name, value in tensors.items():
      want = target[layer].get(name)
      if want is None or tuple(want.shape) != tuple(value.shape):
        raise ConfigError(
            f"pretrained {layer}/{name} has shape {tuple(value.shape)}, but {path}/{layer}/"
            f"{name} is {None if want is None else tuple(want.shape)}; the model's sizes "
            "must match the imported network's")
    out[layer] = {n: jnp.asarray(v, target[layer][n].dtype) for n, v in tensors.items()}
  return out


def place(params: Params, imported: Params | None, into: Sequence[str],
          skip: Sequence[str] = ("fc8",)) -> Params:
  """`params` with `imported` copied into each submodule of `into`."""
  if imported is None:
    return params
  for path in into:
    target = subtree(params, path)
    params = replace_at(params, path, merge_layers(target, imported, path, skip))
  return params


def describe(imported: Params, params: Params, into: Sequence[str],
             skip: Sequence[str]) -> None:
  """Logs which layers are imported and which stay as initialised."""
  for path in into:
    target = subtree(params, path)
    used = sorted(k for k in imported if k in target and k not in skip)
    fresh = sorted(k for k in target if k not in used)
    logging.info("pretrained -> %s: %d layers imported (%s ... %s); initialised: %s", path,
                 len(used), used[0] if used else "-", used[-1] if used else "-", fresh or "none")


def check(model, example: jax.Array, imported: Params | None, cfg: Mapping) -> None:
  """Fails early (before any compilation) if `imported` does not fit the model."""
  if imported is None:
    return
  skip = cfg.get("skip", ("fc8",))
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), example, train=False))
  jax.eval_shape(lambda p, i: place(p, i, cfg["into"], skip), shapes["params"], imported)
  describe(imported, shapes["params"], cfg["into"], skip)
