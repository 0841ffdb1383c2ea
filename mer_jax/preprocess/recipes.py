"""Per-paper preprocessing recipes: which steps, in which order, with which parameters.

A recipe is a pure function `recipe(frames, recipe_cfg, apex_index=None, *,
face=None, apex_annotated=True)` of one clip (uint8 `[T, H, W, 3]`, the
frames onset..offset), the recipe config, the apex's position in the clip
(`sample.apex - sample.onset`), the clip's face as the face step located it
(`face.FaceBox`, data/faces.py) and whether the corpus annotates an apex
(SMIC does not); recipes that do not use one of them ignore it. A recipe with
a `face` field ('none' | 'haar' | 'dlib') crops the face with the FaceBox
given; given none (a direct call, e.g. from predict), it locates the face on
this clip alone (`face.locate_in_clip`: the onset frame, then the frames
nearest it) and raises FaceNotFoundError when no frame has one. It returns
what is stored for that clip: one float32 array (stored as the input named 'frames'), or a dict of named arrays
of any dtype (e.g. a padded sequence and its length). `run` calls a recipe and
always gives the dict. Recipes are looked up by `config.data.recipe.name`;
what each stores (names, shapes, dtypes) is declared from its fields in
preprocess/recipe_outputs.py.
"""

from __future__ import annotations

from typing import Callable, Mapping

import cv2
import numpy as np

from mer_jax.preprocess.descriptors import hoof, lbp_top
from mer_jax.errors import ConfigError
from mer_jax.preprocess import adm, evm, flow, jitter, recipe_fields, strain, tim
from mer_jax.preprocess import face as face_lib
from mer_jax.preprocess.face import FaceBox


def to_gray(frames: np.ndarray) -> np.ndarray:
  """RGB uint8 `[T, H, W, 3]` -> grey uint8 `[T, H, W, 1]` (ITU-R 601 luma, as OpenCV)."""
  gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
  return np.stack(gray)[..., None]


def resize(frames: np.ndarray, size: int) -> np.ndarray:
  """Resizes every frame of `[T, H, W, C]` to `size x size` (area interpolation)."""
  out = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames]
  out = np.stack(out)
  return out if out.ndim == 4 else out[..., None]  # cv2 drops a single channel.


def pixels(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
           face: FaceBox | None = None, apex_annotated: bool = True) -> np.ndarray:
  """ELRCN temporal-only input: grey, resized, fixed length, intensities in [0, 1].

  Recipe fields: image_size (50 in the paper), num_frames (10), grayscale,
  temporal ('tim', the temporal interpolation model, as the paper; or 'linear'),
  subtract_onset (not in the paper, off in its config: every frame minus the
  first, so the static face cancels and only the motion is left).
  """
  del apex_index, face, apex_annotated  # Not used by this recipe.
  x = to_gray(frames) if recipe["grayscale"] else frames
  x = resize(x, recipe["image_size"])
  x = resample(x, recipe["num_frames"], recipe["temporal"]) / 255.0
  if recipe["subtract_onset"]:
    x = x - x[:1]
  return x.astype(np.float32)


def elrcn_stack(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
                face: FaceBox | None = None, apex_annotated: bool = True) -> np.ndarray:
  """ELRCN's per-step input (Khor et al. 2018, III-A/B): flow image, strain, grey.

  The clip is made grey, resized and brought to num_frames + 1 frames (TIM);
  TV-L1 between each pair of successive frames gives num_frames flows. Step t
  stacks the channels named in `recipe['channels']`, in that order: 'flow'
  (p, q, |v|, not normalised), 'strain' (the strain magnitude of that flow)
  and 'gray' (the later frame of the pair, in [0, 1]). All three give the SE
  input `[num_frames, S, S, 5]`. Recipe field `face` ('none' when absent, as
  in older recipes; 'haar' or 'dlib'): the face is first cut to
  image_size x image_size (`crop_face`).
  """
  del apex_index, apex_annotated  # Not used by this recipe.
  frames = crop_face(frames, recipe.get("face", "none"), recipe["image_size"], face)
  x = resize(to_gray(frames), recipe["image_size"])[..., 0]          # [T, S, S]
  x = resample(x / 255.0, recipe["num_frames"] + 1, recipe["temporal"])  # [n+1, S, S]
  flows = np.asarray(flow.tvl1_batch(x[:-1], x[1:]))                   # [n, S, S, 2]
  parts = {"flow": lambda: flow.flow_image(flows),
           "strain": lambda: strain.magnitude(flows)[..., None],
           "gray": lambda: x[1:, ..., None]}
  unknown = [c for c in recipe["channels"] if c not in parts]
  if unknown or not recipe["channels"]:
    raise ConfigError(f"config.data.recipe.channels={tuple(recipe['channels'])}; expected "
                      "a non-empty selection of 'flow', 'strain', 'gray'")
  return np.concatenate([parts[c]() for c in recipe["channels"]], -1).astype(np.float32)


