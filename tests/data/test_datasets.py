"""datasets.load: a root that holds another corpus' layout says which corpus it looks like.

The trees are a few empty folders and files named as the corpora name them
(datasets.md sections 1-5); the adapters fail on them, and the error must
name the corpus the folder looks like and the flag to set, while a folder of
no known corpus (or one with the dataset's own marks) keeps the adapter's
own error.
"""

import pytest

from mer_jax.data import datasets, samm
from mer_jax.errors import DataError


def casme2_root(tmp_path):
  root = tmp_path / "CASME2"
  (root / "Cropped" / "sub01" / "EP02_01f").mkdir(parents=True)
  (root / "CASME2-coding-20140508.xlsx").write_bytes(b"")
  return str(root)


def samm_root(tmp_path):
  root = tmp_path / "SAMM_root"
  (root / "SAMM" / "006" / "006_1_2").mkdir(parents=True)
  (root / "SAMM_Micro_FACS_Codes_v2.xlsx").write_bytes(b"")
  return str(root)


@pytest.mark.parametrize("make_root, name, title, holds", [
    (casme2_root, "samm", "CASME II", "CASME2-coding-20140508.xlsx, Cropped/sub01"),
    (samm_root, "casme2", "SAMM", "SAMM_Micro_FACS_Codes_v2.xlsx, SAMM/006"),
    (samm_root, "casme", "SAMM", "SAMM/006"),
    (casme2_root, "smic_vis", "CASME II", "Cropped/sub01"),
])
def test_a_root_of_another_corpus_names_it_and_the_flag(tmp_path, make_root, name, title,
                                                         holds):
  root = make_root(tmp_path)
  with pytest.raises(DataError) as info:
    datasets.load(name, root)
  message = str(info.value)
  assert message.startswith(f"{root}, the root given for dataset {name!r}, looks like "
                            f"{title}'s layout")
  assert holds in message and f"set --config.data.roots.{name} " in message
  assert isinstance(info.value.__cause__, DataError)  # the adapter's own error, chained


def test_an_unknown_or_empty_folder_keeps_the_adapters_error(tmp_path):
  (tmp_path / "notes.txt").write_text("not a corpus")
  with pytest.raises(DataError) as direct:
    samm.load(str(tmp_path))
  with pytest.raises(DataError) as via_load:
    datasets.load("samm", str(tmp_path))
  assert str(via_load.value) == str(direct.value) and "looks like" not in str(via_load.value)
  assert datasets.other_corpus("samm", str(tmp_path)) is None
  assert datasets.other_corpus("casme2", str(tmp_path / "missing")) is None
  with pytest.raises(DataError, match="is not a folder"):
    datasets.load("casme2", str(tmp_path / "missing"))


def test_a_root_with_its_own_marks_keeps_the_adapters_error(tmp_path):
  root = casme2_root(tmp_path)  # an empty (unreadable) coding file, and SAMM's folder too
  (tmp_path / "CASME2" / "SAMM" / "006").mkdir(parents=True)
  with pytest.raises(DataError, match=r"CASME2-coding-20140508\.xlsx is not a readable") as e:
    datasets.load("casme2", root)
  assert "looks like" not in str(e.value)
  assert datasets.other_corpus("casme2", root) is None
