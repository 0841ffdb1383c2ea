"""Where the user's corpora are, configured once for every command.

A dataset's root comes from the first of these that names it:

1. the config field `config.data.roots.NAME` (`--config.data.roots.NAME=DIR`);
2. the user file, `$MER_JAX_DATASETS_FILE` or else
   `$XDG_CONFIG_HOME/mer_jax/datasets.toml` (`~/.config/mer_jax/datasets.toml`),
   a TOML table of dataset name -> folder:

     casme2 = "/data/CASME2"
     samm = "/data/SAMM"

3. the data home `$MER_JAX_DATA`, a folder whose children are the corpora
   under the names they are distributed with (`CASME2`, `SAMM`, `SMIC`,
   `CASME`, `CAS(ME)^2`; LAYOUTS' marks tell which child is which when the
   name differs, and a home that itself holds a corpus' files is its root).

`fill_config_roots` writes what it found into the config, so the run's
config.json records the folders a run read; `found_roots` lists the file's
and the data home's corpora for `python -m mer_jax.inspect` without
arguments.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from typing import Any, Iterable, MutableMapping

from mer_jax.data import datasets, layout
from mer_jax.data.root_settings import DATA_HOME_ENV, DISTRIBUTED_NAMES, USER_FILE_ENV, user_file
from mer_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class FoundRoot:
  """A dataset's folder and where the setting came from ('config', the file, $MER_JAX_DATA)."""
  path: str
  source: str


def read_user_file(path: str) -> dict[str, str]:
  """The dataset -> folder table of the datasets file at `path`; {} when it does not exist.

  Raises:
    ConfigError: the file is not TOML, names an unknown dataset or a value that is
      not a folder name.
  """
  if not os.path.exists(path):
    if os.environ.get(USER_FILE_ENV):
      raise ConfigError(f"${USER_FILE_ENV}={path}: no such file; create it (lines like "
                        "casme2 = \"/data/CASME2\") or unset the variable")
    return {}
  try:
    with open(path, "rb") as f:
      table = tomllib.load(f)
  except (OSError, tomllib.TOMLDecodeError) as e:
    raise ConfigError(f"{path}: cannot be read as TOML ({e}); expected lines like "
                      "casme2 = \"/data/CASME2\"") from e
  table = table.get("roots", table)  # A [roots] table, or the names at the top level.
  for name, value in table.items():
    if name not in datasets.ADAPTERS:
      raise ConfigError(f"{path}: {name!r} is not a dataset; expected some of "
                        f"{sorted(datasets.ADAPTERS)}")
    if not isinstance(value, str) or not value:
      raise ConfigError(f"{path}: {name} = {value!r}; expected a folder as a quoted string, "
                        f"e.g. {name} = \"/data/{DISTRIBUTED_NAMES[name][0]}\"")
  return {name: os.path.expanduser(value) for name, value in table.items()}


def _corpus_marks(name: str) -> tuple[str, ...]:
  return datasets.LAYOUTS["smic" if name.startswith("smic") else name][2]


def find_in_data_home(home: str, name: str) -> str | None:
  """The folder under `home` that holds dataset `name`'s corpus, or None.

  Children with the corpus' distributed names are tried first, then every
  other child, then `home` itself; the first that has the corpus' marks
  (datasets.LAYOUTS) is the root.
  """
  if not os.path.isdir(home):
    return None
  children = sorted(e.name for e in os.scandir(home) if e.is_dir())
  named = [c for n in DISTRIBUTED_NAMES[name] for c in children if c.lower() == n.lower()]
  others = [c for c in children if c not in named]
  marks = _corpus_marks(name)
  for candidate in [os.path.join(home, c) for c in named + others] + [home]:
    if layout.holds_any(candidate, marks):
      return candidate
  return None


def resolve(name: str, configured: str = "") -> FoundRoot | None:
  """Dataset `name`'s root by the precedence above (config, file, data home), or None."""
  if configured:
    return FoundRoot(configured, "config")
  path = user_file()
  if root := read_user_file(path).get(name):
    return FoundRoot(root, path)
  home = os.environ.get(DATA_HOME_ENV)
  if home and (root := find_in_data_home(os.path.expanduser(home), name)):
    return FoundRoot(root, f"${DATA_HOME_ENV}")
  return None


def fill_config_roots(data_cfg: MutableMapping[str, Any],
                      names: Iterable[str] | None = None) -> dict[str, FoundRoot]:
  """Sets the empty `data_cfg['roots'][name]` of the config's datasets from the file or home.

  Args:
    data_cfg: `config.data` (roots, datasets).
    names: the datasets to fill (default `data_cfg['datasets']`); 'synthetic' never is.

  Returns:
    dataset -> its root and where it came from, for every dataset that has one.
  """
  found = {}
  for name in names if names is not None else data_cfg["datasets"]:
    if name not in datasets.ADAPTERS:
      continue
    if root := resolve(name, data_cfg["roots"].get(name, "")):
      data_cfg["roots"][name] = root.path
      found[name] = root
  return found


def found_roots() -> dict[str, FoundRoot]:
  """Every dataset the user file or the data home gives a root for, in ADAPTERS order."""
  return {name: root for name in datasets.ADAPTERS if (root := resolve(name))}


def describe(found: dict[str, FoundRoot]) -> str:
  """One line per dataset: 'casme2: /data/CASME2 (from $MER_JAX_DATA)'."""
  return "\n".join(f"{name}: {root.path} (from {root.source})" for name, root in found.items())
