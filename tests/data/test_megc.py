"""Tests for mer_jax.data.megc and the MEGC label schemes, against the official GT.

The MEGC 2019 composite built from the CASME II and SAMM annotation files
must equal the official ground truth `combined_3class_gt.csv` row by row (ids
and labels); SMIC has no annotation file, so its samples are built from the
GT rows the way the SMIC adapter names them (folder 's1', clip 's1_ne_01').
The MEGC 2018 set must have the counts of datasets.md section 6.
"""

import collections
import dataclasses
import pathlib

import pytest

from mer_jax.data import casme2
from mer_jax.data import labels
from mer_jax.data import megc
from mer_jax.data import protocols
from mer_jax.data import samm
from mer_jax.data.sample import Sample
from mer_jax.errors import DataError, ProtocolError

CLASS_NAMES = ("negative", "positive", "surprise")


@pytest.fixture(scope="module")
def annotations_dir(shared_dir) -> pathlib.Path:
  return shared_dir / "reference" / "annotations"


@pytest.fixture(scope="module")
def gt(annotations_dir):
  return megc.read_megc2019_gt(str(annotations_dir / "combined_3class_gt.csv"))


@pytest.fixture(scope="module")
def casme2_samples(annotations_dir) -> list[Sample]:
  samples, _ = casme2.read_coding(str(annotations_dir / "CASME2-coding-20140508.xlsx"))
  return samples


@pytest.fixture(scope="module")
def samm_samples(annotations_dir) -> list[Sample]:
  samples, _ = samm.read_codes(str(annotations_dir / "SAMM_Micro_FACS_Codes_v2.xlsx"))
  return samples


def smic_from_gt(gt) -> list[Sample]:
  """SMIC-HS samples as the adapter would name them: 's1', 's1_ne_01', midpoint apex."""
  out = []
  for _, subject, clip, label in (r for r in gt if r[0] == "smic"):
    number = int(subject[1:])
    out.append(Sample("smic", f"s{number}", f"s{number}_{clip.split('_', 1)[1]}",
                      CLASS_NAMES[label], 1000, 1005, 1010, apex_source="midpoint"))
  return out


def labelled_keys(samples) -> set[tuple[str, str, str, int]]:
  scheme = labels.get_scheme("megc2019")
  return {(*megc.gt_key(s), scheme.label(s)) for s in samples}


def class_counts(samples) -> tuple[int, ...]:
  scheme = labels.get_scheme("megc2019")
  counts = collections.Counter(scheme.class_of(s) for s in samples)
  return tuple(counts[c] for c in CLASS_NAMES)


def n_subjects(samples) -> int:
  return len({protocols.subject_id(s) for s in samples})

# ------------------------------------------------------------ the GT file ---


def test_gt_has_442_rows_from_three_databases(gt):
  assert len(gt) == 442
  assert collections.Counter(r[0] for r in gt) == {"smic": 164, "casme2": 145, "samm": 133}
  assert collections.Counter(r[3] for r in gt) == {0: 250, 1: 109, 2: 83}
  assert ("samm", "6", "006_1_2", 0) in gt and ("smic", "s01", "s01_ne_01", 0) in gt
  assert len(set(gt)) == 442


def test_gt_reader_skips_blank_lines_and_reads_crlf(tmp_path):
  path = tmp_path / "gt.csv"
  path.write_bytes(b"casme2,sub01,EP02_01f,1\r\n,,,\r\n\r\nsamm,32,032_3_1,0\r\n")
  assert megc.read_megc2019_gt(str(path)) == [("casme2", "sub01", "EP02_01f", 1),
                                              ("samm", "32", "032_3_1", 0)]


@pytest.mark.parametrize("text, message", [
    ("casme2,sub01,EP02_01f,1\r\nsamm,6,006_1_2,3\r\n", r"line 2: field 'label' is '3'"),
    ("casme2,sub01,EP02_01f\r\n", r"line 1: expected 4 non-empty fields"),
])
def test_gt_reader_names_the_bad_line(tmp_path, text, message):
  path = tmp_path / "gt.csv"
  path.write_text(text, newline="")
  with pytest.raises(DataError, match=message):
    megc.read_megc2019_gt(str(path))