def center_crop(frames: np.ndarray, fraction: float) -> np.ndarray:
  """Keeps the centre `round(fraction * side)` rows and columns of `[T, H, W, C]`."""
  h, w = frames.shape[1:3]
  ch, cw = max(1, round(fraction * h)), max(1, round(fraction * w))
  top, left = (h - ch) // 2, (w - cw) // 2
  return frames[:, top:top + ch, left:left + cw]


def mer_rcnn(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
             face: FaceBox | None = None, apex_annotated: bool = True
             ) -> dict[str, np.ndarray]:
  """MER-RCNN input (Xia et al. 2018, Sec. 3): EVM, resize, centre crop, flatten.

  The colour clip is motion-magnified (`evm.magnify` with alpha, band
  [low, high] as normalised coefficients, lambda_c 16), resized to
  image_size x image_size, cut to its centre `center_crop` fraction per side
  and each frame flattened row-major into one row of pixels per channel: row
  t, pixel j of 'sequence' is pixel (j // side, j % side) of frame t's crop.
  The paper's 1966 pixels per channel (0.64 x 3072) are no integer square;
  image_size 55 gives an exact 44 x 44 = 1936 crop, the nearest.

  The clip keeps its own length: resampling it to the network's 30 frames
  (with temporal jittering in training) happens on the device, from this
  stored sequence (`augment` 'temporal_jitter', train/augmentation.py). It is
  padded with zeros to `max_frames`; a longer clip is first resampled to
  `max_frames` (MATLAB imresize's default, antialiased bicubic; 150 holds
  every CASME II clip, the longest of the three corpora, as it is).

  Returns:
    'sequence': uint8 `[max_frames, crop * crop, 3]`; 'length': int32, the
    clip's frame count (at most max_frames).
  """
  del apex_index, face, apex_annotated  # Not used by this recipe.
  x = np.asarray(evm.magnify(frames, alpha=recipe["alpha"], low=recipe["low"],
                             high=recipe["high"]))                  # uint8 [T, H, W, 3]
  x = center_crop(resize(x, recipe["image_size"]), recipe["center_crop"])  # [T, c, c, 3]
  x = x.reshape(x.shape[0], -1, x.shape[-1])                               # [T, c*c, 3]
  size = recipe["max_frames"]
  if len(x) > size:
    x = np.clip(np.round(jitter.resample(x, size, "bicubic", antialias=True)), 0, 255)
  sequence = np.zeros((size,) + x.shape[1:], np.uint8)
  sequence[:len(x)] = x
  return {"sequence": sequence, "length": np.asarray(len(x), np.int32)}


def onset_to_apex(frames: np.ndarray, apex_index: int, length: int) -> np.ndarray:
  """`length` frames of onset..apex, apex last (Islam et al. 2022, Sec. 2.1, 3.2).

  Shorter spans are padded at the end with the apex frame; longer ones keep
  the frames at equal intervals, `round(linspace(0, apex, length))`, which
  keeps onset and apex (the paper "selects the frames at equal interval").
  """
  span = frames[:apex_index + 1]                                     # [a+1, H, W, C]
  if len(span) >= length:
    return span[np.round(np.linspace(0, apex_index, length)).astype(int)]
  pad = np.repeat(span[-1:], length - len(span), axis=0)
  return np.concatenate([span, pad])                                 # [length, H, W, C]


def check_face_method(method: str) -> None:
  """ConfigError unless `method` is 'none', 'haar' or 'dlib'."""
  if method not in ("none", "haar", "dlib"):
    raise ConfigError(f"config.data.recipe.face={method!r}; expected 'none', 'haar' or 'dlib'")


def clip_face(frames: np.ndarray, method: str, found: FaceBox | None = None
              ) -> FaceBox | None:
  """The face to crop `frames` with: None for 'none', `found` when given, else the face
  located on this clip alone (`face.locate_in_clip`; FaceNotFoundError when none)."""
  check_face_method(method)
  if method == "none":
    return None
  return found if found is not None else face_lib.locate_in_clip(frames, method)


