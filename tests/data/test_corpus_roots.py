"""Corpora configured once: config field > datasets file > $MER_JAX_DATA (data/corpus_roots.py)."""

import os
import pathlib
import subprocess
import sys

import pytest

import corpus_trees
from mer_jax import config_files
from mer_jax.data import corpus_roots, root_settings
from mer_jax.errors import ConfigError


def touch(path: pathlib.Path) -> pathlib.Path:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.touch()
  return path


@pytest.fixture
def home(tmp_path, monkeypatch):
  """A data home with CASME II and SAMM under their distributed names, SMIC under another."""
  home = tmp_path / "corpora"
  touch(home / "CASME2" / "CASME2-coding-20140508.xlsx")
  (home / "CASME2" / "Cropped" / "sub01").mkdir(parents=True)
  touch(home / "SAMM" / "SAMM_Micro_FACS_Codes_v2.xlsx")
  (home / "SAMM" / "SAMM" / "006").mkdir(parents=True)
  (home / "my_smic_copy" / "SMIC_all_cropped" / "HS").mkdir(parents=True)
  monkeypatch.setenv("MER_JAX_DATA", str(home))
  monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
  return home


def test_the_data_home_gives_each_corpus_its_child_by_name_or_by_its_marks(home):
  assert corpus_roots.find_in_data_home(str(home), "casme2") == str(home / "CASME2")
  assert corpus_roots.find_in_data_home(str(home), "samm") == str(home / "SAMM")
  assert corpus_roots.find_in_data_home(str(home), "smic_vis") == str(home / "my_smic_copy")
  assert corpus_roots.find_in_data_home(str(home), "casme") is None
  found = corpus_roots.found_roots()
  assert list(found) == ["casme2", "samm", "smic", "smic_vis", "smic_nir"]
  assert {r.source for r in found.values()} == {"$MER_JAX_DATA"}


def test_a_home_that_is_itself_a_corpus_root_is_that_root(tmp_path):
  (tmp_path / "SMIC_all_raw" / "HS").mkdir(parents=True)
  assert corpus_roots.find_in_data_home(str(tmp_path), "smic") == str(tmp_path)


def test_the_config_field_beats_the_file_which_beats_the_data_home(home, tmp_path):
  user_file = tmp_path / "config" / "mer_jax" / "datasets.toml"
  user_file.parent.mkdir(parents=True)
  user_file.write_text('samm = "/from/the/file"\n')
  data = {"datasets": ("casme2", "samm", "smic", "synthetic"),
          "roots": {"casme2": "/from/the/flag", "samm": "", "smic": "", "synthetic": ""}}
  found = corpus_roots.fill_config_roots(data)
  assert data["roots"] == {"casme2": "/from/the/flag", "samm": "/from/the/file",
                           "smic": str(home / "my_smic_copy"), "synthetic": ""}
  assert [found[n].source for n in ("casme2", "samm", "smic")] == [
      "config", str(user_file), "$MER_JAX_DATA"]


def test_the_file_may_hold_a_roots_table_and_its_path_an_environment_variable(
    tmp_path, monkeypatch):
  path = tmp_path / "mine.toml"
  path.write_text('[roots]\ncasme2 = "~/CASME2"\n')
  monkeypatch.setenv("MER_JAX_DATASETS_FILE", str(path))
  assert root_settings.user_file() == str(path)
  assert corpus_roots.resolve("casme2") == corpus_roots.FoundRoot(
      os.path.expanduser("~/CASME2"), str(path))


@pytest.mark.parametrize("text, message", [
    ('casme2 = "/a"\nsam = "/b"\n', "'sam' is not a dataset; expected some of"),
    ("casme2 = 3\n", "casme2 = 3; expected a folder as a quoted string"),
    ("casme2 = /data/CASME2\n", "cannot be read as TOML"),
])
def test_a_bad_datasets_file_is_an_error_naming_the_file(tmp_path, monkeypatch, text,
                                                         message):
  path = tmp_path / "datasets.toml"
  path.write_text(text)
  monkeypatch.setenv("MER_JAX_DATASETS_FILE", str(path))
  with pytest.raises(ConfigError, match="datasets.toml") as e:
    corpus_roots.resolve("casme2")
  assert message in str(e.value)


def test_a_datasets_file_variable_that_names_no_file_is_an_error(tmp_path, monkeypatch):
  monkeypatch.setenv("MER_JAX_DATASETS_FILE", str(tmp_path / "absent.toml"))
  with pytest.raises(ConfigError, match="absent.toml: no such file"):
    corpus_roots.resolve("samm")


@pytest.fixture(scope="module")
def megc2019_home(tmp_path_factory, shared_dir):
  del shared_dir  # the trees hold the real annotation files
  home = tmp_path_factory.mktemp("home")
  corpus_trees.write_megc2019_trees(home, samm_size=(320, 240), distinct=2)
  return home


def run_module(repo_root, home, *args):
  env = {**os.environ, "MER_JAX_DATA": str(home)}
  return subprocess.run([sys.executable, "-m", *args], cwd=repo_root, env=env,
                        capture_output=True, text=True, timeout=600, check=False)


def test_atnet_cde_finds_all_three_corpora_with_only_the_data_home_set(
    repo_root, megc2019_home, tmp_path, monkeypatch):
  monkeypatch.setenv("MER_JAX_DATA", str(megc2019_home))
  config = config_files.load_config(str(repo_root / "configs" / "atnet.py"), "cde")
  found = corpus_roots.fill_config_roots(config.data)
  assert {n: config.data.roots[n] for n in found} == {
      "casme2": str(megc2019_home / "CASME2"), "samm": str(megc2019_home / "SAMM"),
      "smic": str(megc2019_home / "SMIC")}
  # The command logs the three corpora; to stay fast, its workdir (under a file) cannot be made.
  (tmp_path / "a_file").touch()
  out = run_module(repo_root, megc2019_home, "mer_jax.main", "--config=configs/atnet.py:cde",
                   f"--workdir={tmp_path / 'a_file' / 'run'}")
  for name, folder in (("casme2", "CASME2"), ("samm", "SAMM"), ("smic", "SMIC")):
    assert f"{name}: {megc2019_home / folder} (from $MER_JAX_DATA)" in out.stderr
  assert out.returncode == 2 and "is not a writable directory" in out.stderr.splitlines()[-1]


def test_inspect_without_flags_lists_the_corpora_and_the_protocol_reads_them(
    repo_root, megc2019_home):
  out = run_module(repo_root, megc2019_home, "mer_jax.inspect")
  assert out.returncode == 0, out.stderr
  assert f"casme2    {megc2019_home / 'CASME2'} (from $MER_JAX_DATA): parses: 255 samples" \
      in out.stdout
  assert f"samm      {megc2019_home / 'SAMM'} (from $MER_JAX_DATA): parses: 159 samples" \
      in out.stdout
  assert "smic" in out.stdout and "casme_sq" not in out.stdout
  out = run_module(repo_root, megc2019_home, "mer_jax.inspect", "--protocol=megc2019",
                   "--nocheck_frames")
  assert out.returncode == 0, out.stderr
  assert out.stdout.startswith("megc2019: 442 samples, 68 subjects")