def test_missing_gt_file_is_a_data_error(tmp_path):
  with pytest.raises(DataError, match="does not exist"):
    megc.read_megc2019_gt(str(tmp_path / "none.csv"))


@pytest.mark.parametrize("sample, key", [
    (Sample("casme2", "sub01", "EP02_01f", "happiness", 1, 2, 3),
     ("casme2", "sub01", "EP02_01f")),
    (Sample("samm", "006", "006_1_2", "anger", 1, 2, 3), ("samm", "6", "006_1_2")),
    (Sample("samm", "032", "032_3_1", "anger", 1, 2, 3), ("samm", "32", "032_3_1")),
    (Sample("smic", "s1", "s1_ne_01", "negative", 1, 2, 3), ("smic", "s01", "s01_ne_01")),
    (Sample("smic", "s20", "s20_sur_02", "surprise", 1, 2, 3),
     ("smic", "s20", "s20_sur_02")),
])
def test_gt_key_uses_the_gt_spelling(sample, key):
  assert megc.gt_key(sample) == key


def test_gt_key_rejects_other_datasets():
  with pytest.raises(ProtocolError, match="not part of MEGC 2019"):
    megc.gt_key(Sample("casme", "sub01", "EP01_5", "disgust", 1, 2, 3))

# ---------------------------------------------------- MEGC 2019 composite ---


def test_casme2_composite_equals_the_gt_row_by_row(casme2_samples, gt):
  kept = megc.megc2019_composite(casme2_samples)
  assert labelled_keys(kept) == {r for r in gt if r[0] == "casme2"}
  assert len(kept) == 145 and class_counts(kept) == (88, 32, 25)
  assert n_subjects(kept) == 24


def test_casme2_drops_the_two_clips_with_a_bad_apex(casme2_samples):
  """sub04 EP12_01f (apex '/') and sub05 EP09_05f (apex == onset) are disgust clips."""
  scheme = labels.get_scheme("megc2019")
  _, _, left = labels.apply_scheme(casme2_samples, scheme)
  reasons = {s.key: r for s, r in left if s.emotion == "disgust"}
  assert set(reasons) == {"casme2/sub04/EP12_01f", "casme2/sub05/EP09_05f"}
  assert "annotated apex" in reasons["casme2/sub04/EP12_01f"]
  assert "apex equals the onset" in reasons["casme2/sub05/EP09_05f"]


def test_samm_composite_equals_the_gt_row_by_row(samm_samples, gt):
  kept = megc.megc2019_composite(samm_samples)
  assert labelled_keys(kept) == {r for r in gt if r[0] == "samm"}
  assert len(kept) == 133 and class_counts(kept) == (92, 26, 15)
  assert n_subjects(kept) == 28


def test_smic_composite_keeps_every_clip(gt):
  smic = smic_from_gt(gt)
  kept = megc.megc2019_composite(smic)
  assert kept == smic and len(kept) == 164
  assert labelled_keys(kept) == {r for r in gt if r[0] == "smic"}
  assert class_counts(kept) == (70, 51, 43) and n_subjects(kept) == 16


def test_full_composite_and_its_folds(casme2_samples, samm_samples, gt):
  kept = megc.megc2019_composite(casme2_samples + samm_samples + smic_from_gt(gt))
  assert labelled_keys(kept) == set(gt)
  assert len(kept) == 442 and class_counts(kept) == (250, 109, 83)
  assert n_subjects(kept) == 68
  assert len(protocols.loso(kept)) == 68
  assert [f.name for f in protocols.leave_one_dataset_out(kept)] == ["casme2", "samm", "smic"]


