"""`python -m mer_jax.predict`: a trained run applied to clips given as video files.

One tiny run of `configs/elrcn_temporal_only.py:smoke` (4 subjects, LOSO, a
16-unit LSTM that fits its training clips), then `predict` on clips of the
same synthetic data written as lossless FFV1 videos (`preprocess.video`) or
frame folders: one fold's model gives the probabilities of the logits the
run stored for its test clip, the mean of all folds names the class of a clip
that every fold gets right, and bad input is a clear MerError.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mer_jax import config_files, experiment, predict
from mer_jax.data import synthetic
from mer_jax.errors import ConfigError, DataError, FaceNotFoundError
from mer_jax.preprocess import frames as frames_lib
from mer_jax.preprocess import video
from mer_jax.train import metric_writer, outcomes

EPOCHS = 40
PAD_BEFORE, PAD_AFTER = 3, 2  # other frames around the expression: --onset/--offset skip them


@pytest.fixture(scope="module")
def run(repo_root, tmp_path_factory):
  """(workdir, results, clips: key -> (Sample, uint8 video)) of a finished tiny run."""
  workdir = tmp_path_factory.mktemp("predict") / "run"
  config = config_files.load_config(str(repo_root / "configs/elrcn_temporal_only.py"), "smoke")
  config.data.synthetic.update(num_subjects=4, clips_per_subject=6, difficulty=4.0)
  config.model.lstm_features = (16,)
  config.schedule.base_lr = 2e-2
  config.train.update(num_epochs=EPOCHS, batch_size=6, selection="last",
                      checkpoint_every_epochs=EPOCHS)
  with pytest.MonkeyPatch.context() as patch:
    # TensorBoard is not what this file tests, and TensorFlow takes ~10 s to import.
    patch.setattr(metric_writer.MetricWriter, "write_scalars", lambda *args, **kw: None)
    results = experiment.run(config, str(workdir))
  data = synthetic.generate(synthetic.SyntheticSpec(**config.data.synthetic.to_dict()))
  return workdir, results, {s.key: (s, v) for s, v in zip(data.samples, data.videos)}


def clip_of(run, index):
  """(Sample, label, fold name) of the run's sample `index`."""
  _, results, clips = run
  row = results["predictions"][index]  # every sample is tested once, rows in sample order
  return clips[f"{row['dataset']}/{row['subject']}/{row['clip']}"][0], row["label"], row["fold"]


def padded(clip):
  """The clip with other frames before and after it, as a longer recording has."""
  noise = np.random.default_rng(0).integers(0, 256, (PAD_BEFORE + PAD_AFTER,) + clip.shape[1:])
  noise = noise.astype(np.uint8)
  return np.concatenate([noise[:PAD_BEFORE], clip, noise[PAD_BEFORE:]])


def span_of(sample):
  """--onset/--apex/--offset of a sample's clip inside `padded`."""
  return dict(onset=PAD_BEFORE, apex=PAD_BEFORE + sample.apex - sample.onset,
              offset=PAD_BEFORE + sample.offset - sample.onset)


def softmax(logits):
  e = np.exp(np.asarray(logits, np.float64) - np.max(logits))
  return e / e.sum()


def fold_outcome(workdir, name):
  with open(outcomes.path_of(str(workdir), name)) as f:
    return json.load(f)


def write_video(run, sample, tmp_path):
  path = str(tmp_path / "clip.avi")
  return video.write_video(padded(run[2][sample.key][1]), path, fps=200)


def test_one_fold_gives_the_probabilities_the_run_stored_for_its_test_clip(run, tmp_path):
  workdir, results, clips = run
  fold = results["folds"][1]["name"]
  stored = fold_outcome(workdir, fold)
  sample, _, tested_in = clip_of(run, stored["test_indices"][0])
  assert tested_in == fold
  path = write_video(run, sample, tmp_path)
  out = predict.predict(str(workdir), video=path, fold=fold, face="none", **span_of(sample))
  expected = softmax(stored["logits"][0])
  assert out["folds"] == [fold]
  np.testing.assert_allclose(out["fold_probabilities"][fold], expected, atol=1e-5)
  assert list(out["probabilities"]) == [results["class_names"][c] for c in np.argsort(-expected)]
  assert f"the model of fold {fold}" in predict.format_table(out)
  # The same clip as a folder of numbered frames: positions, not file numbers, are indices.
  frames_lib.write_frames(padded(clips[sample.key][1]), str(tmp_path / "frames"), 46)
  again = predict.predict(str(workdir), frames=str(tmp_path / "frames"), fold=fold,
                          **span_of(sample))
  np.testing.assert_allclose(again["fold_probabilities"][fold], expected, atol=1e-5)


