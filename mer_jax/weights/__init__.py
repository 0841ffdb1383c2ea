"""Pretrained weights imported from files the user already has; nothing is downloaded.

`load(kind, path)` reads one file and returns Flax variables (numpy float32
arrays) for the model that kind belongs to: `{'params': ...}` for models
without batch norm (VGG-Face), `{'params': ..., 'batch_stats': ...}` for the
ResNets. Kinds are registered by what their reader returns: `KINDS` maps a
kind to `reader(path) -> params`, `VARIABLE_KINDS` to `reader(path) ->
variables`; adding a kind is one entry in one of them.

VGG-Face kinds (`KINDS`), for `models.vgg.VGG16` (`models.get('vgg16',
num_classes=2622)` with fc8, or without `num_classes` when fc8 is dropped):
- `'vgg_face_dag'`: `vgg_face_dag.pth`, Albanie's PyTorch port (needs torch).
- `'keras_vggface'`: `rcmalli_vggface_tf_vgg16.h5`, keras-vggface v2.0.
- `'vgg_face_mat'`: `vgg-face.mat`, the MatConvNet model of the Oxford VGG group.
Input convention, the same for every VGG-Face kind: NHWC images, RGB channel
order, pixel values in 0..255 minus `VGG_FACE_MEAN_RGB` (no division by a
standard deviation), 224x224 for the released weights (fc6 expects a 7x7
pool5 map). The Keras release was trained on BGR input; its importer reverses
conv1_1's input channels so that it takes RGB like the others.

ResNet kinds (`VARIABLE_KINDS`):
- `'torchvision_resnet18'`: torchvision's `resnet18-f37072fd.pth` (needs
  torch), for `models.resnet.ResNet18` (`models.get('resnet18',
  num_classes=1000)`). Input: RGB in [0, 1] standardised per channel with
  `RESNET18_MEAN_RGB` and `RESNET18_STD_RGB`, 224x224 for ImageNet.
- `'resnet10_cvgj'`: cvjena's Caffe `resnet10_cvgj_iter_320000.caffemodel`,
  for `models.resnet.ResNet10Cvgj` (`models.get('resnet10_cvgj',
  num_classes=1000)`). Input: raw pixel values 0..255, no mean subtraction
  (the network's own `data_bn` standardises them), RGB order, 224x224 for
  ImageNet. The model was trained on BGR (OpenCV decoding in Caffe's
  ImageData layer); the importer reverses data_bn's and conv1's input
  channels so that it takes RGB.
- `'torchvision_resnet18_gray'`, `'resnet10_cvgj_gray'`: the same files made
  one-channel by `resnet.to_grayscale` (conv1 summed over RGB; for the cvgj
  model data_bn folded to one channel): a grey image `[..., 1]`, normalised
  as above with one value for all channels (for ResNet-18, e.g. the mean of
  the three means and stds), acts as its three-channel copy.
- `'torchvision_r3d_18'`: torchvision's Kinetics-400 video ResNet
  `r3d_18-b3b3357e.pth` (needs torch), for `models.resnet3d.R3D18`
  (`num_classes=400` with fc). Input: clips `[B, T, H, W, 3]` (torch's
  `(N, 3, T, H, W)`), RGB in [0, 1] standardised per channel with
  `R3D18_MEAN_RGB` and `R3D18_STD_RGB`, 16 frames of 112x112 (each frame
  resized to 128x171 and centre-cropped) for Kinetics.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mer_jax.errors import ConfigError
from mer_jax.weights import resnet, resnet3d, vgg_face
from mer_jax.weights.common import Params

VGG_FACE_MEAN_RGB = vgg_face.VGG_FACE_MEAN_RGB
RESNET18_MEAN_RGB = (0.485, 0.456, 0.406)
RESNET18_STD_RGB = (0.229, 0.224, 0.225)
R3D18_MEAN_RGB = resnet3d.R3D18_MEAN_RGB
R3D18_STD_RGB = resnet3d.R3D18_STD_RGB
Variables = dict[str, Any]

KINDS: dict[str, Callable[[str | os.PathLike], Params]] = {
    "vgg_face_dag": vgg_face.read_dag,
    "keras_vggface": vgg_face.read_keras,
    "vgg_face_mat": vgg_face.read_mat,
}


def _read_torchvision_resnet18_gray(path: str | os.PathLike) -> Variables:
  return resnet.to_grayscale(resnet.read_torchvision_resnet18(path))


def _read_resnet10_cvgj_gray(path: str | os.PathLike) -> Variables:
  return resnet.to_grayscale(resnet.read_resnet10_cvgj(path), input_bn="data_bn")


VARIABLE_KINDS: dict[str, Callable[[str | os.PathLike], Variables]] = {
    "torchvision_resnet18": resnet.read_torchvision_resnet18,
    "torchvision_resnet18_gray": _read_torchvision_resnet18_gray,
    "resnet10_cvgj": resnet.read_resnet10_cvgj,
    "resnet10_cvgj_gray": _read_resnet10_cvgj_gray,
    "torchvision_r3d_18": resnet3d.read_torchvision_r3d_18,
}


def all_kinds() -> list[str]:
  """Every kind `load` accepts, sorted."""
  return sorted({**KINDS, **VARIABLE_KINDS})


def load(kind: str, path: str | os.PathLike) -> Variables:
  """Reads the weights file `path` of format `kind` into Flax variables.

  Args:
    kind: a key of `KINDS` or `VARIABLE_KINDS`, e.g. 'vgg_face_dag', 'resnet10_cvgj'.
    path: the weights file.

  Returns:
    Numpy float32 arrays in the layout of the kind's Flax model:
    `{'params': {layer: {'kernel', 'bias'}}}` for VGG-Face (fc8 included when
    the file has it; callers that fine-tune drop it), `{'params': ...,
    'batch_stats': ...}` for the ResNets (the classifier `fc` / `score`
    included when the file has it).

  Raises:
    ConfigError: `kind` is not registered, or its reader needs a package that
      is not installed (torch for `.pth` files).
    DataError: the file is missing or does not have the expected layout; the
      message names the file, the key or layer, and the expected shape.
  """
  if kind in KINDS:
    return {"params": KINDS[kind](path)}
  if kind in VARIABLE_KINDS:
    return VARIABLE_KINDS[kind](path)
  raise ConfigError(f"weights kind {kind!r} is not known; expected one of {all_kinds()}")
