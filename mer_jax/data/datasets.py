"""The dataset registry: a name in `config.data.datasets` -> the adapter that reads it.

Every adapter module has `load(root, *, apex='annotated', **options) -> Scan`
(data/sample.py) and returns the samples it found under `root`, sorted by
subject then clip, with every sample it excluded or repaired and why.
Adapters are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mer_jax.data.sample import Scan
from mer_jax.errors import ConfigError

# name -> (adapter module, fixed options). 'smic' is SMIC-HS, as in MEGC 2019.
ADAPTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "casme": ("mer_jax.data.casme", {}),
    "casme2": ("mer_jax.data.casme2", {}),
    "samm": ("mer_jax.data.samm", {}),
    "smic": ("mer_jax.data.smic", {"subset": "hs"}),
    "smic_vis": ("mer_jax.data.smic", {"subset": "vis"}),
    "smic_nir": ("mer_jax.data.smic", {"subset": "nir"}),
    "casme_sq": ("mer_jax.data.casme_sq", {}),
}


def load(name: str, root: str, *, apex: str = "annotated", **options: Any) -> Scan:
  """Reads dataset `name` from `root` with its adapter."""
  if name not in ADAPTERS:
    raise ConfigError(f"dataset {name!r} is unknown; expected one of "
                      f"{sorted(ADAPTERS) + ['synthetic']}")
  module, fixed = ADAPTERS[name]
  return importlib.import_module(module).load(root, apex=apex, **fixed, **options)
