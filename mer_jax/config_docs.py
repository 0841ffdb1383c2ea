"""What every config field means, and a resolved config printed with those meanings.

`MEANINGS` maps a dotted field path ('schedule.base_lr') to one line that says
what the field does, taken from the code that reads it. A path component may
be a pattern (fnmatch: 'data.roots.*', 'data.adapter_options.smic*.frames')
where a field repeats per dataset; an exact path wins over a pattern, and
patterns are tried in the order listed. The pre-training stage's own
`optim`, `schedule`, `augment` and `synthetic` sections mean what the main
ones do (`pretrain.schedule.base_lr` is the stage's learning rate).

A leaf is a field whose value is not a non-empty dict, or one of `TABLES`
(the paper's numbers, one value each). `render` prints every leaf of a
resolved config as `field = value  # meaning (default: D)`, grouped by
section; the default is the value in the same config file's base config,
`get_config()` with no variant (the paper's setting, design.md decision 7).
A value equal to it ends in '(default)'; a field the base config lacks ends
in '(not in the default config)'.

  python -m mer_jax.main --config=configs/atnet.py:cde --print_config
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterator, Mapping

from mer_jax import config_files

# Dict-valued fields printed as one value: row name -> metrics (-> dataset).
TABLES = ("eval.paper_rows", "eval.paper_table")

# Section order of style.md 3; sections not named here follow, sorted.
SECTION_ORDER = ("seed", "data", "protocol", "model_name", "model", "pretrained", "pretrain",
                 "augment", "classifier", "optim", "schedule", "train", "eval", "sweep")

_VALUE_CHARS = 90  # a longer value (a paper table) is cut, ending in '...'

_GENERAL = {
    "seed": "the run's random seed: k-fold shuffles, the validation split, class "
            "oversampling, model initialisation and batch order",
    "model_name": "the model in the registry (mer_jax/models), built with the `model` fields",
}

_DATA = {
    "data.datasets": "corpora to read, by name (data/datasets.py: casme, casme2, samm, smic, "
                     "smic_vis, smic_nir, casme_sq, or the built-in 'synthetic')",
    "data.label_scheme": "how each clip's emotion becomes a class (data/labels.py: casme2_5, "
                         "three_class, megc2019, mer_rcnn_4, islam_3, objective_5)",
    "data.apex": "where the apex frame comes from (data/apex.py): 'annotated' (midpoint where "
                 "the annotation is missing or invalid), 'midpoint' or 'frame_difference'",
    "data.cache_dir": "TFRecord cache of the preprocessed datasets (data/builders.py); 'auto': "
                      "$TFDS_DATA_DIR, else ~/tensorflow_datasets; '' = no cache",
    "data.manifest": "a published protocol's clip counts to check after loading "
                     "(data/manifests.py: casme2_5, megc2018, megc2019); '' = none",
    "data.allow_missing": "with a manifest: go on with fewer clips than published, every "
                          "report saying 'N of M clips' (False: stop, naming what is missing)",
    "data.roots.synthetic": "folder of a written synthetic dataset (python -m "
                            "mer_jax.data.synthetic); '' = generate it in memory "
                            "from data.synthetic",
    "data.roots.*": "the folder holding this corpus as distributed (datasets.md); '' = none "
                    "given",
    "data.adapter_options.casme.frames": "CASME frames to read: 'raw_selected' "
                                         "(CASME_raw_selected) or 'cropped' "
                                         "(CASME_cropped_selected)",
    "data.adapter_options.casme2.frames": "CASME II frames to read: 'cropped' (Cropped/, the "
                                          "official face crops) or 'raw_selected' "
                                          "(CASME2_RAW_selected/)",
    "data.adapter_options.smic*.frames": "SMIC tree to read: 'auto' (SMIC_all_cropped when it "
                                         "holds the subset, else SMIC_all_raw), 'raw' or "
                                         "'cropped'",
    "data.adapter_options.*.coding": "the coding spreadsheet (absolute, or relative to the "
                                     "root); '' = the adapter's default file",
    "data.adapter_options.*": "options of this corpus' adapter (data/datasets.py "
                              "ADAPTER_OPTIONS); empty: it takes none",
}

_SYNTHETIC = {
    "num_subjects": "subjects of the built-in synthetic dataset (data/synthetic/)",
    "clips_per_subject": "clips per subject, one micro-expression each",
    "image_size": "side of the square synthetic frames in pixels",
    "difficulty": "peak expression displacement (~1 px at 64 x 64 for 1.0; 0 = none)",
    "jitter_px": "largest head jitter in pixels (a smooth random walk)",
    "flicker": "largest relative illumination gain change within a clip",
    "noise_std": "sensor noise standard deviation in grey levels",
    "seed": "seed of the generator: the dataset is a deterministic function of these fields",
}

_RECIPE = {
    "data.recipe.name": "the preprocessing recipe (preprocess/recipes.py: pixels, elrcn_stack, "
                        "mer_rcnn, islam, atnet, lbp_top, hoof); its fields follow",
    "data.recipe.face": "face crop before anything else: 'none' (frames as they are), 'haar' or "
                        "'dlib' (data/faces.py; official crops are used as they are)",
    "data.recipe.image_size": "side in pixels of the square frames the recipe makes (ATNet: "
                              "of the apex image)",
    "data.recipe.num_frames": "frames per clip after temporal resampling (elrcn_stack: flows "
                              "per clip; lbp_top/hoof: frames of the descriptor clip, TIM=N)",
    "data.recipe.temporal": "how a clip is brought to num_frames: 'tim' (temporal "
                            "interpolation model) or 'linear'",
    "data.recipe.channels": "elrcn_stack: channels stacked per step, from 'flow' (p, q, |v|), "
                            "'strain' and 'gray'",
    "data.recipe.grayscale": "pixels: grey frames instead of RGB",
    "data.recipe.subtract_onset": "subtract the first frame from every frame, leaving only "
                                  "the motion (not in the papers)",
    "data.recipe.center_crop": "mer_rcnn: fraction of each side kept by the centre crop",
    "data.recipe.alpha": "mer_rcnn: Eulerian video magnification factor (0 leaves the clip "
                         "as it is)",
    "data.recipe.low": "mer_rcnn: EVM's low cut-off, a normalised low-pass coefficient",
    "data.recipe.high": "mer_rcnn: EVM's high cut-off, a normalised low-pass coefficient",
    "data.recipe.max_frames": "mer_rcnn: length of the stored sequence (zero-padded; longer "
                              "clips are resampled to it)",
    "data.recipe.flow_size": "atnet: side of the frames the optical flow is computed on",
    "data.recipe.window": "frames around the apex (atnet: window - 1 flows; lbp_top/hoof: "
                          "0 = the whole clip)",
    "data.recipe.grid": "atnet: ADM blocks per side; lbp_top/hoof: descriptor blocks per side, "
                        "or (rows, cols)",
    "data.recipe.pad": "atnet: frames beyond the clip: 'front' (zero rows first, the authors' "
                       "rule) or 'edge' (indices clamped)",
    "data.recipe.layout": "atnet: ADM column order, 'interleaved' (the authors' files) or "
                          "'split'",
    "data.recipe.flow": "optical flow method: 'tvl1' (batched JAX TV-L1) or 'opencv_tvl1' "
                        "(the OpenCV reference)",
    "data.recipe.radii": "lbp_top: radii (R_XY, R_XT, R_YT)",
    "data.recipe.points": "lbp_top: neighbours P per plane",
    "data.recipe.mapping": "lbp_top: LBP code mapping ('nri_uniform', 'uniform', 'default')",
    "data.recipe.bins": "hoof: orientation bins N",
    "data.recipe.binning": "hoof: orientation range binned, 'full' or 'mirror'",
}

_PROTOCOL = {
    "protocol.name": "cross-validation protocol (data/protocols.py): 'loso' (over a composite: "
                     "MEGC's CDE), 'kfold', 'stratified_kfold', 'subject_kfold' or "
                     "'leave_one_dataset_out' (HDE)",
    "protocol.k": "number of folds of the k-fold protocols (unused by loso and "
                  "leave_one_dataset_out)",
    "protocol.folds_in_parallel": "folds trained at once on the 'fold' mesh axis (speed and "
                                  "memory only: the results are the same)",
    "protocol.fold_strategy": "how a group's folds share one compiled program "
                              "(train/fold_strategy.py): 'vmap' (batched), 'map' (one after "
                              "another on each device) or 'auto' (per backend and model; speed "
                              "only: the results are the same up to float rounding)",
}

_MODEL = {
    "model.dtype": "computation dtype of the activations, 'float32' or 'bfloat16' (not the "
                   "paper's); parameters stay float32",
    "model.lstm_features": "units of each LSTM layer, one entry per layer",
    "model.feature_layer": "ELRCN: the VGG-16 layer whose features go to the LSTM, 'fc7' (the "
                           "paper's) or 'fc6'",
    "model.cnn": "ELRCN: VGG16 attributes (widths, fc_features, dropout_rate); empty = VGG-16",
    "model.cnn.widths": "ELRCN: channels of the five VGG stages (64, 128, 256, 512, 512 in "
                        "VGG-16)",
    "model.cnn.fc_features": "ELRCN: units of VGG's fc6 and fc7 (4096 in VGG-16)",
    "model.cnn.dropout_rate": "ELRCN: dropout after fc6 and fc7 in training (0.5 in VGG-16)",
    "model.remat": "ELRCN: recompute the VGG stages in the backward pass (memory only)",
    "model.gray_mean_rgb": "ELRCN-TE: when set, the grey stream sees 255 * grey - this mean "
                           "(VGG-Face's RGB mean); None feeds it unnormalised",
    "model.stream": "ATNet: 'spatial', 'temporal' or 'fusion' (both streams)",
    "model.backbone": "ATNet: the spatial network, 'resnet10_cvgj' (the paper's) or 'resnet18'",
    "model.backbone_options": "ATNet: extra constructor arguments of the backbone (e.g. "
                              "bn_momentum); empty = none",
    "model.dropout_rate": "dropout rate (ATNet: after the streams' concatenation; MER-RCNN: on "
                          "the pooled features); 0 = none",
    "model.features": "MER-RCNN: feature maps M of every convolution (the paper leaves M open)",
    "model.iterations": "MER-RCNN: recurrent steps of each recurrent convolutional layer",
    "model.norm": "MER-RCNN: the normalised activation after every convolution: 'lrn', "
                  "'batch' or 'none'",
    "model.hidden": "R3D-ConvLSTM-AE: channels of the auto-encoder's cells (encoder_1, "
                    "encoder_2, decoder_1, decoder_2)",
    "model.decoder_input": "R3D-ConvLSTM-AE: the decoder's input, 'feedback' or 'repeat' "
                           "(models/conv_lstm.py)",
    "model.backbone_widths": "R3D-ConvLSTM-AE: channels of the r3d_18 stages",
    "model.conv3d": "R3D-ConvLSTM-AE: how its 3-D convolutions run, 'auto' (temporal taps on "
                    "the CPU, XLA's elsewhere), 'xla' or 'temporal_taps' (models/temporal_taps.py)",
}

_PRETRAINED = {
    "pretrained.kind": "importer of the pretrained weights (mer_jax/weights, e.g. "
                       "vgg_face_dag, resnet10_cvgj_gray, torchvision_r3d_18); '' = from scratch",
    "pretrained.path": "the weights file you have (nothing is downloaded)",
    "pretrained.into": "submodules that receive the imported layers, one per copy ('' = the "
                       "whole model)",
    "pretrained.skip": "imported layers left as initialised (e.g. the source's classifier)",
}

_PRETRAIN = {
    "pretrain.stage": "pre-training stage (train/pretraining.py): 'spatial' (ATNet's spatial "
                      "stream on grey images) or 'model' (the whole model on clips)",
    "pretrain.source": "'' (no stage), 'folder' (your macro-expression data under "
                       "pretrain.folder) or 'synthetic' (the built-in generator)",
    "pretrain.folder": "with source 'folder': <class>/<images> ('spatial') or "
                       "<class>/<clip>/<frames> ('model')",
    "pretrain.face": "'spatial': 'none' or 'haar' (crop the largest detected face first)",
    "pretrain.classes": "class folders to read, in order; empty = all, sorted",
    "pretrain.image_size": "'spatial': side of the grey images",
    "pretrain.held_out": "fraction of the stage's data kept out of training, stratified by "
                         "class; its accuracy is reported",
    "pretrain.into": "where the stage's network goes in the model ('' = the whole model)",
    "pretrain.skip": "layers of the stage's network left out (its own classifier)",
    "pretrain.num_epochs": "epochs of the stage (a fixed number, no selection)",
    "pretrain.batch_size": "clips or images per step of the stage",
}

_AUGMENT = {
    "augment.name": "training augmentation (train/augmentation.py): 'none', 'temporal_jitter', "
                    "'rotate_shift' or 'flip_rotate'",
    "augment.inputs": "stored inputs augmented ('apex' for rotate_shift, 'frames' for "
                      "flip_rotate)",
    "augment.max_degrees": "rotate_shift: rotation angle uniform in +-max_degrees",
    "augment.max_shift_px": "rotate_shift: shift by whole pixels uniform in +-max_shift_px "
                            "per axis",
    "augment.prob": "rotate_shift: probability that an image is rotated and shifted",
    "augment.mode": "border of rotated images: 'constant' (zeros) or 'nearest' (edge pixels)",
    "augment.degrees": "flip_rotate: counter-clockwise rotation of the third copy of each clip",
    "augment.num_frames": "temporal_jitter: frames the network reads",
    "augment.ratios": "temporal_jitter: keep ratios of the jitter variants",
    "augment.kernels": "temporal_jitter: resampling kernels of the jitter variants (ratios x "
                       "kernels variants per clip)",
    "augment.eval_kernel": "temporal_jitter: kernel that resamples evaluation clips",
}

_CLASSIFIER = {
    "classifier.kernel": "SVM kernel of the baselines (baselines/svm.py): 'linear', 'poly' or "
                         "'rbf'",
    "classifier.C": "the SVM's regularisation C",
    "classifier.degree": "degree of the 'poly' kernel",
    "classifier.gamma": "kernel coefficient ('auto' = 1 / n_features, LIBSVM's default)",
    "classifier.coef0": "independent term of the 'poly' kernel",
    "classifier.standardise": "standardise the features on each training fold first",
    "classifier.class_weight": "'' (equal) or 'balanced' class weights",
}

_OPTIM = {
    "optim.name": "optimiser (train/optim.py): 'adam' or 'sgd'",
    "optim.b1": "Adam's first-moment decay",
    "optim.b2": "Adam's second-moment decay",
    "optim.eps": "Adam's epsilon",
    "optim.momentum": "SGD's momentum",
    "optim.weight_decay": "L2 term added to the gradient before the update (not decoupled "
                          "AdamW decay); 0 = none",
    "optim.moments_dtype": "Adam's stored moments: 'float32', or 'bfloat16' to halve their "
                           "memory (not the paper's)",
}

_SCHEDULE = {
    "schedule.kind": "learning-rate schedule (train/optim.py): 'constant', 'inverse_time' "
                     "(Keras' decay) or 'step'",
    "schedule.base_lr": "the learning rate (at the first step, before any decay)",
    "schedule.decay": "inverse_time: rate = base_lr / (1 + decay * step), per step of the fold",
    "schedule.factor": "step: rate multiplied by factor every every_epochs epochs",
    "schedule.every_epochs": "step: epochs between two multiplications by factor",
    "schedule.plateau.patience": "reduce-on-plateau (train/plateau.py): epochs without "
                                 "improvement before the rate is lowered",
    "schedule.plateau.factor": "reduce-on-plateau: multiplier of the rate when it is lowered",
    "schedule.plateau.threshold": "reduce-on-plateau: relative improvement an epoch needs "
                                  "(loss < best * (1 - threshold))",
    "schedule.plateau.min_scale": "reduce-on-plateau: lowest multiplier of the schedule's rate",
}

_TRAIN = {
    "train.num_epochs": "most epochs per fold (an epoch is one pass over the augmented "
                        "training set)",
    "train.batch_size": "clips per optimiser step",
    "train.microbatches": "parts a batch is accumulated over (divides batch_size; the same "
                          "update, less memory)",
    "train.selection": "model selection (train/selection.py): 'val_loss' (early stopping on "
                       "validation subjects), 'last' or 'oracle' (monitors the test subject)",
    "train.patience": "val_loss: epochs without a better validation loss before a fold stops",
    "train.val_fraction": "val_loss: fraction of each fold's training subjects kept for "
                          "validation",
    "train.balance": "class balancing of each fold's training list: '' (none), 'oversample' "
                     "or 'sampler' (class-weighted drawing)",
    "train.class_weights": "'' or 'balanced': weight each clip's loss by n / (C * n_c) of its "
                           "class",
    "train.checkpoint_every_epochs": "epochs between checkpoints (the last epoch is always "
                                     "saved)",
    "train.progress_bar": "show a progress bar per fold group",
    "train.untrained_folds": "a fold with no trained model: 'fail' (stop, naming it) or "
                             "'exclude' (report the others, with a note)",
}

_EVAL = {
    "eval.batch_size": "clips evaluated at once (the SVM baselines do not read it)",
    "eval.paper_rows": "the paper's rows printed beside ours: {row: {metric: value}}",
    "eval.paper_table": "the paper's table, per dataset, printed beside our rows: "
                        "{row: {set: {metric: value}}}",
    "eval.fold_mean_row": "add the metrics averaged over folds to the table (HDE reports "
                          "these)",
    "eval.row_name": "name of our row in the tables; '' = 'ours'",
    "eval.compare_runs": "workdirs of finished runs shown as rows beside this run's",
    "sweep.runs": "runs reported side by side, ((name, ((field, value), ...)), ...); empty = "
                  "one plain run (sweep.py)",
}


def _pretrain_copies(meanings: Mapping[str, str]) -> dict[str, str]:
  """The pre-training stage's optim / schedule / augment fields: as the main ones."""
  sections = ("optim.", "schedule.", "augment.")
  return {f"pretrain.{path}": f"{text} (pre-training stage)"
          for path, text in meanings.items() if path.startswith(sections)}


