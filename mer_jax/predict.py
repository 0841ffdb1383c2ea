r"""Apply a trained run to a new clip: `python -m mer_jax.predict --workdir=DIR --video=FILE`.

Reads the run's config from `DIR/config.json` and the clip from a video file
(OpenCV) or a folder of frame images (sorted by frame number), keeps the
frames `--onset..--offset` (0-based indices, default the whole clip),
preprocesses them with the run's recipe and the input transform its trainer
applies at evaluation time (train/augmentation.py: e.g. MER-RCNN's
resampling to 30 frames), and runs the selected model of every fold that has
a checkpoint, in eval mode. Prints the class probabilities, most likely
first: the mean of the folds' softmax outputs, or one fold's with `--fold`.

  python -m mer_jax.predict --workdir=runs/demo --video=clip.avi \
      [--onset=N] [--apex=N] [--offset=N] [--fold=synthetic/sub01] \
      [--face=auto|none|haar|dlib]

--apex: the apex frame (0-based, within onset..offset); by default the
recipe's own rule (the recipes that use an apex take the middle frame;
ELRCN's and MER-RCNN's use none). --face: 'auto' does what the run did:
recipes with a `face` field align the face themselves, the others take the
frames as given (CASME II's Cropped frames are faces already); 'none',
'haar' or 'dlib' sets the recipe's `face` field, or, for a recipe without
one, crops the face first (`recipes.crop_face`, FACE_SIZE pixels). The face
is located on this clip alone (`preprocess.face.locate_in_clip`: the
detector chain on the onset frame, then on the frames nearest it); a clip
with no face in any of them is an error (the corpus' face step,
data/faces.py, falls back to other clips of the person; one clip cannot).
Needs a finished run (DIR/results.json names its folds and classes); the SVM
baselines keep no model to apply.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from typing import Any, Callable

from absl import app, flags, logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from mer_jax import command_line, models
from mer_jax.errors import ConfigError, DataError, FaceNotFoundError, MerError
from mer_jax.preprocess import frames as frames_lib
from mer_jax.preprocess import recipes
from mer_jax.preprocess import video as video_lib
from mer_jax.train import augmentation, checkpoint, run_dir

FACE_OPTIONS = ("auto", "none", "haar", "dlib")
# Side of the face crop made for recipes without a `face` field, before the
# recipe resizes it as it resizes a corpus' frames: about the side of CASME
# II's Cropped faces (150-190 px), or the recipe's image_size when larger.
FACE_SIZE = 128
# Every recipe reads motion, the change from the onset frame to the later ones
# (flow, strain, frame differences, EVM, onset..apex): one frame has none.
MIN_FRAMES = 2

def define_flags() -> dict[str, flags.FlagHolder]:
  """The command's flags, defined when it runs (not at import: `mer_jax.gradcam`, imported
  beside this module in one process, defines a `--workdir` too)."""
  holders = {
      "workdir": flags.DEFINE_string("workdir", None, "Directory of a finished run."),
      "video": flags.DEFINE_string("video", "", "Video file of the clip (read with OpenCV)."),
      "frames": flags.DEFINE_string("frames", "", "Folder of the clip's frame images "
                                    "(numbered)."),
      "onset": flags.DEFINE_integer("onset", 0, "First frame of the expression (0-based)."),
      "apex": flags.DEFINE_integer("apex", None, "Apex frame (0-based); default: the "
                                   "recipe's rule."),
      "offset": flags.DEFINE_integer("offset", None, "Last frame (0-based); default: the "
                                     "last one."),
      "fold": flags.DEFINE_string("fold", "", "Use this fold's model only; default: all "
                                  "folds."),
      "face": flags.DEFINE_enum("face", "auto", FACE_OPTIONS, "Face cropping (see the "
                                "docstring)."),
  }
  flags.mark_flags_as_required(["workdir"])
  return holders


@dataclasses.dataclass(frozen=True)
class Run:
  """What prediction needs of a finished run."""

  workdir: str
  config: ml_collections.ConfigDict
  class_names: tuple[str, ...]
  fold_names: tuple[str, ...]  # in fold-index order (the checkpoints' numbering)


def load_run(workdir: str) -> Run:
  """The config, classes and folds of the run in `workdir`, or why it cannot predict."""
  config = run_dir.load_config(workdir)
  sweep = [name for name, _ in (config.get("sweep") or {}).get("runs", ())]
  if sweep:
    raise ConfigError(f"{workdir} holds a sweep of the runs {sweep}; pass one of them, "
                      f"e.g. --workdir={os.path.join(workdir, sweep[0])}")
  if "classifier" in config:  # baselines/run.is_baseline (not imported: sklearn is slow)
    kernel, features = config.classifier.get("kernel"), config.data.recipe.name
    raise ConfigError(f"the run in {workdir} is a baseline ({kernel} SVM on {features} "
                      "features): SVM runs keep no model to apply")
  path = os.path.join(workdir, "results.json")
  if not os.path.exists(path):
    done = len(glob.glob(os.path.join(workdir, "folds", "*.json")))
    raise ConfigError(f"{path} does not exist: the run has not finished ({done} folds done); "
                      "run the same `python -m mer_jax.main` command again to finish it")
  with open(path) as f:
    results = json.load(f)
  return Run(workdir, config, tuple(results["class_names"]),
             tuple(fold["name"] for fold in results["folds"]))


def fold_checkpoints(run: Run, fold: str = "") -> dict[str, list[tuple[str, int]]]:
  """Checkpoint directory -> [(fold name, position in its group)] of the folds to use.

  Every fold that has a checkpoint, or only `fold`.
  """
  if fold and fold not in run.fold_names:
    raise ConfigError(f"--fold={fold!r} is not a fold of the run in {run.workdir}; its folds "
                      f"are {', '.join(run.fold_names)}")
  groups: dict[str, list[tuple[str, int]]] = {}
  for index, name in enumerate(run.fold_names):
    if fold and name != fold:
      continue
    try:
      directory, position = checkpoint.find_fold(run.workdir, index)
    except ConfigError:
      continue  # Its group's checkpoints were deleted: use the other folds.
    groups.setdefault(directory, []).append((name, position))
  if not groups:
    which = f"fold {fold}" if fold else f"any of its {len(run.fold_names)} folds"
    raise ConfigError(f"{os.path.join(run.workdir, 'checkpoints')} holds no checkpoint of "
                      f"{which}; predict needs the selected models a run saves there")
  return groups


def check_flags(onset: int, apex: int | None, offset: int | None) -> None:
  """An error when --onset, --apex and --offset are not in order."""
  if onset < 0:
    raise ConfigError(f"--onset={onset}; frame indices start at 0")
  if offset is not None and offset < onset:
    raise ConfigError(f"--offset={offset} is before --onset={onset}")
  if apex is not None and (apex < onset or (offset is not None and apex > offset)):
    end = "the last frame" if offset is None else offset
    raise ConfigError(f"--apex={apex} is outside the span {onset}..{end} (--onset..--offset)")


def check_span(total: int, onset: int, apex: int | None, offset: int | None,
               source: str) -> int:
  """The span's last frame; an error when it is not within the clip's `total` frames.

  `total` is exact whenever this fails: a video is read up to --offset only.
  """
  last = total - 1 if offset is None else offset
  if onset > last or last >= total:
    raise ConfigError(f"{source} has {total} frames, 0..{total - 1}; the span {onset}..{last} "
                      "(--onset..--offset) is outside them")
  if apex is not None and apex > last:
    raise ConfigError(f"--apex={apex} is after the last frame {last} of {source}")
  return last


def check_decoded(decoded: video_lib.Decoded, onset: int, offset: int | None,
                  path: str) -> None:
  """Says so when a video ends before the frame count its header declares (truncated).

  An error when that cuts the frames --onset..--offset asks for; a warning when
  no --offset was given (the clip is then the frames that decode).
  """
  read, declared = len(decoded.frames), decoded.declared
  if declared is None or read >= declared:
    return
  if offset is None:
    logging.warning("%s: OpenCV decoded %d of the %d frames its header declares; using "
                    "frames %d..%d (the file looks truncated or damaged: copy or export it "
                    "again, or pass --offset to choose the frames)", path, read, declared,
                    onset, read - 1)
  elif read <= offset:
    raise DataError(f"{path}: OpenCV decoded only frames 0..{read - 1} ({read} of the "
                    f"{declared} frames its header declares), but --onset..--offset asks "
                    f"for frames {onset}..{offset}: the file is truncated or damaged; copy "
                    f"or export it again, or keep --onset..--offset within 0..{read - 1}")


def read_clip(video: str, frames: str, onset: int, apex: int | None,
              offset: int | None) -> np.ndarray:
  """The frames onset..offset of a video file or a frame folder: uint8 RGB `[T, H, W, 3]`."""
  if bool(video) == bool(frames):
    raise ConfigError("pass exactly one of --video=FILE and --frames=DIR")
  check_flags(onset, apex, offset)
  if video:
    decoded = video_lib.decode(video, None if offset is None else offset + 1)
    check_decoded(decoded, onset, offset, video)
    clip = decoded.frames
    return clip[onset:check_span(len(clip), onset, apex, offset, video) + 1]
  paths = frames_lib.list_frame_files(frames)
  if not paths:
    raise DataError(f"{frames}: no frame images ({', '.join(frames_lib.IMAGE_EXTENSIONS)})")
  return frames_lib.read_frames(paths[onset:check_span(len(paths), onset, apex, offset,
                                                       frames) + 1])


def check_length(clip: np.ndarray, recipe: str, source: str, onset: int) -> None:
  """An error when the span is too short for the recipe (see MIN_FRAMES)."""
  if len(clip) < MIN_FRAMES:
    raise DataError(f"{source}: the span from frame {onset} has {len(clip)} frame(s), but the "
                    f"run's recipe {recipe!r} needs at least {MIN_FRAMES}: it reads the motion "
                    "from the onset frame to the later ones (widen --onset..--offset)")


def crop_as_asked(clip: np.ndarray, recipe: dict, face: str) -> tuple[np.ndarray, dict]:
  """(clip, recipe) with `--face` applied: the recipe's own `face` field, or a crop first."""
  if face not in FACE_OPTIONS:
    raise ConfigError(f"--face={face!r}; expected one of {FACE_OPTIONS}")
  if face == "auto":
    return clip, recipe
  if "face" in recipe:
    return clip, {**recipe, "face": face}
  size = max(FACE_SIZE, recipe.get("image_size", 0))
  return recipes.crop_face(clip, face, size), recipe


