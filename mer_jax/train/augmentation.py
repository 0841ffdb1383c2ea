"""What the model sees: stored inputs -> model input, augmented in training (`config.augment`).

The dataset sits on the device as its recipe stored it: `data['inputs']`, a
dict of named arrays `[N, ...]`. An `Augmentation` turns a gathered batch of
those into the model's input, inside the compiled step:

  train(key, batch, copy) -> model input    copy: [B] int32, each row's variant
  evaluate(batch) -> model input            no randomness

`copies` is the number of variants of each training clip that one epoch
visits: an epoch is one pass over the augmented training set, every (clip,
variant) pair once, in a random order. MER-RCNN's 48 jitter variants make its
epoch 48 passes over the clips, and its learning rate halves after each such
pass, as the paper's "after all mini-batches are traversed".

The model input of a batch whose only array is 'frames' is that array; of any
other set of arrays, the dict.

Kinds (`config.augment.name`):
  'none': the stored input as it is, in training and in evaluation.
  'temporal_jitter': MER-RCNN (Xia et al. 2018, II-D), on the stored
    'sequence' `[max_frames, P, C]` (uint8) and 'length'. Training: variant
    `copy` of the (keep ratio x kernel) pairs, `ratios` x `kernels` (48 in the
    paper), resampled to `num_frames`; evaluation: every frame resampled with
    `eval_kernel` ('bicubic', MATLAB imresize's default kernel: the authors'
    code is MatConvNet). Both use imresize's kernels without its
    antialiasing (preprocess/jitter.py): a clip longer than `num_frames` is
    interpolated, not low-pass filtered first as imresize's default would.
    The model gets `[B, P, num_frames, C]` in [0, 1] (clipped, as imresize
    saturates uint8 frames).
  'rotate_shift': ATNet (Peng et al. 2019, IV-A), on the stored images named
    in `inputs` (default the 'apex' frame `[S, S, C]`): in training each image
    is, with probability `prob` (0.5), rotated by an angle uniform in
    +-`max_degrees` (5) and shifted by whole pixels uniform in +-`max_shift_px`
    (10) per axis (preprocess/augment.random_rotate_shift); every other input
    as stored. Evaluation: everything as stored.
  'flip_rotate': Islam et al. (2022, 2.1), on the clips named in `inputs`
    (default 'frames' `[T, H, W, C]`): the training set tripled, as the
    paper's offline augmentation: variant 0 is the clip, 1 turned upside down
    (PyTorch's `vflip`), 2 rotated `degrees` (8) counter-clockwise; an epoch
    visits all three of every clip. Evaluation: as stored.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from mer_jax.errors import ConfigError
from mer_jax.preprocess import augment, jitter

Batch = Mapping[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class Augmentation:
  """How a batch of stored inputs becomes the model's input (see the module docstring)."""

  name: str
  copies: int
  train: Callable[[jax.Array, Batch, jax.Array], Any]
  evaluate: Callable[[Batch], Any]


def model_input(batch: Batch) -> Any:
  """The stored inputs as the model takes them: 'frames' alone as an array, else the dict."""
  return batch["frames"] if set(batch) == {"frames"} else dict(batch)


def none() -> Augmentation:
  """No augmentation: the model sees what the recipe stored."""
  return Augmentation("none", 1, lambda key, batch, copy: model_input(batch), model_input)


def _require(batch: Batch, names: tuple[str, ...], kind: str, recipe: str) -> None:
  missing = [n for n in names if n not in batch]
  if missing:
    raise ConfigError(f"config.augment.name={kind!r} needs the stored inputs {list(names)}, "
                      f"but the recipe stored {sorted(batch)} (use recipe {recipe!r})")


def temporal_jitter(num_frames: int = 30, ratios: tuple[float, ...] = jitter.RATIOS,
                    kernels: tuple[str, ...] = jitter.KERNELS,
                    eval_kernel: str = "bicubic") -> Augmentation:
  """MER-RCNN's temporal jittering; `copies` = len(ratios) * len(kernels)."""
  bad = [r for r in ratios if r not in jitter.RATIOS] + [k for k in kernels
                                                         if k not in jitter.KERNELS]
  if bad or not ratios or not kernels or eval_kernel not in jitter.KERNELS:
    raise ConfigError(f"config.augment: ratios {tuple(ratios)}, kernels {tuple(kernels)} and "
                      f"eval_kernel {eval_kernel!r} must come from {jitter.RATIOS} and "
                      f"{jitter.KERNELS}")
  # copy c -> its index in jitter.variants(), the paper's 48 (ratio, kernel) pairs.
  table = jnp.asarray([jitter.RATIOS.index(r) * len(jitter.KERNELS) + jitter.KERNELS.index(k)
                       for r in ratios for k in kernels], jnp.int32)

  def to_model(frames: jax.Array) -> jax.Array:  # [B, n, P, C] 0..255 -> [B, P, n, C] 0..1
    # Clipped as MATLAB imresize saturates uint8 frames (the cubic and Lanczos
    # kernels overshoot); not rounded.
    return jnp.swapaxes(jnp.clip(frames, 0.0, 255.0), 1, 2) / 255.0

  def train(key: jax.Array, batch: Batch, copy: jax.Array) -> jax.Array:
    _require(batch, ("sequence", "length"), "temporal_jitter", "mer_rcnn")
    keys = jax.random.split(key, copy.shape[0])
    one = lambda k, s, n, v: jitter.device_jitter(k, s, n, v, num_frames)  # noqa: E731
    return to_model(jax.vmap(one)(keys, batch["sequence"], batch["length"], table[copy]))

  def evaluate(batch: Batch) -> jax.Array:
    _require(batch, ("sequence", "length"), "temporal_jitter", "mer_rcnn")
    one = lambda s, n: jitter.device_resample(s, n, num_frames, eval_kernel)  # noqa: E731
    return to_model(jax.vmap(one)(batch["sequence"], batch["length"]))

  return Augmentation("temporal_jitter", len(table), train, evaluate)