def crop_face(frames: np.ndarray, method: str, size: int, found: FaceBox | None = None
              ) -> np.ndarray:
  """The clip cut to its face at `size` x `size`, one transform for every frame.

  'none' gives the frames as they are. 'haar' / 'dlib' crop with `found` (the
  face step's FaceBox); without one, the face is located on this clip
  (`clip_face`). A FaceBox without a box (an official face crop, or a clip
  with no face anywhere) gives the frames as they are too: the caller resizes.
  """
  found = clip_face(frames, method, found)
  return frames if found is None else face_lib.crop_to_face(frames, found, size)


def to_size(frames: np.ndarray, size: int) -> np.ndarray:
  """`frames` resized to `size` x `size` unless they are already that size."""
  return frames if frames.shape[1:3] == (size, size) else resize(frames, size)


def whole_clip(frames: np.ndarray, length: int) -> np.ndarray:
  """`length` frames of the whole clip onset..offset, at equal intervals
  (`round(linspace(0, T - 1, length))`), padded with the last frame when shorter."""
  return onset_to_apex(frames, len(frames) - 1, length)


def islam(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
          face: FaceBox | None = None, apex_annotated: bool = True) -> np.ndarray:
  """Islam et al. (2022) input: aligned 64 x 64 faces, onset..apex, apex last.

  Recipe fields: image_size (64), num_frames (12), face ('haar', 'dlib': one
  alignment for the whole clip from its face, `crop_face`; 'none': resize
  only; a FaceBox without a box, e.g. an official crop, is resized too),
  subtract_onset (not in the paper, off in its configs: every frame minus the
  first, as in `pixels`; the demo's setting, BUILD_NOTES.md).

  A corpus that annotates no apex (SMIC; `apex_annotated` False) has its
  whole clip onset..offset sampled instead, num_frames frames at equal
  intervals (`whole_clip`): Islam et al. kept SMIC's sequences at their
  original length rather than cut them at a guessed apex.

  Args:
    frames: uint8 `[T, H, W, 3]`, onset..offset.
    recipe: the recipe config.
    apex_index: position of the apex in `frames`; the pipeline must pass
      `sample.apex - sample.onset`. None takes the middle frame, `T // 2`.
      Not used when `apex_annotated` is False.
    face: the clip's face (data/faces.py); None locates it here.
    apex_annotated: False when the corpus marks no apex (see above).

  Returns:
    float32 `[num_frames, image_size, image_size, 3]` in [0, 1] (in [-1, 1]
    with subtract_onset).
  """
  size, method, length = recipe["image_size"], recipe["face"], recipe["num_frames"]
  if apex_annotated:
    apex = len(frames) // 2 if apex_index is None else apex_index
    if not 0 <= apex < len(frames):
      raise ValueError(f"apex_index={apex_index} is outside the {len(frames)}-frame clip")
    x = onset_to_apex(frames, apex, length)
  else:
    x = whole_clip(frames, length)
  x = crop_face(x, method, size, clip_face(frames, method, face))
  x = to_size(x, size) / 255.0
  if recipe.get("subtract_onset", False):  # Absent from runs made before the field.
    x = x - x[:1]
  return x.astype(np.float32)


ATNET_FLOWS = ("tvl1", "opencv_tvl1")


def _pair_flows(first: np.ndarray, second: np.ndarray, method: str) -> np.ndarray:
  """Flows `[N, S, S, 2]` from `first[i]` to `second[i]` (`[N, S, S]`, in [0, 1]).

  'tvl1' pads the batch to a power of two with copies of the last pair (their
  flows are dropped), so clips of every length compile few shapes.
  """
  if method == "opencv_tvl1":
    return np.stack([flow.opencv_tvl1(a, b) for a, b in zip(first, second)])
  n = len(first)
  take = np.minimum(np.arange(1 << (n - 1).bit_length()), n - 1)  # [2^k]
  return np.asarray(flow.tvl1_batch(first[take], second[take]))[:n]


