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
    `eval_kernel` ('bicubic', MATLAB imresize's default: the authors' code is
    MatConvNet). The model gets `[B, P, num_frames, C]` in [0, 1] (clipped,
    as imresize saturates uint8 frames).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from mer_jax.errors import ConfigError
from mer_jax.preprocess import jitter

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


def _require(batch: Batch, names: tuple[str, ...], kind: str) -> None:
  missing = [n for n in names if n not in batch]
  if missing:
    raise ConfigError(f"config.augment.name={kind!r} needs the stored inputs {list(names)}, "
                      f"but the recipe stored {sorted(batch)} (use recipe 'mer_rcnn')")


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
    _require(batch, ("sequence", "length"), "temporal_jitter")
    keys = jax.random.split(key, copy.shape[0])
    one = lambda k, s, n, v: jitter.device_jitter(k, s, n, v, num_frames)  # noqa: E731
    return to_model(jax.vmap(one)(keys, batch["sequence"], batch["length"], table[copy]))

  def evaluate(batch: Batch) -> jax.Array:
    _require(batch, ("sequence", "length"), "temporal_jitter")
    one = lambda s, n: jitter.device_resample(s, n, num_frames, eval_kernel)  # noqa: E731
    return to_model(jax.vmap(one)(batch["sequence"], batch["length"]))

  return Augmentation("temporal_jitter", len(table), train, evaluate)


KINDS: dict[str, Callable[..., Augmentation]] = {
    "none": none,
    "temporal_jitter": temporal_jitter,
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
