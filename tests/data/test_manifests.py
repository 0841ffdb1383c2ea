"""Fixed protocols are fixed: data/manifests.py, its use by the pipeline and the report."""

import pytest

from mer_jax.data import manifests
from mer_jax.data import pipeline
from mer_jax.data.sample import Exclusion, Sample
from mer_jax.errors import ConfigError, DataError
from mer_jax.eval import report


def samples_of(counts: dict[str, tuple[int, int]]) -> list[Sample]:
  """`clips` samples spread over `subjects` subjects per dataset."""
  out = []
  for dataset, (clips, subjects) in counts.items():
    out += [Sample(dataset, f"s{i % subjects + 1}", f"c{i}", "negative", 1, 2, 3)
            for i in range(clips)]
  return out


def test_the_published_counts():
  assert (manifests.get("megc2019").clips, manifests.get("megc2019").subjects) == (442, 68)
  assert (manifests.get("megc2018").clips, manifests.get("megc2018").subjects) == (253, 47)
  assert manifests.get("casme2_5").clips == 246
  with pytest.raises(ConfigError, match="manifest='megc2020'"):
    manifests.get("megc2020")


def test_a_complete_run_passes_and_no_manifest_checks_nothing():
  full = samples_of(manifests.get("megc2019").counts)
  cov = manifests.check("megc2019", full, [], allow_missing=False)
  assert manifests.is_complete(cov) and cov["clips"] == 442 and cov["subjects"] == 68
  assert manifests.check("", full[:3], [], allow_missing=False) is None


def test_missing_clips_stop_the_run_naming_them_and_why():
  counts = dict(manifests.get("megc2019").counts, smic=(163, 16))
  lost = [Exclusion("smic/s3/s3_ne_02", "preprocessing failed: s3/image1.bmp is truncated")]
  with pytest.raises(DataError) as e:
    manifests.check("megc2019", samples_of(counts), lost, allow_missing=False)
  message = str(e.value)
  assert "441 of 442 clips" in message and "smic 163 of 164" in message
  assert "smic/s3/s3_ne_02: preprocessing failed" in message
  assert "allow_missing=True" in message and "\n" not in message


def test_allow_missing_goes_on_and_the_report_says_n_of_m():
  counts = dict(manifests.get("megc2019").counts, casme2=(140, 24))
  cov = manifests.check("megc2019", samples_of(counts), [], allow_missing=True)
  note = report.coverage_note({"clips": cov})
  assert note.startswith("> **437 of 442 clips**") and "casme2 140 of 145" in note
  assert report.coverage_note({"clips": manifests.coverage(
      manifests.get("megc2019"), samples_of(manifests.get("megc2019").counts))}) is None


def test_the_pipeline_checks_the_manifest_before_training():
  cfg = {"datasets": ("synthetic",), "roots": {"synthetic": ""}, "label_scheme": "three_class",
         "recipe": {"name": "pixels", "image_size": 8, "num_frames": 3, "grayscale": True,
                    "temporal": "linear", "subtract_onset": False},
         "synthetic": {"num_subjects": 2, "clips_per_subject": 3, "image_size": 16},
         "apex": "annotated", "manifest": "casme2_5", "allow_missing": False}
  with pytest.raises(DataError, match=r"has 246 clips of 26 subjects, but this run has 0 of "
                                      r"246 clips.* \d+ clips of datasets outside"):
    pipeline.load_experiment_data(cfg)
  data = pipeline.load_experiment_data(dict(cfg, allow_missing=True))
  assert data.coverage["expected_clips"] == 246 and data.coverage["clips"] == 0