def atnet(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
          face: FaceBox | None = None, apex_annotated: bool = True
          ) -> dict[str, np.ndarray]:
  """ATNet's two inputs (Peng et al. 2019, III-A): the apex frame and ADM features.

  The apex image is the grey apex frame resized to image_size. For the
  temporal stream, `adm.select_window` picks `window` frames around the apex;
  each is made grey and resized to flow_size, the flow between each pair of
  successive window frames is computed and `adm.features` averages its
  direction and magnitude over grid x grid blocks. Pairs of the same frame
  index (the padding beyond the clip) have zero flow by definition: they are
  not passed to the flow method, their flows are filled with zeros, so their
  ADM rows are exactly zero. Only distinct pairs are computed.

  Substitution: the paper computes flow with its ref. [18] (Sun, Roth &
  Black's Classic+NL, MATLAB); we use TV-L1 (OpenCV's default parameters).

  Recipe fields (paper values in brackets):
    face: 'none' (the frames as given), or 'haar' / 'dlib': the clip's face
      (the `face` argument, or located on the clip: the onset frame first),
      aligned and cropped the same way in every frame (`crop_face`) before
      anything else [the authors cropped the face with ASM, located on the
      apex frame].
    image_size: side of the apex image [224].
    flow_size: side of the frames the flow is computed on [224].
    window: frames around the apex, apex in the middle [65: 32 each side,
      64 flows].
    grid: ADM blocks per side [8: 64 blocks, 128 features per flow].
    pad: frames beyond the clip, see `adm.select_window`: 'front' (the
      authors' rule: zero rows first) or 'edge' (indices clamped).
    layout: ADM column order, 'interleaved' (the authors' files) or 'split'.
    flow: 'tvl1' (JAX `flow.tvl1_batch` on frames in [0, 1]; its batch of
      distinct pairs is padded to a power of two with copies of a real pair,
      dropped after, so a corpus compiles at most log2(window) + 1 shapes) or
      'opencv_tvl1' (the OpenCV reference, one pair at a time).

  Args:
    frames: uint8 `[T, H, W, 3]`, onset..offset.
    recipe: the recipe config.
    apex_index: position of the apex in `frames`; None takes `T // 2` (the
      paper's rule for SMIC, which marks no apex).
    face: the clip's face (data/faces.py); None locates it here.
    apex_annotated: not used (the pipeline's apex of SMIC is the midpoint).

  Returns:
    'apex': uint8 `[image_size, image_size, 1]`; 'adm': float32
    `[window - 1, 2 * grid * grid]`.
  """
  del apex_annotated  # Not used by this recipe.
  method, pad, layout = recipe["flow"], recipe["pad"], recipe["layout"]
  for field, value, known in (("flow", method, ATNET_FLOWS), ("pad", pad, ("front", "edge")),
                              ("layout", layout, ("interleaved", "split"))):
    if value not in known:
      raise ConfigError(f"config.data.recipe.{field}={value!r}; expected one of {known}")
  apex = len(frames) // 2 if apex_index is None else apex_index
  if not 0 <= apex < len(frames):
    raise ValueError(f"apex_index={apex_index} is outside the {len(frames)}-frame clip")
  frames = crop_face(frames, recipe.get("face", "none"),
                     max(recipe["image_size"], recipe["flow_size"]), face)
  image = resize(to_gray(frames[apex:apex + 1]), recipe["image_size"])[0]  # [S, S, 1]
  index = adm.select_window(len(frames), apex, recipe["window"], mode=pad)  # [window]
  used, where = np.unique(index, return_inverse=True)   # each frame made grey once
  grey = resize(to_gray(frames[used]), recipe["flow_size"])[..., 0] / np.float32(255)
  moving = np.flatnonzero(index[:-1] != index[1:])       # pairs of distinct frames
  size = recipe["flow_size"]
  flows = np.zeros((len(index) - 1, size, size, 2), np.float32)  # [window - 1, S, S, 2]
  if moving.size:
    flows[moving] = _pair_flows(grey[where[moving]], grey[where[moving + 1]], method)
  return {"apex": image, "adm": adm.features(flows, recipe["grid"], layout)}


def descriptor_clip(frames: np.ndarray, recipe: Mapping, apex_index: int | None,
                    face: FaceBox | None = None) -> np.ndarray:
  """The grey clip a hand-crafted descriptor reads: uint8 `[num_frames, S, S]`.

  The frames onset..offset (window 0, ELRCN's baseline), or the up to
  `window` frames around the apex that the clip has (ATNet's "frames around
  the apex frame", 65 there), the face cropped (`face`), made grey, resized
  to image_size and brought to num_frames by `temporal` ('tim', as the
  papers' "TIM=10 / 64"), rounded to whole grey levels as TIM images saved
  to disk are. The face is that of the whole clip (`face`, or located on it
  from the onset frame), applied to the window.
  """
  found = clip_face(frames, recipe["face"], face)
  if recipe["window"]:
    apex = len(frames) // 2 if apex_index is None else apex_index
    half = recipe["window"] // 2
    frames = frames[max(0, apex - half):apex + half + 1]
  frames = crop_face(frames, recipe["face"], recipe["image_size"], found)
  x = resize(to_gray(frames), recipe["image_size"])[..., 0]              # [T, S, S]
  x = resample(x, recipe["num_frames"], recipe["temporal"])
  return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _descriptor(compute, recipe: Mapping) -> dict[str, np.ndarray]:
  """{'features': float32 [D]}; a size the recipe's parameters cannot hold is a ConfigError."""
  try:
    return {"features": np.asarray(compute(), np.float32)}
  except ValueError as e:
    raise ConfigError(f"config.data.recipe ({recipe['name']}): {e}") from e