def easy_clip(run):
  """The run's sample index that its test fold classified right with the largest margin."""
  workdir, results, _ = run
  best, margin = None, -np.inf
  for fold in results["folds"]:
    stored = fold_outcome(workdir, fold["name"])
    for index, logits in zip(stored["test_indices"], stored["logits"]):
      p = softmax(logits)
      label = results["class_names"].index(results["predictions"][index]["label"])
      m = p[label] - np.max(np.delete(p, label))
      if m > margin:
        best, margin = index, m
  assert margin > 0, "no test clip of the run was classified right"
  return best


def test_the_mean_of_all_folds_names_the_class_of_an_easy_clip(run, tmp_path):
  workdir, results, _ = run
  sample, label, _ = clip_of(run, easy_clip(run))
  out = predict.predict(str(workdir), video=write_video(run, sample, tmp_path),
                        **span_of(sample))
  names = [f["name"] for f in results["folds"]]
  assert out["predicted"] == label and out["folds"] == names
  per_fold = np.asarray([out["fold_probabilities"][n] for n in names])
  assert (per_fold.argmax(1) == results["class_names"].index(label)).all()
  mean = per_fold.mean(0)
  assert out["probabilities"] == pytest.approx(
      {results["class_names"][c]: mean[c] for c in range(len(mean))}, abs=1e-6)
  table = predict.format_table(out)
  assert f"mean of {len(names)} fold models" in table
  assert table.splitlines()[5].startswith(f"| {label} (predicted) |")


def test_the_command_prints_the_table_on_other_devices_than_the_runs(run, repo_root, tmp_path):
  workdir, results, _ = run
  sample, label, _ = clip_of(run, easy_clip(run))
  path = write_video(run, sample, tmp_path)
  span = [f"--{k}={v}" for k, v in span_of(sample).items()]
  one_device = dict(os.environ, XLA_FLAGS="")  # the run trained on 4 devices; read it on 1
  out = subprocess.run([sys.executable, "-m", "mer_jax.predict", f"--workdir={workdir}",
                        f"--video={path}", *span], cwd=repo_root, capture_output=True,
                       text=True, timeout=300, env=one_device)
  assert out.returncode == 0, out.stderr[-3000:]
  assert f"| {label} (predicted) |" in out.stdout
  bad = subprocess.run([sys.executable, "-m", "mer_jax.predict", f"--workdir={workdir}",
                        f"--video={path}", "--fold=nobody"], cwd=repo_root,
                       capture_output=True, text=True, timeout=300)
  assert bad.returncode == 2 and "Traceback" not in bad.stderr
  assert "--fold='nobody' is not a fold" in bad.stderr and results["folds"][0]["name"] in bad.stderr


def test_bad_runs_and_folds_are_clear_errors(run, tmp_path):
  workdir, results, _ = run
  sample, _, _ = clip_of(run, 0)
  path = write_video(run, sample, tmp_path)
  with pytest.raises(ConfigError, match="config.json does not exist"):
    predict.predict(str(tmp_path), video=path)
  baseline = tmp_path / "svm"
  baseline.mkdir()
  (baseline / "config.json").write_text(json.dumps(
      {"classifier": {"kernel": "linear"}, "data": {"recipe": {"name": "lbp_top"}}}))
  with pytest.raises(ConfigError, match="SVM runs keep no model"):
    predict.predict(str(baseline), video=path)
  with pytest.raises(ConfigError, match="synthetic/sub01, synthetic/sub02"):
    predict.predict(str(workdir), video=path, fold="synthetic/sub99")
  unfinished = tmp_path / "unfinished"
  unfinished.mkdir()
  shutil.copy(workdir / "config.json", unfinished)
  with pytest.raises(ConfigError, match="results.json does not exist: the run has not finished"):
    predict.predict(str(unfinished), video=path)
  shutil.copy(workdir / "results.json", unfinished)  # finished, its checkpoints deleted
  with pytest.raises(ConfigError, match="holds no checkpoint of any of its 4 folds"):
    predict.predict(str(unfinished), video=path)


@pytest.mark.parametrize("span, error, message", [
    (dict(onset=4, offset=4), DataError, "has 1 frame.*needs at least 2"),
    (dict(offset=1000), ConfigError, r"has \d+ frames"),
    (dict(onset=5, offset=4), ConfigError, "--offset=4 is before --onset=5"),
    (dict(onset=2, apex=1), ConfigError, "--apex=1 is outside the span 2.."),
])
def test_bad_spans_are_clear_errors(run, tmp_path, span, error, message):
  sample, _, _ = clip_of(run, 0)
  with pytest.raises(error, match=message):
    predict.predict(str(run[0]), video=write_video(run, sample, tmp_path), **span)


def test_bad_clips_are_clear_errors(run, tmp_path):
  workdir = str(run[0])
  (tmp_path / "not_a_video.avi").write_text("hello")
  with pytest.raises(DataError, match="not_a_video.avi: OpenCV cannot open"):
    predict.predict(workdir, video=str(tmp_path / "not_a_video.avi"))
  with pytest.raises(ConfigError, match="exactly one of --video=FILE and --frames=DIR"):
    predict.predict(workdir)
  grey = video.write_video(np.full((4, 64, 64, 3), 128, np.uint8), str(tmp_path / "grey.avi"))
  with pytest.raises(FaceNotFoundError, match="grey.avi: no face found.*--face=none"):
    predict.predict(workdir, video=grey, face="haar")


