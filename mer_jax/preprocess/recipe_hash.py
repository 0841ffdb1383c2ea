"""A stable short hash of a preprocessing recipe: the key of its cache.

The prepared TFRecords of a (dataset, recipe) pair live in a directory whose
name holds `recipe_hash(recipe_cfg)` (data/builders.py). Any change of the
recipe's name or of one of its parameters gives another hash, hence another
directory, so a stale cache is never read back (design.md, decision 5).

Why the hash goes into the builder-config name and not into the TFDS version:
TFDS versions are 'X.Y.Z' integers, and a version is meant to order releases
of one dataset; parameter sets have no order. The builder's version therefore
stays fixed ('1.1.0' since the named inputs) and changes only when the record format does.

The hash is taken over canonical JSON (keys sorted, no spaces, tuples as
lists), so it does not depend on dict order, on `dict` versus
`ml_collections.ConfigDict`, or on the Python process (unlike `hash()`).
Values keep their JSON type: `50` and `50.0` (or `1` and `True`) hash
differently, which can only cause an extra rebuild, never a stale read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import numpy as np

from mer_jax.errors import ConfigError

HASH_LENGTH = 10  # hex digits: 40 bits, ample for the recipes of one data_dir


def to_plain(value: Any) -> Any:
  """`value` as plain JSON types: dicts (also ConfigDicts), lists, str, numbers, None.

  Raises:
    ConfigError: a value that has no JSON form (e.g. a function or an array).
  """
  if hasattr(value, "to_dict"):  # ml_collections.ConfigDict / FrozenConfigDict
    value = value.to_dict()
  if isinstance(value, Mapping):
    return {str(k): to_plain(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_plain(v) for v in value]
  if isinstance(value, np.generic):
    return value.item()
  if value is None or isinstance(value, (str, bool, int, float)):
    return value
  raise ConfigError(f"recipe value {value!r} (type {type(value).__name__}) cannot be part "
                    "of a cache key; use numbers, strings, booleans, lists or dicts")


def canonical_json(value: Any) -> str:
  """The canonical JSON text of `value` (sorted keys, compact separators)."""
  return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"),
                    ensure_ascii=True, allow_nan=True)


def short_hash(value: Any, length: int = HASH_LENGTH) -> str:
  """The first `length` hex digits of the sha256 of `canonical_json(value)`."""
  return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()[:length]


def recipe_hash(recipe_cfg: Mapping) -> str:
  """A stable 10-hex-digit hash of a recipe's name and parameters.

  Args:
    recipe_cfg: `config.data.recipe`: a mapping (or ConfigDict) with `name` and
      the recipe's parameters.

  Returns:
    e.g. '3fa9c1e2b7'; equal for equal configs whatever their key order.

  Raises:
    ConfigError: the config has no `name`, or holds a value with no JSON form.
  """
  plain = to_plain(recipe_cfg)
  if not isinstance(plain, dict) or not plain.get("name"):
    raise ConfigError(f"a recipe config needs a 'name' field; got {plain!r}")
  return short_hash(plain)
