r"""Grad-CAM of a trained run: `python -m mer_jax.gradcam --workdir=DIR --sample=KEY`.

Explains one test sample with the model that was tested on it: the run's
config is read from `DIR/config.json`, the data from the same cache, the
fold that tested the sample is found from the protocol, and its selected
parameters from that fold group's checkpoint. Writes a PNG (one row per VGG:
'cnn' for ELRCN-SE, the flow / strain / grey streams for ELRCN-TE; one column
per frame) with the map over the grey frame (or the first input channel when
there is no grey one), and prints where it went.

  python -m mer_jax.gradcam --workdir=runs/elrcn_se \
      --sample=casme2/sub01/EP02_01f [--class_name=happiness] [--output=cam.png]
"""

from __future__ import annotations

import errno
import os
import tempfile

from absl import app, flags
import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402

from mer_jax import command_line, models  # noqa: E402
from mer_jax.data import pipeline, protocols  # noqa: E402
from mer_jax.errors import ConfigError, MerError  # noqa: E402
from mer_jax.eval import gradcam  # noqa: E402
from mer_jax.preprocess import recipe_outputs  # noqa: E402
from mer_jax.train import checkpoint, run_dir  # noqa: E402

# The models with a VGG conv5_3 to explain.
EXPLAINABLE_MODELS = ("elrcn_se", "elrcn_te", "elrcn_spatial_only", "vgg16")

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of a finished (or running) run.")
_SAMPLE = flags.DEFINE_string("sample", None, "Sample key 'dataset/subject/clip' "
                              "(as in results.json's predictions).")
_CLASS = flags.DEFINE_string("class_name", "", "Class to explain; default: the predicted one.")
_OUTPUT = flags.DEFINE_string("output", "", "PNG path; default DIR/gradcam/<sample>.png.")
flags.mark_flags_as_required(["workdir", "sample"])


def find_sample(data: pipeline.ExperimentData, key: str) -> int:
  """Index of the sample `key`, or an error that shows a few valid keys."""
  keys = [s.key for s in data.samples]
  if key not in keys:
    raise ConfigError(f"--sample={key!r} is not a sample of this run; e.g. {keys[:3]} "
                      f"({len(keys)} samples; all are in results.json)")
  return keys.index(key)


def fold_of(config: ml_collections.ConfigDict, data: pipeline.ExperimentData, index: int
            ) -> tuple[int, str]:
  """(index, name) of the fold whose test set holds sample `index`."""
  folds = protocols.make_folds(config.protocol.name, data.samples, data.labels,
                               k=config.protocol.k, seed=config.seed)
  i = next(i for i, f in enumerate(folds) if index in set(f.test.tolist()))
  return i, folds[i].name


def background(config: ml_collections.ConfigDict, clip: np.ndarray) -> np.ndarray:
  """Frames `[T, H, W]` to draw the maps on: the grey channel of an input stack when
  it has one, the flow magnitude when it has flow only, else the first channel."""
  channels = list(config.data.recipe.get("channels", []))
  for wanted, offset in (("gray", 0), ("flow", 2)):
    if wanted in channels:
      widths = recipe_outputs.ELRCN_CHANNEL_WIDTHS
      start = sum(widths[c] for c in channels[:channels.index(wanted)])
      return clip[..., start + offset]
  return clip[..., 0]


def save_figure(path: str, maps: dict, frames: np.ndarray, title: str) -> None:
  """One row per CNN, one column per frame: the map over `frames` [T, H, W]."""
  names = sorted(maps)
  cols = frames.shape[0]
  fig, axes = plt.subplots(len(names), cols, figsize=(1.6 * cols, 1.8 * len(names)),
                           squeeze=False)
  for r, name in enumerate(names):
    for t in range(cols):
      ax = axes[r][t]
      ax.imshow(gradcam.overlay(frames[t], maps[name][t]))
      ax.set_xticks([])
      ax.set_yticks([])
      if t == 0:
        ax.set_ylabel(name, fontsize=8)
      if r == 0:
        ax.set_title(f"t={t}", fontsize=8)
  fig.suptitle(title, fontsize=9)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100, bbox_inches="tight")
  plt.close(fig)


def output_path(workdir: str, key: str, output: str = "") -> str:
  """Where the figure goes: `output`, else DIR/gradcam/<sample>.png."""
  return output or os.path.join(workdir, "gradcam", key.replace("/", "__") + ".png")


def check_writable(path: str, given: bool) -> None:
  """A ConfigError, before any work, when the figure cannot be written to `path`.

  Creates the folder (as saving does) and a scratch file in it, so a read-only
  place, a folder where the file should be and a file where a folder should
  be are all found.
  """
  folder = os.path.dirname(os.path.abspath(path))
  try:
    if os.path.isdir(path):
      raise IsADirectoryError(errno.EISDIR, "a folder, not a file", path)
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
      pass
    if os.path.exists(path) and not os.access(path, os.W_OK):
      raise PermissionError(errno.EACCES, "a read-only file", path)
  except OSError as e:
    where = f"--output={path}" if given else f"the default output {path}"
    raise ConfigError(f"{where} cannot be written ({e.strerror}: {e.filename}); pass "
                      "--output=FILE.png in a folder you can write to") from None


def explain(workdir: str, key: str, class_name: str = "", output: str = "") -> str:
  """Writes the Grad-CAM figure of sample `key` of the run in `workdir`; returns its path."""
  config = run_dir.load_config(workdir)
  if config.model_name not in EXPLAINABLE_MODELS:
    raise ConfigError(f"the run in {workdir} trained {config.model_name!r}; Grad-CAM explains "
                      f"the VGG-based models {EXPLAINABLE_MODELS} (their conv5_3)")
  path = output_path(workdir, key, output)
  check_writable(path, bool(output))  # Before the data and the model: a minute of work.
  data = pipeline.load_experiment_data(config.data)
  index = find_sample(data, key)
  fold, fold_name = fold_of(config, data, index)
  directory, position = checkpoint.find_fold(workdir, fold)
  variables = checkpoint.restore_selected_params(directory, position)
  model_cfg = config.model.to_dict()
  if "remat" in model_cfg:
    model_cfg["remat"] = False  # Same parameters; no backward pass to save memory for.
  model = models.get(config.model_name, num_classes=len(data.class_names), **model_cfg)
  class_index = None
  if class_name:
    if class_name not in data.class_names:
      raise ConfigError(f"--class_name={class_name!r}; expected one of {data.class_names}")
    class_index = data.class_names.index(class_name)
  clip = data.inputs["frames"][index]
  maps, c, logits = gradcam.class_activation_maps(model, variables, clip, class_index)
  frames = background(config, clip if clip.ndim == 4 else clip[None])
  title = (f"{key}  true: {data.class_names[data.labels[index]]}  predicted: "
           f"{data.class_names[int(np.argmax(logits))]}  explained: {data.class_names[c]}  "
           f"(model of fold {fold_name})")
  save_figure(path, maps, frames, title)
  return path


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  command_line.quiet_library_logs()
  try:
    path = explain(_WORKDIR.value, _SAMPLE.value, _CLASS.value, _OUTPUT.value)
  except MerError as e:
    command_line.fail(str(e))
  print(f"Grad-CAM written to {path}")


if __name__ == "__main__":
  app.run(main, flags_parser=command_line.parse_flags)
