"""Tests for mer_jax.inspect: the counting functions and the command line.

The counts are checked on the synthetic data (generated in memory, fast);
the MEGC 2019 summary on the CASME II and SAMM annotation files plus SMIC
samples named from the official GT; `inspect.inspect` on corpus trees that
the writers make from synthetic data (SMIC with only one of its frame trees,
a MEGC 2019 composite, 0-byte frames, adapter options), with flags parsed
into a FlagValues of the test's own; the CLI through a subprocess (absl
flags are global), including the one-line errors with exit status 2.
"""

import json
import os
import re
import shutil
import subprocess
import sys

from absl import flags
import pytest

from mer_jax.data import casme2
from mer_jax import inspect
from mer_jax.data import labels
from mer_jax.data import megc
from mer_jax.data.synthetic import native
from mer_jax.data import samm
from mer_jax.data import synthetic
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.data.synthetic.writers import casme2 as casme2_writer
from mer_jax.data.synthetic.writers import samm as samm_writer
from mer_jax.data.synthetic.writers import smic as smic_writer
from mer_jax.errors import ConfigError, DataError

KEYS = {"n_found", "n_samples", "n_subjects", "per_label", "per_subject",
        "left_out_per_label", "kept", "excluded", "left_out", "repaired"}


@pytest.fixture(scope="module")
def synthetic_scan() -> Scan:
  return Scan(synthetic.generate().samples, [])


def run_inspect(repo_root, *args):
  return subprocess.run([sys.executable, "-m", "mer_jax.inspect", *args],
                        cwd=repo_root, capture_output=True, text=True, timeout=120)


def check_adds_up(summary: dict) -> None:
  assert KEYS <= set(summary)
  assert sum(summary["per_label"].values()) == summary["n_samples"]
  assert sum(summary["per_subject"].values()) == summary["n_samples"]
  assert len(summary["per_subject"]) == summary["n_subjects"]
  assert summary["n_samples"] + sum(summary["left_out_per_label"].values()) == summary["n_found"]
  assert len(summary["kept"]) == summary["n_samples"]
  assert len(summary["left_out"]) == sum(summary["left_out_per_label"].values())
  assert not set(summary["kept"]) & {n["sample"] for n in summary["left_out"]}

# --------------------------------------------------------------- counting ---


def test_corpus_labels_add_up(synthetic_scan):
  summary = inspect.summarize(synthetic_scan)
  check_adds_up(summary)
  assert summary["n_samples"] == 96 and summary["n_subjects"] == 8
  assert set(summary["per_label"]) == {s.emotion for s in synthetic_scan.samples}
  assert summary["excluded"] == [] and summary["repaired"] == []
  assert summary["kept"] == [s.key for s in synthetic_scan.samples]


def test_scheme_uses_its_class_names_and_lists_what_it_leaves_out(synthetic_scan):
  scheme = labels.get_scheme("three_class")
  summary = inspect.summarize(synthetic_scan, scheme)
  check_adds_up(summary)
  assert tuple(summary["per_label"]) == scheme.class_names
  others = sum(s.emotion == "others" for s in synthetic_scan.samples)
  assert summary["left_out_per_label"] == {"others": others} and others > 0
  assert len(summary["left_out"]) == others and summary["excluded"] == []
  assert all("not in scheme 'three_class'" in e["reason"] for e in summary["left_out"])
  text = inspect.format_summary("synthetic", summary)
  assert f"excluded (0):\nleft out by scheme three_class ({others}):\n" in text


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
  assert any(e["sample"] == "casme2/sub05/EP09_05f" for e in summary["left_out"])
  assert summary["excluded"] == []
  casme2_part = summary["per_database"]["casme2"]
  assert casme2_part["n_found"] == 255 and len(casme2_part["kept"]) == 145
  assert len(casme2_part["left_out"]) == 110
  assert {k.partition("/")[0] for k in casme2_part["kept"]} == {"casme2"}
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
  assert set(summary["left_out_per_label"]) == {"fear", "sadness"}


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
    (["--protocol=megc2019", "--root=casme2=/a"], "needs a root for each of"),
    (["--dataset=synthetic", "--bogus"], "Unknown command line flag 'bogus'"),
    (["--dataset=synthetic", '--adapter_options={"frames": "raw"}'],
     "--adapter_options: dataset 'synthetic' has no option(s) ['frames']; its options are: "
     "none"),
    (["--dataset=smic", "--root=/no/such/dir", '--adapter_options={"frame": "raw"}'],
     "dataset 'smic' has no option(s) ['frame']; its options are: frames (default 'auto')"),
    (["--dataset=casme2", "--root=/no/such/dir", "--adapter_options=[1]"],
     "must be a JSON object"),
    (["--protocol=megc2019", "--root=casme2=/a", "--root=samm=/b", "--root=smic=/c",
      '--adapter_options={"casme": {"frames": "cropped"}}'],
     "keys are datasets of the protocol ['casme2', 'samm', 'smic']"),
    (["--scheme=megc2019"], "give either --dataset=NAME or --protocol=NAME"),
])
def test_cli_bad_input_is_one_line_and_status_2(repo_root, args, message):
  out = run_inspect(repo_root, *args)
  assert out.returncode == 2, out.stderr
  assert out.stderr.startswith("mer_jax: error: ") and message in out.stderr
  assert out.stderr.count("\n") == 1 and out.stdout == ""

