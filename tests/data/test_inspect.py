"""Tests for mer_jax.data.inspect: the counting functions and the command line.

The counts are checked on the synthetic data (generated in memory, fast);
the MEGC 2019 summary on the CASME II and SAMM annotation files plus SMIC
samples named from the official GT; the CLI through a subprocess (absl
flags are global), including the one-line errors with exit status 2.
"""

import json
import re
import subprocess
import sys

import pytest

from mer_jax.data import casme2
from mer_jax.data import inspect
from mer_jax.data import labels
from mer_jax.data import megc
from mer_jax.data import native
from mer_jax.data import samm
from mer_jax.data import synthetic
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import ConfigError

KEYS = {"n_samples", "n_subjects", "per_label", "per_subject", "excluded", "repaired"}


@pytest.fixture(scope="module")
def synthetic_scan() -> Scan:
  return Scan(synthetic.generate().samples, [])


def run_inspect(repo_root, *args):
  return subprocess.run([sys.executable, "-m", "mer_jax.data.inspect", *args],
                        cwd=repo_root, capture_output=True, text=True, timeout=120)


def check_adds_up(summary: dict) -> None:
  assert KEYS <= set(summary)
  assert sum(summary["per_label"].values()) == summary["n_samples"]
  assert sum(summary["per_subject"].values()) == summary["n_samples"]
  assert len(summary["per_subject"]) == summary["n_subjects"]
  assert summary["n_samples"] + sum(summary["left_out"].values()) == summary["n_found"]

# --------------------------------------------------------------- counting ---


def test_corpus_labels_add_up(synthetic_scan):
  summary = inspect.summarize(synthetic_scan)
  check_adds_up(summary)
  assert summary["n_samples"] == 96 and summary["n_subjects"] == 8
  assert set(summary["per_label"]) == {s.emotion for s in synthetic_scan.samples}
  assert summary["excluded"] == [] and summary["repaired"] == []


def test_scheme_uses_its_class_names_and_lists_what_it_leaves_out(synthetic_scan):
  scheme = labels.get_scheme("three_class")
  summary = inspect.summarize(synthetic_scan, scheme)
  check_adds_up(summary)
  assert tuple(summary["per_label"]) == scheme.class_names
  others = sum(s.emotion == "others" for s in synthetic_scan.samples)
  assert summary["left_out"] == {"others": others} and others > 0
  assert len(summary["excluded"]) == others
  assert all("not in scheme 'three_class'" in e["reason"] for e in summary["excluded"])


def test_exclusions_and_repairs_are_listed_with_reasons():
  kept = [Sample("casme2", "sub01", "EP01", "happiness", 1, 2, 3),
          Sample("casme2", "sub02", "EP02", "others", 1, 2, 3, apex_source="midpoint")]
  scan = Scan(kept, [Exclusion("casme2/sub03/EP03", "row 9: onset > offset"),
                     Exclusion("casme2/sub02/EP02", "apex '/': midpoint", repaired=True)])
  summary = inspect.summarize(scan)
  assert summary["excluded"] == [{"sample": "casme2/sub03/EP03",
                                  "reason": "row 9: onset > offset"}]
  assert summary["repaired"] == [{"sample": "casme2/sub02/EP02",
                                  "reason": "apex '/': midpoint"}]
  assert summary["per_subject"] == {"casme2/sub01": 1, "casme2/sub02": 1}
  text = inspect.format_summary("casme2", summary)
  assert "excluded (1):\n  casme2/sub03/EP03: row 9: onset > offset" in text
  assert "sub01 1  sub02 1" in text