def model_input(run: Run, clip: np.ndarray, apex_index: int | None, face: str,
                source: str) -> Any:
  """The recipe's output for the clip, then the trainer's evaluation transform: a batch of 1."""
  try:
    clip, recipe = crop_as_asked(clip, run.config.data.recipe.to_dict(), face)
    inputs = recipes.run(clip, recipe, apex_index)
  except FaceNotFoundError as e:
    raise FaceNotFoundError(f"{source}: {e}. Pass --face=none if the frames are already "
                            "faces (cropped), or try --face=dlib or --face=haar") from e
  batch = {name: jnp.asarray(x)[None] for name, x in inputs.items()}
  return augmentation.make(run.config.get("augment")).evaluate(batch)


def as_tuples(value: Any) -> Any:
  """Lists (as JSON gives them) back to tuples, as the config file had them."""
  if isinstance(value, dict):
    return {k: as_tuples(v) for k, v in value.items()}
  return tuple(as_tuples(v) for v in value) if isinstance(value, list) else value


def make_classifier(run: Run) -> Callable[[Any, Any], jax.Array]:
  """`fn(variables, x) -> probabilities [C]`, compiled once for every fold."""
  cfg = as_tuples(run.config.model.to_dict())
  if "remat" in cfg:
    cfg["remat"] = False  # Same parameters; no backward pass to save memory for.
  model = models.get(run.config.model_name, num_classes=len(run.class_names), **cfg)

  @jax.jit
  def classify(variables: Any, x: Any) -> jax.Array:
    logits, _ = model.apply(variables, x, train=False, rngs={"dropout": jax.random.key(0)})
    return jax.nn.softmax(logits.astype(jnp.float32), axis=-1)[0]

  return classify