def test_composite_leaves_out_other_corpora():
  others = [Sample("casme", "sub01", "EP01_5", "disgust", 1, 2, 3),
            Sample("smic_vis", "s1", "s1_ne_01", "negative", 1, 2, 3),
            Sample("synthetic", "sub01", "EP01_01", "happiness", 1, 2, 3)]
  assert megc.megc2019_composite(others) == []


def test_composite_needs_casme2_loaded_with_annotated_apex(casme2_samples):
  midpoint = [dataclasses.replace(s, apex_source="midpoint") for s in casme2_samples]
  with pytest.raises(ProtocolError, match="apex='annotated'"):
    megc.megc2019_composite(midpoint)

# ------------------------------------------------------ MEGC 2018 objective ---


@pytest.fixture(scope="module")
def casme2_objective(annotations_dir, casme2_samples) -> list[Sample]:
  classes = casme2.read_objective_classes(str(annotations_dir / "CASME2-ObjectiveClasses.xlsx"))
  return [dataclasses.replace(s, objective_class=classes.get((s.subject, s.clip)))
          for s in casme2_samples]


def test_megc2018_counts(casme2_objective, samm_samples):
  kept = megc.megc2018_objective(casme2_objective + samm_samples)
  counts = collections.Counter((s.dataset, s.objective_class) for s in kept)
  assert [counts["casme2", c] for c in range(1, 6)] == [25, 15, 99, 26, 20]
  assert [counts["samm", c] for c in range(1, 6)] == [24, 13, 20, 8, 3]
  by_dataset = {d: [s for s in kept if s.dataset == d] for d in ("casme2", "samm")}
  assert (len(by_dataset["casme2"]), n_subjects(by_dataset["casme2"])) == (185, 26)
  assert (len(by_dataset["samm"]), n_subjects(by_dataset["samm"])) == (68, 21)
  assert len(kept) == 253 and n_subjects(kept) == 47
  assert [f.name for f in protocols.leave_one_dataset_out(kept)] == ["casme2", "samm"]
  assert len(protocols.loso(kept)) == 47


def test_megc2018_needs_objective_classes(casme2_samples, samm_samples):
  with pytest.raises(ProtocolError, match="none of the 255 casme2 samples"):
    megc.megc2018_objective(casme2_samples + samm_samples)

# ------------------------------------------------------- the paper schemes ---


def test_scheme_names_old_and_new():
  for name in ("casme2_5", "three_class", "four_class", "objective_5", "megc2019",
               "mer_rcnn_4", "islam_3"):
    assert labels.get_scheme(name).name == name


def test_mer_rcnn_puts_tense_repression_and_others_in_others():
  """Xia et al. 2018: 'Tense and repression are classified into the Other class'."""
  scheme = labels.get_scheme("mer_rcnn_4")
  assert scheme.class_names == ("positive", "negative", "surprise", "others")
  expected = {"happiness": "positive", "disgust": "negative", "sadness": "negative",
              "fear": "negative", "surprise": "surprise", "tense": "others",
              "repression": "others", "others": "others", "negative": "negative"}
  for emotion, name in expected.items():
    sample = Sample("casme", "sub01", "EP01_1", emotion, 1, 2, 3)
    assert scheme.class_of(sample) == name
    assert labels.get_scheme("four_class").class_of(sample) == name


def test_islam_3_reproduces_the_casme2_row_of_the_paper(casme2_objective):
  """Islam et al. Table 1: CASME II 145 negative, 25 positive, 15 surprise."""
  kept, y, _ = labels.apply_scheme(casme2_objective, labels.get_scheme("islam_3"))
  assert len(kept) == 185 and collections.Counter(y.tolist()) == {0: 145, 1: 25, 2: 15}


def test_islam_3_without_objective_class_maps_by_emotion():
  scheme = labels.get_scheme("islam_3")
  smic = Sample("smic", "s1", "s1_po_01", "positive", 1, 2, 3)
  fear = Sample("casme", "sub01", "EP01_1", "fear", 1, 2, 3)
  assert scheme.class_of(smic) == "positive" and scheme.class_of(fear) is None