def test_megc2019_summary_per_database(shared_dir):
  root = shared_dir / "reference" / "annotations"
  c, c_notes = casme2.read_coding(str(root / "CASME2-coding-20140508.xlsx"))
  s, s_notes = samm.read_codes(str(root / "SAMM_Micro_FACS_Codes_v2.xlsx"))
  gt = megc.read_megc2019_gt(str(root / "combined_3class_gt.csv"))
  smic = [Sample("smic", f"s{int(subj[1:])}", f"s{int(subj[1:])}{clip[3:]}",
                 ("negative", "positive", "surprise")[y], 1, 2, 3, apex_source="midpoint")
          for db, subj, clip, y in gt if db == "smic"]
  scans = {"casme2": Scan(c, c_notes), "samm": Scan(s, s_notes), "smic": Scan(smic, [])}
  summary = inspect.summarize_protocol(scans, "megc2019")
  check_adds_up(summary)
  assert summary["n_samples"] == 442 and summary["n_subjects"] == 68
  assert summary["per_label"] == {"negative": 250, "positive": 109, "surprise": 83}
  per_db = {k: (v["n_samples"], v["n_subjects"], tuple(v["per_label"].values()))
            for k, v in summary["per_database"].items()}
  assert per_db == {"casme2": (145, 24, (88, 32, 25)), "samm": (133, 28, (92, 26, 15)),
                    "smic": (164, 16, (70, 51, 43))}
  assert any(e["sample"] == "casme2/sub05/EP09_05f" for e in summary["excluded"])
  assert "casme2/sub04/EP12_01f" in {r["sample"] for r in summary["repaired"]}
  text = inspect.format_summary("megc2019", summary)
  assert re.search(r"\n  casme2 +88 +32 +25 +145 +24\n", text)

# ---------------------------------------------------------- flag helpers ---


def test_parse_roots():
  assert inspect.parse_roots(["/data/c2"]) == {None: "/data/c2"}
  assert inspect.parse_roots(["casme2=/a", "samm=/b=c"]) == {"casme2": "/a", "samm": "/b=c"}
  assert inspect.parse_roots(["/odd=dir"]) == {None: "/odd=dir"}
  with pytest.raises(ConfigError, match="--root given twice for casme2"):
    inspect.parse_roots(["casme2=/a", "casme2=/b"])


def test_resolve_dataset():
  assert inspect.resolve_dataset("smic", "vis") == "smic_vis"
  assert inspect.resolve_dataset("casme2", None) == "casme2"
  with pytest.raises(ConfigError, match="applies to --dataset=smic only"):
    inspect.resolve_dataset("samm", "nir")
  with pytest.raises(ConfigError, match="--dataset='casme9' is unknown"):
    inspect.resolve_dataset("casme9", None)

# ------------------------------------------------------------------- CLI ---


def test_cli_json_on_synthetic(repo_root):
  out = run_inspect(repo_root, "--dataset=synthetic", "--json")
  assert out.returncode == 0, out.stderr
  summary = json.loads(out.stdout)
  check_adds_up(summary)
  assert summary["n_samples"] == 96 and summary["n_subjects"] == 8


def test_cli_json_with_scheme(repo_root):
  out = run_inspect(repo_root, "--dataset=synthetic", "--scheme=casme2_5", "--json")
  assert out.returncode == 0, out.stderr
  summary = json.loads(out.stdout)
  check_adds_up(summary)
  assert tuple(summary["per_label"]) == labels.get_scheme("casme2_5").class_names
  assert set(summary["left_out"]) == {"fear", "sadness"}


def test_cli_text_from_a_native_root(repo_root, tmp_path):
  spec = synthetic.SyntheticSpec(num_subjects=2, clips_per_subject=3, image_size=16)
  native.write_native(synthetic.generate(spec), str(tmp_path))
  out = run_inspect(repo_root, "--dataset=synthetic", f"--root={tmp_path}")
  assert out.returncode == 0, out.stderr
  assert out.stdout.startswith("synthetic: 6 samples, 2 subjects\n")
  assert "per subject:\n  sub01 3  sub02 3" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--dataset=synthetic", "--root=/no/such/dir"], "--root=/no/such/dir: no such directory"),
    (["--dataset=casme2", "--root=/no/such/dir"], "--root=/no/such/dir: no such directory"),
    (["--dataset=synthetic", "--scheme=nine_class"], "is not a label scheme"),
    (["--dataset=casme2"], "--dataset=casme2 needs --root=DIR"),
    (["--protocol=megc2019", "--root=casme2=/a"], "needs --root=NAME=DIR for exactly"),
    (["--dataset=synthetic", "--bogus"], "Unknown command line flag 'bogus'"),
    ([], "give either --dataset=NAME or --protocol=NAME"),
])
def test_cli_bad_input_is_one_line_and_status_2(repo_root, args, message):
  out = run_inspect(repo_root, *args)
  assert out.returncode == 2, out.stderr
  assert out.stderr.startswith("mer_jax: error: ") and message in out.stderr
  assert out.stderr.count("\n") == 1 and out.stdout == ""
