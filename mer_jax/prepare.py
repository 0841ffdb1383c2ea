"""Prepare (preprocess and cache as TFRecords) the datasets of a config, or one dataset.

  python -m mer_jax.prepare --config=configs/atnet.py:cde \\
      --config.data.roots.casme2=/data/CASME2 --config.data.roots.samm=/data/SAMM \\
      --config.data.roots.smic=/data/SMIC
  python -m mer_jax.prepare --dataset=casme2 --root=/data/CASME2 --recipe=pixels \\
      --recipe_overrides='{"image_size": 50, "num_frames": 10}' --data_dir=~/tensorflow_datasets

With --config (a config file as `python -m mer_jax.main` takes it, with its
:VARIANT and --config.x=y overrides) every dataset of `config.data.datasets`
that has a root (in the config, the datasets file or $MER_JAX_DATA:
data/corpus_roots.py) is prepared exactly as that run will read it: its recipe,
adapter options, apex policy and `config.data.cache_dir`. So a cluster job can
prepare the caches on a CPU node before the training job starts.

Without --config, the recipe is `RECIPE_DEFAULTS[--recipe]` with the fields
of the JSON object --recipe_overrides replaced. The TFRecords go to
<data_dir>/mer_prepared/<dataset>-<recipe>-<hashes>/1.2.0/ (data/builders.py;
--data_dir 'auto' is $TFDS_DATA_DIR, else ~/tensorflow_datasets); a second run
with the same arguments on an unchanged corpus reuses them at once. The trainer reuses
them only if its `config.data.recipe` equals the recipe given here, field for
field. Prints where the records are, the number of samples and what was
excluded or repaired (the reasons are in exclusions.json beside the records).
Errors in the input (a recipe field, checked before any clip is read:
preprocess/recipe_fields.py) print one line `mer_jax: error: ...` and exit with status 2.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from absl import app
from absl import flags
from ml_collections import config_flags

from mer_jax import command_line
from mer_jax.data import apex as apex_lib
from mer_jax.data import builders
from mer_jax.data import corpus_roots
from mer_jax.data import datasets
from mer_jax.data import root_settings
from mer_jax.errors import ConfigError, MerError
from mer_jax.preprocess import recipe_fields, recipes

# Recipe name -> its parameters by default: the paper settings of the config
# that uses it (configs/elrcn_temporal_only.py), with 'linear' resampling
# until TIM is available.
RECIPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "pixels": {"image_size": 50, "num_frames": 10, "grayscale": True,
               "temporal": "tim", "subtract_onset": False},
    "elrcn_stack": {"face": "haar", "image_size": 224, "num_frames": 10, "temporal": "tim",
                    "channels": ("flow", "strain", "gray")},
    # Xia et al. 2018: 1966 px/channel is no square; 55 -> an exact 44x44 = 1936 crop.
    "mer_rcnn": {"image_size": 55, "center_crop": 0.8, "alpha": 10.0, "low": 0.05,
                 "high": 0.4, "max_frames": 150},
    "islam": {"image_size": 64, "num_frames": 12, "face": "haar", "subtract_onset": False},
    # Peng et al. 2019: grey 224 apex + 64 x 128 ADM from the 65 frames around the apex.
    "atnet": {"face": "haar", "image_size": 224, "flow_size": 224, "window": 65, "grid": 8,
              "pad": "front", "layout": "interleaved", "flow": "tvl1"},
}


def parse_json_object(flag: str, text: str) -> dict[str, Any]:
  """The JSON object given to `--flag`, or a ConfigError saying what is wrong."""
  try:
    value = json.loads(text)
  except json.JSONDecodeError as e:
    raise ConfigError(f"--{flag}={text!r} is not valid JSON: {e}") from e
  if not isinstance(value, dict):
    raise ConfigError(f"--{flag}={text!r} must be a JSON object, e.g. '{{\"image_size\": 50}}'")
  return value


def recipe_config(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
  """The recipe config: `name` + its defaults, with `overrides` applied.

  Raises:
    ConfigError: `overrides` names a field the recipe does not have (or 'name'),
      or a value the field does not accept (preprocess/recipe_fields.py).
  """
  defaults = RECIPE_DEFAULTS.get(name)
  if defaults is None:  # a recipe without defaults here: the overrides are all of it
    recipe = {"name": name, **overrides}
  else:
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
      raise ConfigError(f"--recipe_overrides: recipe {name!r} has no field(s) {unknown}; "
                        f"its fields are {sorted(defaults)} (choose the recipe with --recipe)")
    recipe = {"name": name, **defaults, **overrides}
  recipe_fields.check(recipe, "--recipe_overrides {}")
  return recipe


def format_report(path: str, summary: dict[str, Any]) -> str:
  """What `main` prints: where the records are and what they hold."""
  notes = summary["exclusions"]
  repaired = sum(1 for e in notes if e["repaired"])
  return "\n".join([
      f"prepared {summary['dataset']} with recipe {json.dumps(summary['recipe'], sort_keys=True)}",
      f"  TFRecords: {path}",
      f"  samples: {summary['num_samples']}",
      f"  excluded: {len(notes) - repaired}, repaired: {repaired} "
      f"(reasons in {path}/{builders.EXCLUSIONS_FILE})"])


def run(fv: flags.FlagValues) -> str:
  """Prepares what the flags ask for; returns the report. Raises MerError on bad input."""
  if fv.config is not None:
    if fv.dataset or fv.root:
      raise ConfigError("give either --config=FILE[:VARIANT] or --dataset/--root, not both")
    return run_config(fv.config)
  if not fv.dataset or not fv.root:
    raise ConfigError("give --config=FILE[:VARIANT], or both --dataset=NAME and --root=DIR")
  recipe = recipe_config(fv.recipe, parse_json_object("recipe_overrides", fv.recipe_overrides))
  options = parse_json_object("adapter_options", fv.adapter_options)
  data_dir = builders.resolve_cache_dir(fv.data_dir)
  if not data_dir:
    raise ConfigError("--data_dir='' turns the cache off; give a folder (or 'auto')")
  path = builders.prepare(fv.dataset, fv.root, recipe, data_dir, options, fv.apex)
  return format_report(path, builders.read_summary(path))


def run_config(config: Any) -> str:
  """Prepares every dataset of `config.data.datasets` that has a root, as the run reads it."""
  data = config.data
  recipes.check_config(data.recipe)  # Before any clip is read.
  data_dir = builders.resolve_cache_dir(data.cache_dir)
  if not data_dir:
    raise ConfigError("config.data.cache_dir='' turns the cache off, so there is nothing to "
                      "prepare; set it to a folder or 'auto'")
  corpus_roots.fill_config_roots(data)  # From the datasets file or $MER_JAX_DATA.
  names = [n for n in data.datasets if data.roots.get(n)]
  if not names:
    raise ConfigError(f"none of the config's datasets {list(data.datasets)} has a root; "
                      f"{root_settings.how_to_set(data.datasets[0])}")
  reports = []
  for name in names:
    options = dict(data.adapter_options.get(name, {}))
    path = builders.prepare(name, data.roots[name], data.recipe.to_dict(), data_dir,
                            options, data.apex)
    reports.append(format_report(path, builders.read_summary(path)))
  return "\n".join(reports)


def define_flags(fv: flags.FlagValues = flags.FLAGS) -> None:
  """Defines the CLI flags; called only when run as a program, not on import."""
  config_flags.DEFINE_config_file(
      "config", None, "Experiment config file, e.g. configs/atnet.py:cde, with "
      "--config.x=y overrides: prepares its datasets as that run reads them.",
      flag_values=fv, lock_config=True)
  flags.DEFINE_string("dataset", None, f"One of {list(datasets.NAMES)} ('synthetic': the "
                      "native layout written by mer_jax.data.synthetic).", flag_values=fv)
  flags.DEFINE_string("root", None, "Folder of the corpus (your licensed copy).", flag_values=fv)
  flags.DEFINE_string("recipe", "pixels", "Preprocessing recipe (preprocess/recipes.py).",
                      flag_values=fv)
  flags.DEFINE_string("recipe_overrides", "{}", "JSON object of recipe fields to change, "
                      "e.g. '{\"image_size\": 32}'.", flag_values=fv)
  flags.DEFINE_string("data_dir", "auto", "Where the TFRecords are written ('auto': "
                      "$TFDS_DATA_DIR, else ~/tensorflow_datasets).", flag_values=fv)
  flags.DEFINE_enum("apex", "annotated", list(apex_lib.POLICIES), "Apex policy.",
                    flag_values=fv)
  flags.DEFINE_string("adapter_options", "{}", "JSON object of adapter options, e.g. "
                      "'{\"frames\": \"raw_selected\"}' for CASME II.", flag_values=fv)


def main(argv: Sequence[str], fv: flags.FlagValues = flags.FLAGS) -> None:
  """Prepares the dataset and prints the report."""
  if len(argv) > 1:
    command_line.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    report = run(fv)
  except MerError as e:
    command_line.fail(str(e))
  print(report)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=command_line.parse_flags)