def rotate_shift(inputs: tuple[str, ...] = ("apex",), max_degrees: float = 5.0,
                 max_shift_px: int = 10, prob: float = 0.5,
                 mode: str = "constant") -> Augmentation:
  """ATNet's image augmentation: a random rotation and shift of each image in `inputs`."""
  if not inputs or not 0.0 <= prob <= 1.0 or max_degrees < 0 or max_shift_px < 0:
    raise ConfigError(f"config.augment (rotate_shift): inputs {tuple(inputs)} must be "
                      f"non-empty, prob {prob} in [0, 1], max_degrees {max_degrees} and "
                      f"max_shift_px {max_shift_px} >= 0")
  if mode not in ("constant", "nearest"):
    raise ConfigError(f"config.augment.mode={mode!r}; expected 'constant' or 'nearest'")

  def one(key: jax.Array, image: jax.Array) -> jax.Array:  # [S, S, C] as a 1-frame clip
    return augment.random_rotate_shift(key, image[None], max_degrees, max_shift_px, prob,
                                       mode)[0]

  def train(key: jax.Array, batch: Batch, copy: jax.Array) -> Any:
    del copy  # One variant: every epoch draws new transforms.
    _require(batch, tuple(inputs), "rotate_shift", "atnet")
    out = dict(batch)
    for i, name in enumerate(inputs):
      keys = jax.random.split(jax.random.fold_in(key, i), batch[name].shape[0])
      out[name] = jax.vmap(one)(keys, batch[name])
    return model_input(out)

  return Augmentation("rotate_shift", 1, train, model_input)


def flip_rotate(inputs: tuple[str, ...] = ("frames",), degrees: float = 8.0,
                mode: str = "constant") -> Augmentation:
  """Islam et al.'s tripled training set: each clip, flipped upside down, rotated."""
  if not inputs or mode not in ("constant", "nearest"):
    raise ConfigError(f"config.augment (flip_rotate): inputs {tuple(inputs)} must be non-empty "
                      f"and mode {mode!r} 'constant' or 'nearest'")

  def variant(clip: jax.Array, copy: jax.Array) -> jax.Array:  # clip [T, H, W, C]
    flipped, rotated = augment.vertical_flip(clip), augment.rotate(clip, degrees, mode)
    return jnp.where(copy == 1, flipped, jnp.where(copy == 2, rotated, clip))

  def train(key: jax.Array, batch: Batch, copy: jax.Array) -> Any:
    del key  # The three variants are fixed, as the paper's offline set.
    _require(batch, tuple(inputs), "flip_rotate", "islam")
    out = dict(batch)
    for name in inputs:
      out[name] = jax.vmap(variant)(batch[name], copy)
    return model_input(out)

  return Augmentation("flip_rotate", 3, train, model_input)


KINDS: dict[str, Callable[..., Augmentation]] = {
    "none": none,
    "temporal_jitter": temporal_jitter,
    "rotate_shift": rotate_shift,
    "flip_rotate": flip_rotate,
}


def make(cfg: Mapping | None) -> Augmentation:
  """The augmentation `config.augment` names (None or no section: 'none')."""
  options = dict(cfg or {"name": "none"})
  name = options.pop("name", "none")
  if name not in KINDS:
    raise ConfigError(f"config.augment.name={name!r}; expected one of {sorted(KINDS)}")
  try:
    return KINDS[name](**{k: tuple(v) if isinstance(v, list) else v
                          for k, v in options.items()})
  except TypeError as e:
    raise ConfigError(f"config.augment ({name}): {e}") from e


def example_input(augmentation: Augmentation, inputs: Mapping[str, np.ndarray]) -> Any:
  """Zeros shaped like the model input of one stored clip (for initialisation)."""
  one = {name: jax.ShapeDtypeStruct((1,) + x.shape[1:], x.dtype) for name, x in inputs.items()}
  shapes = jax.eval_shape(augmentation.evaluate, one)
  return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
