"""Tests for mer_jax.eval.report: results.json, the Markdown table, the plots."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

from mer_jax.data.sample import Sample
from mer_jax.eval import metrics, report

CLASSES = ("negative", "positive", "surprise")


def make_run(selection: str = "val_loss"):
  """A small two-corpus LOSO run with numpy-typed fields, as a trainer gives."""
  rng = np.random.default_rng(0)
  samples = [Sample(d, f"s{i % 3}", f"c{i}", "happiness", 0, 3, 6)
             for d in ("casme2", "samm") for i in range(9)]
  labels = rng.integers(0, 3, len(samples))
  preds = np.where(rng.random(len(samples)) < 0.6, labels, rng.integers(0, 3, 18))
  fold_names = [f"{s.dataset}/{s.subject}" for s in samples]
  folds = [{"name": n, "test_subjects": [n], "n_train": np.int64(15),
            "n_test": np.int64(3)} for n in sorted(set(fold_names))]
  results = report.build_results(
      config={"seed": np.int32(0), "lr": np.float32(1e-5), "sizes": (1, 2)},
      protocol={"name": "loso", "label_scheme": "three_class", "num_folds": 6,
                "selection": selection},
      class_names=CLASSES, samples=samples, labels=labels, preds=preds,
      fold_names=fold_names, folds=folds)
  return results, samples, labels, preds


def make_history(n_folds: int = 26):
  rng = np.random.default_rng(1)
  history = {}
  for f in range(n_folds):
    epochs = int(rng.integers(5, 30))  # early stopping ends folds at different epochs
    t = np.arange(epochs)
    history[f"casme2/sub{f + 1:02d}"] = {
        "train_loss": list(1.1 * np.exp(-t / 8) + 0.05 * rng.random(epochs)),
        "val_loss": list(1.1 * np.exp(-t / 12) + 0.3 + 0.1 * rng.random(epochs)),
        "val_uf1": list(0.3 + 0.4 * (1 - np.exp(-t / 6)) + 0.05 * rng.random(epochs)),
    }
  return history


def test_build_results_contents():
  results, samples, labels, preds = make_run()
  assert set(results) == {"config", "protocol", "class_names", "metrics", "per_dataset",
                          "fold_mean", "confusion_matrix", "folds", "predictions"}
  assert results["metrics"]["uf1"] == pytest.approx(metrics.uf1(labels, preds, 3))
  assert results["metrics"]["legacy_elrcn_f1"] == pytest.approx(
      metrics.legacy_elrcn_f1(labels, preds, 3))
  assert set(results["metrics"]) == {"uf1", "uar", "accuracy", "legacy_elrcn_f1"}
  assert list(results["per_dataset"]) == ["casme2", "samm"]
  assert results["confusion_matrix"] == metrics.confusion_matrix(
      labels, preds, 3).tolist()
  first = results["predictions"][0]
  assert first == {"dataset": "casme2", "subject": "s0", "clip": "c0",
                   "label": CLASSES[labels[0]], "pred": CLASSES[preds[0]],
                   "fold": "casme2/s0"}
  # Strict JSON (no numpy types left) and an exact round trip.
  assert json.loads(json.dumps(results)) == results
  assert type(results["config"]["seed"]) is int
  assert results["config"]["sizes"] == [1, 2]


def test_build_results_rejects_mismatched_lengths():
  _, samples, labels, preds = make_run()
  with pytest.raises(ValueError, match="one label, prediction and fold name"):
    report.build_results(config={}, protocol={}, class_names=CLASSES,
                         samples=samples, labels=labels[:-1], preds=preds,
                         fold_names=["x"] * len(samples), folds=[])


def test_format_table_numbers_and_paper_rows():
  results, _, _, _ = make_run()
  paper = {"ELRCN-TE (paper, Table I)": {"uf1": 0.5, "uar": 0.4396,
                                         "accuracy": 0.5244},
           "Other (paper)": {"accuracy": 0.61}}
  table = report.format_table(results, paper)
  lines = table.splitlines()
  assert "loso" in lines[0] and "three_class" in lines[0]
  all_row = next(l for l in lines if "**all**" in l)
  for key in ("uf1", "uar", "accuracy"):
    assert f"{results['metrics'][key]:.4f}" in all_row
  assert all_row.rstrip(" |").endswith("18")
  samm_row = next(l for l in lines if l.startswith("| samm "))
  assert f"{results['per_dataset']['samm']['uf1']:.4f}" in samm_row
  assert "| ELRCN-TE (paper, Table I) | 0.5000 | 0.4396 | 0.5244 | – |" in lines
  assert "| Other (paper) | – | – | 0.6100 | – |" in lines
  assert "WARNING" not in table


def test_legacy_f1_column_and_fold_mean_row():
  results, _, _, _ = make_run()
  paper = {"ELRCN-SE (paper, Table III)": dict(legacy_elrcn_f1=0.3411, uar=0.3522,
                                               accuracy=0.4345)}
  lines = report.format_table(results, paper, fold_mean_row=True).splitlines()
  assert "| row | UF1 | UAR | accuracy | legacy ELRCN F1 | n |" in lines
  # The paper's "F1" goes under its own column, never under UF1.
  assert "| ELRCN-SE (paper, Table III) | – | 0.3522 | 0.4345 | 0.3411 | – |" in lines
  all_row = next(l for l in lines if "**all**" in l)
  assert f"{results['metrics']['legacy_elrcn_f1']:.4f}" in all_row
  mean_row = next(l for l in lines if "mean of folds" in l)
  assert f"{results['fold_mean']['uar']:.4f}" in mean_row
  assert "mean of folds" not in report.format_table(results, paper)
  assert "legacy" not in report.format_table(results)


def test_elrcn_hde_report_says_table_iii_columns_look_swapped(repo_root):
  from mer_jax import config_files
  config = config_files.load_config(str(repo_root / "configs/elrcn_se.py"), "hde")
  results, _, _, _ = make_run()
  lines = report.format_table(results, config.eval.paper_rows.to_dict()).splitlines()
  row = lines.index("| ELRCN-SE (paper, Table III) | – | 0.3522 | 0.4345 | 0.3411 | – |")
  note = next(l for l in lines[row:] if l.startswith("> *ELRCN-SE (paper, Table III)*"))
  assert "UAR .4345, WAR .352" in note and "look swapped" in note


def test_oracle_warning():
  results, _, _, _ = make_run(selection="oracle")
  table = report.format_table(results)
  assert "WARNING" in table and "NOT leak-free" in table
  assert table.index("WARNING") < table.index("**all**")


def test_leak_warning_when_test_subjects_also_trained():
  results, _, _, _ = make_run()
  assert "Not subject-independent" not in report.format_table(results)
  results["folds"][2]["shared_subjects"] = 1
  table = report.format_table(results)
  assert "Not subject-independent" in table and "In 1 of 6 folds" in table
  assert table.index("Not subject-independent") < table.index("**all**")


def test_learning_curves_skip_a_metric_never_measured(tmp_path):
  history = {f: {**curves, "monitor_loss": [float("nan")] * len(curves["train_loss"])}
             for f, curves in make_history(3).items()}
  path = str(tmp_path / "curves.png")
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # numpy's "Mean of empty slice" fails the test
    report.plot_learning_curves(history, path)
  assert os.path.getsize(path) > 5000


def test_write_report_files(tmp_path):
  results, _, _, _ = make_run(selection="oracle")
  workdir = str(tmp_path / "run")
  table = report.write_report(workdir, results, history=make_history())
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f) == results
  with open(os.path.join(workdir, "results.md")) as f:
    md = f.read()
  assert md.startswith(table) and "NOT leak-free" in md
  assert "| true \\ pred | negative | positive | surprise |" in md
  for name in ("confusion.png", "learning_curves.png"):
    with open(os.path.join(workdir, name), "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(os.path.join(workdir, name)) > 5000
  # No temp files left behind by the atomic writes.
  assert sorted(os.listdir(workdir)) == ["confusion.png", "learning_curves.png",
                                         "results.json", "results.md"]


def test_write_report_without_history_overwrites(tmp_path):
  results, _, _, _ = make_run()
  report.write_report(str(tmp_path), results)
  results["metrics"]["uf1"] = 0.123
  report.write_report(str(tmp_path), results)
  with open(tmp_path / "results.json") as f:
    assert json.load(f)["metrics"]["uf1"] == 0.123
  assert not (tmp_path / "learning_curves.png").exists()


def test_plot_confusion_with_empty_class(tmp_path):
  path = str(tmp_path / "cm.png")
  report.plot_confusion([[3, 1, 0], [0, 0, 0], [2, 0, 5]], CLASSES, path)
  assert os.path.getsize(path) > 0


def test_untrained_and_diverged_folds_are_noted_above_the_table():
  results, _, _, _ = make_run()
  assert "no trained model" not in report.format_table(results)
  results["protocol"].update(untrained_folds=["casme2/s1"], diverged_folds=["samm/s0"])
  table = report.format_table(results)
  assert "1 of 6 folds have no trained model** (casme2/s1)" in table
  assert "Training diverged in 1 folds** (samm/s0)" in table
  assert table.index("no trained model") < table.index("**all**")