# ------------------------------------------------------ on corpus trees ---

SPEC = synthetic.SyntheticSpec(num_subjects=2, clips_per_subject=5, image_size=16)
MEGC_NEGATIVE = {"disgust", "repression"}  # CASME II's negatives in MEGC 2019


def run_flags(*args: str) -> tuple[str, dict]:
  """inspect.inspect on its own FlagValues (absl's global flags stay untouched)."""
  fv = flags.FlagValues()
  inspect.define_flags(fv)
  fv(["inspect", *args])
  return inspect.inspect(fv)


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
  return synthetic.generate(SPEC)


@pytest.fixture(scope="module")
def smic_trees(data, tmp_path_factory) -> dict[str, str]:
  """SMIC roots holding only SMIC_all_cropped, or only SMIC_all_raw."""
  both = str(tmp_path_factory.mktemp("smic_both"))
  smic_writer.write(data, both)
  out = {}
  for name, drop in (("cropped", "SMIC_all_raw"), ("raw", "SMIC_all_cropped")):
    out[name] = shutil.copytree(both, str(tmp_path_factory.mktemp(f"smic_{name}")),
                                dirs_exist_ok=True)
    shutil.rmtree(os.path.join(out[name], drop))
  return out


def smic_clips(data) -> int:
  return sum(smic_writer.EMOTION_MAP[s.emotion] is not None for s in data.samples)


@pytest.mark.parametrize("tree, top", [("cropped", "SMIC_all_cropped"),
                                       ("raw", "SMIC_all_raw")])
def test_smic_with_only_one_frame_tree(data, smic_trees, tree, top):
  title, summary = run_flags("--dataset=smic", f"--root={smic_trees[tree]}")
  check_adds_up(summary)
  assert title == "smic" and summary["n_samples"] == smic_clips(data) > 0
  assert summary["excluded"] == [] and summary["left_out"] == []
  clips = summary["frame_check"]["clips"]
  assert clips == smic_clips(data) and summary["frame_check"]["unreadable"] == 0
  assert summary["frame_check"]["frames"] > clips
  assert [n["sample"] for n in summary["repaired"]] == ["smic/*/*"]  # midpoint apex


def test_adapter_options_reach_the_adapter(smic_trees):
  with pytest.raises(DataError, match="frames='raw' needs .*SMIC_all_raw/HS.*frames='auto'"):
    run_flags("--dataset=smic", f"--root={smic_trees['cropped']}",
              '--adapter_options={"frames": "raw"}')
  _, summary = run_flags("--dataset=smic", f"--root={smic_trees['raw']}",
                         '--adapter_options={"frames": "raw"}', "--nocheck_frames")
  assert summary["n_samples"] > 0 and summary["frame_check"] is None
  with pytest.raises(ConfigError, match=r"has no option\(s\) \['subset'\]"):
    run_flags("--dataset=smic", f"--root={smic_trees['raw']}",
              '--adapter_options={"subset": "vis"}')


