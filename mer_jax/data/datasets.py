"""The dataset registry: a name in `config.data.datasets` -> the adapter that reads it.

Every adapter module (ADAPTERS for the corpora, BUILT_IN for mer_jax's own
data) has `load(root, *, apex='annotated', **options) -> Scan`
(data/sample.py) and returns the samples it found under `root`, sorted by
subject then clip, with every sample it excluded or repaired and why.
A built-in dataset can also be generated in memory without a root
(`generate`). Adapters are imported on first use. When an adapter cannot read a root that
has none of its corpus' marks but another corpus' (LAYOUTS), the error says
which corpus the folder looks like.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Mapping

import numpy as np

from mer_jax.data.sample import Sample, Scan
from mer_jax.errors import ConfigError, DataError

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


# Options each adapter takes, with their defaults ('' = the adapter decides: a
# config field cannot hold None and still be overridden from the command line);
# configs copy these so `--config.data.adapter_options.casme2.frames=...` works.
ADAPTER_OPTIONS: dict[str, dict[str, Any]] = {
    "casme": {"frames": "raw_selected", "coding": ""},
    "casme2": {"frames": "cropped", "coding": ""},
    "samm": {},
    # 'auto': SMIC_all_cropped when it holds the subset, else SMIC_all_raw.
    "smic": {"frames": "auto"},
    "smic_vis": {"frames": "auto"},
    "smic_nir": {"frames": "auto"},
    "casme_sq": {},
}
# Datasets built into mer_jax: name -> the module that reads one from a root
# (`load(root, *, apex)`) or, without a root, generates it in memory
# (`generate(options) -> (Scan, frame reader)`, options from config.data.<name>).
BUILT_IN: dict[str, str] = {"synthetic": "mer_jax.data.synthetic.source"}
NAMES = tuple(ADAPTERS) + tuple(BUILT_IN)

# Corpus -> (its name, what its root holds, the marks of that: globs under the
# root or a doubled top folder; datasets.md sections 1-5), enough to tell one
# corpus' folder from another's. The SMIC subsets share 'smic'.
LAYOUTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "casme2": ("CASME II", "CASME2-coding-20140508.xlsx beside Cropped/ and CASME2_RAW_selected/",
               ("CASME2-coding-*.xlsx", "CASME2-ObjectiveClasses.xlsx", "CASME2_RAW_selected",
                "Cropped/sub[0-9]*", "Cropped-updated")),
    "samm": ("SAMM", "SAMM_Micro_FACS_Codes_v2.xlsx beside SAMM/<subject>/",
             ("*Micro_FACS_Codes*.xlsx", "SAMM/*Micro_FACS_Codes*.xlsx",
              "SAMM/[0-9][0-9][0-9]", "SAMM/SAMM/[0-9][0-9][0-9]")),
    "casme": ("CASME (I)", "CASME-coded-20190721.xlsx beside CASME_raw_selected/",
              ("CASME-coded*.xls*", "CASME_raw_selected", "CASME_RAW_selected",
               "CASME_cropped_selected", "CASME_Cropped_selected")),
    "smic": ("SMIC", "SMIC_all_raw/ or SMIC_all_cropped/",
             ("SMIC_all_raw", "SMIC_all_cropped")),
    "casme_sq": ("CAS(ME)^2", "CAS(ME)^2code_final.xlsx beside rawpic/",
                 ("*code_final*.xlsx", "rawpic/s[0-9]*")),
}


def default_data_config() -> dict[str, Any]:
  """The `config.data` fields every experiment shares: roots, options, apex, cache, synthetic."""
  return {"roots": {name: "" for name in NAMES},
          "adapter_options": {k: dict(v) for k, v in ADAPTER_OPTIONS.items()},
          "apex": "annotated",
          # TFRecord cache of preprocessed datasets (data/builders.py); '' = no cache.
          "cache_dir": "auto",  # 'auto': $TFDS_DATA_DIR, else ~/tensorflow_datasets
          # A published protocol's clip counts (data/manifests.py); '' = none. With
          # allow_missing a run with fewer clips goes on and says 'N of M clips'.
          "manifest": "",
          "allow_missing": False,
          # The built-in dataset the :demo variants use (data/synthetic/).
          "synthetic": dict(num_subjects=12, clips_per_subject=15, image_size=64,
                            difficulty=1.0, jitter_px=0.3, flicker=0.02, noise_std=2.0,
                            seed=0)}


def check_options(name: str, options: dict[str, Any], *, where: str = "adapter options"
                  ) -> None:
  """Raises ConfigError when `options` names an option adapter `name` does not take.

  Args:
    name: a dataset in ADAPTERS.
    options: option name -> value.
    where: how the user gave them, for the message ('--adapter_options').
  """
  known = ADAPTER_OPTIONS.get(name, {})
  unknown = sorted(set(options) - set(known))
  if unknown:
    listed = (", ".join(f"{k} (default {v!r})" for k, v in known.items())
              or "none")
    raise ConfigError(f"{where}: dataset {name!r} has no option(s) {unknown}; its "
                      f"options are: {listed}")


def load(name: str, root: str, *, apex: str = "annotated", **options: Any) -> Scan:
  """Reads dataset `name` from `root` with its adapter.

  Raises:
    ConfigError: an unknown dataset, or an option its adapter does not take.
  """
  if name not in NAMES:
    raise ConfigError(f"dataset {name!r} is unknown; expected one of {sorted(NAMES)}")
  check_options(name, options)
  if name in BUILT_IN:
    return importlib.import_module(BUILT_IN[name]).load(root, apex=apex)
  module, fixed = ADAPTERS[name]
  options = {k: v for k, v in options.items() if v != ""}
  try:
    return importlib.import_module(module).load(root, apex=apex, **fixed, **options)
  except DataError as e:
    if why := other_corpus(name, root):
      raise DataError(why) from e
    raise


def generate(name: str, options: Mapping[str, Any]
             ) -> tuple[Scan, Callable[[Sample], np.ndarray]]:
  """Built-in dataset `name` generated in memory: (its scan, how to read a sample's frames).

  `options`: `config.data.<name>`, e.g. the SyntheticSpec fields of 'synthetic'.

  Raises:
    ConfigError: `name` is not built in (a corpus needs a root), or a bad option.
  """
  if name not in BUILT_IN:
    raise ConfigError(f"dataset {name!r} needs a root folder (only {sorted(BUILT_IN)} can "
                      "be generated in memory)")
  return importlib.import_module(BUILT_IN[name]).generate(options)


def other_corpus(name: str, root: str) -> str | None:
  """Why `root` is not dataset `name`'s folder when it has none of its marks but another's."""
  from mer_jax.data import layout  # pylint: disable=g-import-not-at-top (configs import this)
  corpus = "smic" if name.startswith("smic") else name
  title, holds, marks = LAYOUTS[corpus]
  if not root or not os.path.isdir(root) or layout.holds_any(root, marks):
    return None
  for other, (other_title, _, other_marks) in LAYOUTS.items():
    if other != corpus and (found := layout.holds_any(root, other_marks)):
      return (f"{root}, the root given for dataset {name!r}, looks like {other_title}'s "
              f"layout (it holds {', '.join(found)}), not {title}'s ({holds}): set "
              f"--config.data.roots.{name} to the {title} folder (this one is a root for "
              f"{other!r})")
  return None
