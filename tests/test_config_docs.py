"""Every field of every config file and variant has a meaning; `--print_config` prints them."""

import pathlib
import re
import subprocess
import sys

import pytest

from mer_jax import config_docs, config_files

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[1] / "configs").glob("*.py"))
# Module constants in which config files list their variants or variant parts.
VARIANT_LISTS = ("VARIANTS", "PROTOCOLS", "SIZES", "STUDIES", "STREAMS", "POINTS", "FRAMES",
                 "BINS")
DEMO = "--config=configs/elrcn_se.py:demo"


def listed_parts(path: pathlib.Path) -> set[str]:
  module = config_files.load_module(str(path))
  return {str(part) for name in VARIANT_LISTS for part in getattr(module, name, ())}


def variant_configs(path: pathlib.Path) -> dict:
  """{variant: config} of no variant, 'demo', 'smoke' and every part the file lists.

  Parts of the config a file builds on (`config_files.sibling(__file__, NAME)`)
  count too (HOOF takes LBP-TOP's protocols). A listed name that `get_config`
  refuses is no variant (ELRCN-TE's STREAMS are submodule names).
  """
  siblings = re.findall(r'sibling(?:_module)?\(__file__, "(\w+)"', path.read_text())
  parts = listed_parts(path).union(*(listed_parts(path.parent / f"{s}.py") for s in siblings))
  found = {None: config_files.load_config(str(path), None)}
  for part in sorted(parts | {"demo", "smoke"}):
    try:
      found[part] = config_files.load_config(str(path), part)
    except ValueError as e:
      assert "unknown variant" in str(e), e
  return found


def test_there_are_configs():
  assert CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_field_of_every_variant_has_a_meaning(path):
  configs = variant_configs(path)
  assert len(configs) >= 3, f"{path.name}: only {sorted(configs, key=str)} load"
  missing: dict[str, list] = {}
  for variant, config in configs.items():
    for field in config_docs.undocumented(config):
      missing.setdefault(field, []).append(variant or "''")
  assert not missing, (f"{path.name}: fields without a meaning in mer_jax/config_docs.py "
                       f"MEANINGS: " + "; ".join(f"{f} (variants {', '.join(v)})"
                                                 for f, v in sorted(missing.items())))


def test_a_removed_meaning_is_named(monkeypatch, repo_root):
  config = config_files.load_config(str(repo_root / "configs" / "elrcn_se.py"), "demo")
  assert config_docs.undocumented(config) == []
  monkeypatch.delitem(config_docs.MEANINGS, "schedule.base_lr")
  monkeypatch.delitem(config_docs.MEANINGS, "data.roots.*")
  assert config_docs.undocumented(config) == [
      f"data.roots.{name}" for name in sorted(config.data.roots) if name != "synthetic"
  ] + ["schedule.base_lr"]


def test_patterns_cover_fields_repeated_per_dataset_and_exact_paths_win():
  assert config_docs.meaning("data.roots.samm") == config_docs.MEANINGS["data.roots.*"]
  assert config_docs.meaning("data.roots.synthetic").startswith("folder of a written")
  smic = config_docs.MEANINGS["data.adapter_options.smic*.frames"]
  assert config_docs.meaning("data.adapter_options.smic_vis.frames") == smic
  assert config_docs.meaning("data.adapter_options.casme.frames") != smic
  assert config_docs.meaning("data.adapter_options.samm") is not None
  assert config_docs.meaning("data.roots.casme2.extra") is None
  assert config_docs.meaning("pretrain.schedule.base_lr").startswith("the learning rate")


def test_render_gives_each_field_its_meaning_and_the_base_configs_value(repo_root):
  path = str(repo_root / "configs" / "elrcn_se.py")
  text = config_docs.render(config_files.load_config(path, "demo"),
                            config_files.load_config(path, None))
  lines = text.splitlines()
  assert ("schedule.base_lr = 0.0003  # " + config_docs.MEANINGS["schedule.base_lr"]
          + " (default: 1e-05)") in lines
  assert any(line.startswith("seed = 0  # ") and line.endswith(" (default)") for line in lines)
  assert "[schedule]" in lines and "(undocumented)" not in text
  assert lines.index("[data]") < lines.index("[model]") < lines.index("[train]")


def run_main(repo_root, *args):
  return subprocess.run([sys.executable, *args], cwd=repo_root, capture_output=True,
                        text=True, timeout=300)


def test_print_config_prints_the_fields_without_workdir_or_tensorflow(repo_root):
  out = run_main(repo_root, "-X", "importtime", "-m", "mer_jax.main", DEMO, "--print_config")
  assert out.returncode == 0, out.stderr[-3000:]
  assert ("schedule.base_lr = 0.0003  # " + config_docs.MEANINGS["schedule.base_lr"]
          in out.stdout)
  imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
              for line in out.stderr.splitlines() if line.startswith("import time:")}
  assert "jax" in imported and "tensorflow" not in imported


def test_no_workdir_and_no_print_config_is_one_line(repo_root):
  out = run_main(repo_root, "-m", "mer_jax.main", DEMO)
  assert out.returncode == 2
  assert "--workdir=DIR is required (or --print_config" in out.stderr
  assert "Traceback" not in out.stderr