def _synthetic(prefix: str, note: str = "") -> dict[str, str]:
  return {f"{prefix}.{field}": text + note for field, text in _SYNTHETIC.items()}


_MAIN = {**_GENERAL, **_DATA, **_RECIPE, **_synthetic("data.synthetic"), **_PROTOCOL,
         **_MODEL, **_PRETRAINED, **_PRETRAIN, **_AUGMENT, **_CLASSIFIER, **_OPTIM,
         **_SCHEDULE, **_TRAIN, **_EVAL}
MEANINGS: dict[str, str] = {
    **_MAIN, **_pretrain_copies(_MAIN),
    **_synthetic("pretrain.synthetic", " (pre-training stage's synthetic data)")}


def meaning(path: str) -> str | None:
  """The meaning of field `path` ('schedule.base_lr'); None when it has none."""
  if path in MEANINGS:
    return MEANINGS[path]
  parts = path.split(".")
  for pattern, text in MEANINGS.items():
    pattern_parts = pattern.split(".")
    if len(pattern_parts) == len(parts) and all(
        fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern_parts)):
      return text
  return None


def leaf_fields(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
  """(dotted path, value) of every leaf of a config (a ConfigDict or its `to_dict()`)."""
  tree = tree.to_dict() if hasattr(tree, "to_dict") else tree
  for key, value in tree.items():
    path = prefix + key
    if isinstance(value, Mapping) and value and path not in TABLES:
      yield from leaf_fields(value, path + ".")
    else:
      yield path, value


def undocumented(config: Mapping[str, Any]) -> list[str]:
  """The leaf fields of `config` that have no meaning in MEANINGS, sorted."""
  return sorted(path for path, _ in leaf_fields(config) if meaning(path) is None)


def show(value: Any) -> str:
  """A value as Python writes it, cut to _VALUE_CHARS characters."""
  text = repr(value)
  return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS - 3] + "..."