def fold_probabilities(run: Run, x: Any, groups: dict[str, list[tuple[str, int]]]
                       ) -> dict[str, np.ndarray]:
  """Fold name -> class probabilities `[C]` of its selected model on the input `x`.

  One group checkpoint is held in memory at a time.
  """
  classify = make_classifier(run)
  out = {}
  for directory, folds in groups.items():
    stacked = checkpoint.restore_selected(directory)
    for name, position in folds:
      variables = {k: v for k, v in checkpoint.take_fold(stacked, position).items() if v}
      out[name] = np.asarray(classify(variables, x))
  return out


def predict(workdir: str, video: str = "", frames: str = "", onset: int = 0,
            apex: int | None = None, offset: int | None = None, fold: str = "",
            face: str = "auto") -> dict:
  """Class probabilities of a clip by the run in `workdir` (see the module docstring).

  Returns:
    'predicted' (a class name), 'probabilities' (class -> probability, most
    likely first: the mean over `folds`), 'folds' (the fold models used),
    'fold_probabilities' (fold -> [C], in 'class_names' order), 'class_names',
    'fold' (as given), 'num_folds' (the run's), 'workdir', 'model_name', and
    the clip: 'source', 'onset', 'offset', 'apex' (None: the recipe's rule),
    'face'.
  """
  run = load_run(workdir)
  groups = fold_checkpoints(run, fold)
  clip = read_clip(video, frames, onset, apex, offset)
  source = video or frames
  check_length(clip, run.config.data.recipe.name, source, onset)
  x = model_input(run, clip, None if apex is None else apex - onset, face, source)
  per_fold = fold_probabilities(run, x, groups)
  mean = np.mean(list(per_fold.values()), axis=0)
  order = np.argsort(-mean, kind="stable")
  return {"predicted": run.class_names[order[0]],
          "probabilities": {run.class_names[c]: float(mean[c]) for c in order},
          "folds": list(per_fold), "class_names": list(run.class_names),
          "fold_probabilities": {name: p.tolist() for name, p in per_fold.items()},
          "source": source, "onset": onset, "offset": onset + len(clip) - 1, "apex": apex,
          "face": face, "workdir": workdir, "model_name": run.config.model_name,
          "fold": fold, "num_folds": len(run.fold_names)}


