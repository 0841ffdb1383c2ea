"""Pretrained weights imported from files the user already has; nothing is downloaded.

`load(kind, path)` reads one file and returns Flax variables `{'params': ...}`
(numpy float32 arrays) for the model that kind belongs to. Kinds are
registered in `KINDS`; adding one is one entry (`name: reader`, where
`reader(path) -> params`).

VGG-Face kinds, for `models.vgg.VGG16` (`models.get('vgg16', num_classes=2622)`
with fc8, or without `num_classes` when fc8 is dropped):
- `'vgg_face_dag'`: `vgg_face_dag.pth`, Albanie's PyTorch port (needs torch).
- `'keras_vggface'`: `rcmalli_vggface_tf_vgg16.h5`, keras-vggface v2.0.
- `'vgg_face_mat'`: `vgg-face.mat`, the MatConvNet model of the Oxford VGG group.

Input convention, the same for every VGG-Face kind: NHWC images, RGB channel
order, pixel values in 0..255 minus `VGG_FACE_MEAN_RGB` (no division by a
standard deviation), 224x224 for the released weights (fc6 expects a 7x7
pool5 map). The Keras release was trained on BGR input; its importer reverses
conv1_1's input channels so that it takes RGB like the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mer_jax.errors import ConfigError
from mer_jax.weights import vgg_face
from mer_jax.weights.common import Params

VGG_FACE_MEAN_RGB = vgg_face.VGG_FACE_MEAN_RGB

KINDS: dict[str, Callable[[str | os.PathLike], Params]] = {
    "vgg_face_dag": vgg_face.read_dag,
    "keras_vggface": vgg_face.read_keras,
    "vgg_face_mat": vgg_face.read_mat,
}


def load(kind: str, path: str | os.PathLike) -> dict[str, Any]:
  """Reads the weights file `path` of format `kind` into Flax variables.

  Args:
    kind: a key of `KINDS`, e.g. 'vgg_face_dag'.
    path: the weights file.

  Returns:
    `{'params': {layer: {'kernel', 'bias'}}}` with numpy float32 arrays, in the
    layout of the kind's Flax model (for VGG-Face, fc8 included when the file
    has it; callers that fine-tune drop it).

  Raises:
    ConfigError: `kind` is not registered, or its reader needs a package that
      is not installed (torch for `.pth` files).
    DataError: the file is missing or does not have the expected layout; the
      message names the file, the key or layer, and the expected shape.
  """
  if kind not in KINDS:
    raise ConfigError(f"weights kind {kind!r} is not known; expected one of {sorted(KINDS)}")
  return {"params": KINDS[kind](path)}