def test_face_option_sets_the_recipes_own_field_or_crops_first():
  clip = np.zeros((2, 8, 8, 3), np.uint8)
  with_field = {"name": "islam", "face": "haar"}
  same, recipe = predict.crop_as_asked(clip, with_field, "auto")
  assert same is clip and recipe == with_field
  same, recipe = predict.crop_as_asked(clip, with_field, "none")
  assert same is clip and recipe == {"name": "islam", "face": "none"}
  without = {"name": "pixels", "image_size": 8}
  same, recipe = predict.crop_as_asked(clip, without, "none")
  assert same is clip and recipe == without
  with pytest.raises(FaceNotFoundError):  # no face in a blank frame: the crop was tried
    predict.crop_as_asked(clip, without, "haar")


def truncated_video(tmp_path):
  """A 41-frame FFV1 .avi cut to 40% of its bytes: the header still declares 41 frames."""
  clip = np.random.default_rng(0).integers(0, 256, (41, 64, 64, 3)).astype(np.uint8)
  whole = video.write_video(clip, str(tmp_path / "whole.avi"), fps=200)
  with open(whole, "rb") as f:
    data = f.read()
  (tmp_path / "cut.avi").write_bytes(data[:int(len(data) * 0.4)])
  path = str(tmp_path / "cut.avi")
  decoded = video.decode(path)
  assert decoded.declared == 41 and 2 < len(decoded.frames) < 41
  return path, len(decoded.frames)


def test_a_truncated_video_that_cannot_give_the_span_is_a_data_error(tmp_path):
  path, read = truncated_video(tmp_path)
  with pytest.raises(DataError, match=rf"cut.avi: OpenCV decoded only frames 0..{read - 1} "
                                      rf"\({read} of the 41 frames its header declares\).*"
                                      "asks for frames 2..30: the file is truncated"):
    predict.read_clip(path, "", 2, None, 30)
  clip = predict.read_clip(path, "", 1, None, read - 1)  # within what decodes: no error
  assert len(clip) == read - 1


def test_a_truncated_video_without_offset_is_read_with_a_warning(tmp_path, caplog):
  path, read = truncated_video(tmp_path)
  with caplog.at_level("WARNING"):
    clip = predict.read_clip(path, "", 2, None, None)
  assert len(clip) == read - 2
  [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
  assert f"decoded {read} of the 41 frames its header declares" in warning.getMessage()
  assert f"using frames 2..{read - 1}" in warning.getMessage()


def test_an_intact_video_gives_no_warning(tmp_path, caplog):
  clip = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3)).astype(np.uint8)
  decoded = video.decode(video.write_video(clip, str(tmp_path / "clip.avi")))
  with caplog.at_level("WARNING"):
    predict.check_decoded(decoded, 0, None, "clip.avi")
    predict.check_decoded(video.Decoded(decoded.frames[:2], None), 0, 5, "clip.avi")
  assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_the_command_refuses_or_warns_about_a_truncated_video(run, repo_root, tmp_path):
  path, read = truncated_video(tmp_path)
  command = [sys.executable, "-m", "mer_jax.predict", f"--workdir={run[0]}", f"--video={path}",
             "--face=none"]
  bad = subprocess.run(command + ["--offset=30"], cwd=repo_root, capture_output=True,
                       text=True, timeout=300)
  assert bad.returncode == 2 and "Traceback" not in bad.stderr
  assert f"OpenCV decoded only frames 0..{read - 1} ({read} of the 41 frames" in bad.stderr
  warned = subprocess.run(command, cwd=repo_root, capture_output=True, text=True, timeout=300)
  assert warned.returncode == 0, warned.stderr[-3000:]
  assert f"decoded {read} of the 41 frames its header declares" in warned.stderr
  assert f"frames 0..{read - 1}" in warned.stdout


def test_a_damaged_checkpoint_is_one_line_naming_its_folder(run, repo_root, tmp_path):
  workdir = tmp_path / "run"
  shutil.copytree(run[0], workdir)
  for metadata in (workdir / "checkpoints").glob("*/*/default/_METADATA"):
    metadata.write_bytes(b"")  # A copy cut short.
  sample, _, _ = clip_of(run, 0)
  out = subprocess.run([sys.executable, "-m", "mer_jax.predict", f"--workdir={workdir}",
                        f"--video={write_video(run, sample, tmp_path)}"], cwd=repo_root,
                       capture_output=True, text=True, timeout=300)
  assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-3000:]
  assert f"{workdir}/checkpoints/folds_" in out.stderr and "cannot be read" in out.stderr
