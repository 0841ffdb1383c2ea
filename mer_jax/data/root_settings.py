"""The names and places by which a user tells mer_jax where the corpora are.

The settings themselves (config field > datasets file > `$MER_JAX_DATA`) are
resolved by data/corpus_roots.py; this module holds only what an error
message anywhere in data/ needs to tell the user how to set a root, so that
the layout checks need not import the resolver (which imports them).
"""

from __future__ import annotations

import os

DATA_HOME_ENV = "MER_JAX_DATA"
USER_FILE_ENV = "MER_JAX_DATASETS_FILE"

# Dataset -> the top-level folder names its corpus is distributed (or commonly unpacked) under.
DISTRIBUTED_NAMES: dict[str, tuple[str, ...]] = {
    "casme": ("CASME", "CASME1", "CASME_I", "CASMEI"),
    "casme2": ("CASME2", "CASME_II", "CASMEII", "CASME_2"),
    "samm": ("SAMM",),
    "smic": ("SMIC",),
    "smic_vis": ("SMIC",),
    "smic_nir": ("SMIC",),
    "casme_sq": ("CAS(ME)^2", "CAS(ME)2", "CASME^2", "CASME_sq", "CASME2_long"),
}


def user_file() -> str:
  """The path of the user's datasets file (it need not exist)."""
  if path := os.environ.get(USER_FILE_ENV):
    return os.path.expanduser(path)
  config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
  return os.path.join(config_home, "mer_jax", "datasets.toml")


def how_to_set(name: str) -> str:
  """The ways to give dataset `name` a root, for an error message."""
  return (f"set --config.data.roots.{name}=/path/to/it, add the line {name} = "
          f"\"/path/to/it\" to {user_file()}, or set ${DATA_HOME_ENV} to the folder that holds "
          f"{DISTRIBUTED_NAMES[name][0]}/")