def format_table(result: dict) -> str:
  """The probabilities as a small table, the predicted class first."""
  folds = result["folds"]
  if result["fold"]:
    models_used = f"the model of fold {result['fold']}"
  else:
    models_used = f"mean of {len(folds)} fold models"
    if len(folds) < result["num_folds"]:
      models_used += f"; {result['num_folds'] - len(folds)} folds have no checkpoint"
  apex = "recipe's rule" if result["apex"] is None else result["apex"]
  lines = [f"{result['source']}, frames {result['onset']}..{result['offset']}, apex {apex}, "
           f"face {result['face']}",
           f"run {result['workdir']} ({result['model_name']}, {models_used})", "",
           "| class | probability |", "|---|---|"]
  for name, p in result["probabilities"].items():
    mark = " (predicted)" if name == result["predicted"] else ""
    lines.append(f"| {name}{mark} | {p:.4f} |")
  return "\n".join(lines)


def main(argv: list[str], holders: dict[str, flags.FlagHolder]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  command_line.quiet_library_logs()
  try:
    result = predict(**{name: holder.value for name, holder in holders.items()})
  except MerError as e:
    command_line.fail(str(e))
  print(format_table(result))


if __name__ == "__main__":
  _holders = define_flags()
  app.run(lambda argv: main(argv, _holders), flags_parser=command_line.parse_flags)