def _section_rank(path: str) -> tuple[int, str]:
  section = path.split(".", 1)[0]
  known = section in SECTION_ORDER
  return (SECTION_ORDER.index(section) if known else len(SECTION_ORDER), section)


def render(config: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> str:
  """Every leaf of `config` as `field = value  # meaning (default: D)`, by section.

  Args:
    config: the resolved config (variant and overrides applied).
    base: the config the defaults come from (the file's no-variant config);
      None leaves the default notes out.
  """
  defaults = dict(leaf_fields(base)) if base is not None else None
  lines, section = [], None
  for path, value in sorted(leaf_fields(config), key=lambda f: _section_rank(f[0])):
    head = path.split(".", 1)[0]
    if head != section:
      lines += ["", f"[{head}]"] if "." in path else [""]
    section = head
    note = meaning(path) or "(undocumented)"
    if defaults is not None:
      note += _default_note(path, value, defaults)
    lines.append(f"{path} = {show(value)}  # {note}")
  return "\n".join(lines).lstrip("\n")


def _default_note(path: str, value: Any, defaults: Mapping[str, Any]) -> str:
  if path not in defaults:
    return " (not in the default config)"
  if defaults[path] == value:
    return " (default)"
  return f" (default: {show(defaults[path])})"


def render_file(config_arg: str, config: Mapping[str, Any]) -> str:
  """`render` of `config`, loaded from `config_arg` ('FILE[:VARIANT]'), against FILE's base."""
  path = config_arg.split(":", 1)[0]
  heading = (f"# {config_arg}: every field, its meaning and its default (the value in "
             f"{path} with no variant, the paper's setting)")
  return heading + "\n" + render(config, config_files.load_config(path, None))