def lbp_top_features(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
                     face: FaceBox | None = None, apex_annotated: bool = True
                     ) -> dict[str, np.ndarray]:
  """LBP-TOP of the descriptor clip (`descriptor_clip`; preprocess/descriptors/lbp_top.py).

  Recipe fields besides the clip's: radii (R_XY, R_XT, R_YT), points (P),
  grid (blocks per side, or (rows, cols)), mapping ('nri_uniform': the
  uniform patterns of Zhao and Pietikainen, 59 bins for P=8).
  """
  del apex_annotated  # Not used by this recipe.
  clip = descriptor_clip(frames, recipe, apex_index, face)
  return _descriptor(lambda: lbp_top.features(
      clip, tuple(recipe["radii"]), recipe["points"], recipe["grid"], recipe["mapping"]), recipe)


def hoof_features(frames: np.ndarray, recipe: Mapping, apex_index: int | None = None, *,
                  face: FaceBox | None = None, apex_annotated: bool = True
                  ) -> dict[str, np.ndarray]:
  """HOOF of the flows between successive frames of the descriptor clip (preprocess/descriptors/hoof.py).

  Recipe fields besides the clip's: bins (N), grid, binning ('full' or
  'mirror'), flow ('tvl1' or 'opencv_tvl1', as ATNet's recipe).
  """
  if recipe["flow"] not in ATNET_FLOWS:
    raise ConfigError(f"config.data.recipe.flow={recipe['flow']!r}; expected one of "
                      f"{ATNET_FLOWS}")
  del apex_annotated  # Not used by this recipe.
  clip = descriptor_clip(frames, recipe, apex_index, face) / np.float32(255)
  flows = _pair_flows(clip[:-1], clip[1:], recipe["flow"])             # [n - 1, S, S, 2]
  return _descriptor(lambda: hoof.features(flows, recipe["bins"], recipe["grid"],
                                           recipe["binning"]), recipe)


def resample(frames: np.ndarray, length: int, method: str) -> np.ndarray:
  """Resamples a clip to `length` frames with the named method."""
  if method == "linear":
    return tim.resample_linear(frames, length)
  if method == "tim":
    return tim.interpolate(frames.astype(np.float32), length)
  raise ConfigError(
      f"config.data.recipe.temporal={method!r}; expected 'tim' or 'linear'")


Recipe = Callable[..., np.ndarray | dict[str, np.ndarray]]

RECIPES: dict[str, Recipe] = {
    "pixels": pixels,
    "elrcn_stack": elrcn_stack,
    "mer_rcnn": mer_rcnn,
    "islam": islam,
    "atnet": atnet,
    "lbp_top": lbp_top_features,
    "hoof": hoof_features,
}


def get_recipe(name: str) -> Recipe:
  """Returns the recipe called `name`, or raises ConfigError listing the known ones."""
  if name not in RECIPES:
    raise ConfigError(
        f"config.data.recipe.name={name!r} is not a recipe; expected one of {sorted(RECIPES)}")
  return RECIPES[name]


def check_config(recipe_cfg: Mapping) -> None:
  """ConfigError unless `recipe_cfg` names a recipe and its fields are the recipe's own,
  each valid (preprocess/recipe_fields.py): called before any clip is read."""
  get_recipe(recipe_cfg.get("name"))
  recipe_fields.check(recipe_cfg)


def run(frames: np.ndarray, recipe_cfg: Mapping, apex_index: int | None = None, *,
        face: FaceBox | None = None, apex_annotated: bool = True) -> dict[str, np.ndarray]:
  """Applies the recipe `recipe_cfg['name']` to one clip; returns its named inputs.

  `face` (the clip's FaceBox from data/faces.py; None: recipes with a `face`
  field locate it on the clip) and `apex_annotated` (False for a corpus
  without apex annotation, SMIC) are passed on (see the module docstring).
  A recipe that returns one array gives {'frames': float32 array}; one that
  returns a dict gives its arrays with their own dtypes. The recipe config is
  checked first (`check_config`).
  """
  check_config(recipe_cfg)
  out = get_recipe(recipe_cfg["name"])(frames, recipe_cfg, apex_index=apex_index, face=face,
                                       apex_annotated=apex_annotated)
  if isinstance(out, Mapping):
    return {name: np.asarray(value) for name, value in out.items()}
  return {"frames": np.asarray(out, np.float32)}