def test_zero_byte_frames_exclude_the_clip(smic_trees, tmp_path):
  root = shutil.copytree(smic_trees["raw"], str(tmp_path / "smic"))
  _, before = run_flags("--dataset=smic", f"--root={root}")
  victim = before["kept"][0]
  _, subject, clip = victim.split("/")
  [folder] = [dp for dp, _, _ in os.walk(root) if os.path.basename(dp) == clip]
  names = sorted(os.listdir(folder))
  for name in names:
    open(os.path.join(folder, name), "wb").close()
  _, summary = run_flags("--dataset=smic", f"--root={root}", "--scheme=megc2019")
  check_adds_up(summary)
  assert victim not in summary["kept"] and summary["n_found"] == before["n_found"] - 1
  [excluded] = summary["excluded"]
  assert excluded["sample"] == victim
  assert os.path.join(folder, names[0]) in excluded["reason"]
  assert "empty (0 bytes)" in excluded["reason"]
  assert summary["frame_check"]["unreadable"] == 1
  text = inspect.format_summary("smic", summary)
  assert f"excluded (1):\n  {victim}: unreadable frame: {folder}" in text
  _, unchecked = run_flags("--dataset=smic", f"--root={root}", "--nocheck_frames")
  assert victim in unchecked["kept"]  # the adapter lists files; only decoding finds it


def megc_expected(data) -> dict[str, int]:
  """Clips per database that MEGC 2019 keeps of the written synthetic trees."""
  slash = data.samples[casme2_writer.slash_apex_index(data.samples)]
  casme2_kept = [s for s in data.samples if s.emotion in MEGC_NEGATIVE | {"happiness",
                                                                          "surprise"}]
  return {"casme2": len([s for s in casme2_kept if s is not slash]),
          "samm": sum(s.emotion != "others" for s in data.samples),
          "smic": smic_clips(data)}


def test_megc2019_protocol_over_written_trees(data, smic_trees, tmp_path, capsys):
  roots = {"casme2": str(tmp_path / "casme2"), "samm": str(tmp_path / "samm")}
  casme2_writer.write(data, roots["casme2"])
  samm_writer.write(data, roots["samm"])
  args = ["--protocol=megc2019", f"--root=casme2={roots['casme2']}",
          f"--root=samm={roots['samm']}", f"--root=smic={smic_trees['cropped']}"]
  fv = flags.FlagValues()
  inspect.define_flags(fv)
  fv(["inspect", *args, "--json"])
  inspect.main(["inspect"], fv)
  summary = json.loads(capsys.readouterr().out)
  check_adds_up(summary)
  per_db = summary["per_database"]
  assert {k: v["n_samples"] for k, v in per_db.items()} == megc_expected(data)
  assert summary["n_samples"] == sum(megc_expected(data).values())
  for name, part in per_db.items():
    assert len(part["kept"]) == part["n_samples"]
    assert part["n_found"] == part["n_samples"] + len(part["left_out"])
    assert all(k.startswith(f"{name}/") for k in part["kept"])
    assert all(n["sample"].startswith(f"{name}/") for n in part["repaired"])
  assert summary["excluded"] == [] and summary["frame_check"]["unreadable"] == 0
  assert summary["frame_check"]["clips"] == summary["n_samples"]
  slash = data.samples[casme2_writer.slash_apex_index(data.samples)]
  assert f"casme2/{slash.subject}/{slash.clip}" in {
      n["sample"] for n in per_db["casme2"]["repaired"]}
  with pytest.raises(DataError, match="frames='raw' needs"):
    run_flags(*args, '--adapter_options={"smic": {"frames": "raw"}}')
  title, counted = run_flags(*args, '--adapter_options={"smic": {"frames": "cropped"}}',
                             "--nocheck_frames")
  assert title == "megc2019" and counted["n_samples"] == summary["n_samples"]
  text = inspect.format_summary(title, counted)
  assert "frames: not decoded (--nocheck_frames)" in text
  assert re.search(r"\nleft out by scheme megc2019 \(\d+\):\n  ", text)
