"""torchvision `r3d_18` weights (Kinetics-400) into `models.resnet3d.R3D18`.

`read_torchvision_r3d_18` reads an `r3d_18` state_dict (`.pth`, e.g.
`r3d_18-b3b3357e.pth`, 122 entries) and returns full Flax variables,
`{'params': ..., 'batch_stats': ...}`, nested exactly like the model's:
- Conv3d weights `[out, in, T, H, W]` -> Flax kernels `[T, H, W, in, out]`
  (`transpose(2, 3, 4, 1, 0)`); r3d_18's convolutions have no bias;
- BatchNorm3d `weight`/`bias` -> `scale`/`bias` (params), `running_mean`/
  `running_var` -> `mean`/`var` (batch_stats); `num_batches_tracked` is not used;
- fc `[out, in]` -> kernel `[in, out]`, included when the file has it.
Keys: `stem.0` (conv) and `stem.1` (BN) -> `stem_conv`, `stem_bn`;
`layerL.b.conv1.0/.1`, `layerL.b.conv2.0/.1` -> `layerL_b/conv1, bn1, conv2,
bn2`; `layer{2,3,4}.0.downsample.0/.1` -> `downsample_conv`, `downsample_bn`.

Input convention of torchvision's weights (preset `VideoClassification`):
RGB frames scaled to [0, 1], each frame resized to 128x171 and centre-cropped
to 112x112, standardised per channel with `R3D18_MEAN_RGB` and
`R3D18_STD_RGB`; torch's clip `(N, 3, T, H, W)` is `[B, T, H, W, 3]` here.
Kinetics-400 clips are 16 frames long.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from mer_jax.models.resnet import RESNET18_BLOCKS, WIDTHS
from mer_jax.weights import common

Variables = dict[str, dict[str, Any]]

R3D18_MEAN_RGB = (0.43216, 0.394666, 0.37645)
R3D18_STD_RGB = (0.22803, 0.22145, 0.216989)

SOURCES = ("get torchvision's Kinetics-400 r3d_18 state_dict r3d_18-b3b3357e.pth "
           "(https://download.pytorch.org/models/r3d_18-b3b3357e.pth; reading it needs torch) "
           "and pass kind 'torchvision_r3d_18'")
R3D18_KEYS = ("torchvision r3d_18 keys stem.0.weight, stem.1.*, layer1.0.conv1.0.weight, "
              "layer1.0.conv1.1.* ... layer4.1.conv2.1.*, layer{2,3,4}.0.downsample.{0,1}.*, "
              "fc.weight, fc.bias")
NO_TORCH = "convert the weights to another format (no other r3d_18 format is supported yet)"
BN_ENTRIES = (("weight", "scale", "params"), ("bias", "bias", "params"),
              ("running_mean", "mean", "batch_stats"), ("running_var", "var", "batch_stats"))


def _set(tree: dict, path: tuple[str, ...], value: Any) -> None:
  for part in path[:-1]:
    tree = tree.setdefault(part, {})
  tree[path[-1]] = value


def read_torchvision_r3d_18(path: str | os.PathLike) -> Variables:
  """Reads a torchvision `r3d_18` state_dict into `models.resnet3d.R3D18` variables.

  Args:
    path: the `.pth` file (a state_dict, as `torch.save(model.state_dict())` writes it).

  Returns:
    `{'params': ..., 'batch_stats': ...}` of numpy float32 arrays; `params['fc']`
    only when the file has `fc.weight`.

  Raises:
    ConfigError: torch is not installed.
    DataError: the file is missing, not a state_dict, lacks a key or has a
      tensor of the wrong shape; the message names the file and the key.
  """
  path = common.require_file(path, "r3d_18 weights file for kind 'torchvision_r3d_18' "
                             "(a torchvision r3d_18 state_dict)", SOURCES)
  arrays = common.torch_state_dict(path, NO_TORCH)
  variables: Variables = {"params": {}, "batch_stats": {}}

  def get(key: str, expected: tuple[common.Dim, ...], layout: str) -> np.ndarray:
    return common.check_shape(path, key, common.take(arrays, key, path, R3D18_KEYS),
                              expected, layout)

  def conv(key: str, target: tuple[str, ...], shape: tuple[common.Dim, ...]) -> int:
    w = get(f"{key}.weight", shape, "Conv3d weight [out, in, kt, kh, kw]")
    kernel = np.ascontiguousarray(w.transpose(2, 3, 4, 1, 0))      # [kt, kh, kw, in, out]
    _set(variables["params"], (*target, "kernel"), kernel)
    return w.shape[0]

  def norm(key: str, target: tuple[str, ...], size: int) -> None:
    for name, part, collection in BN_ENTRIES:
      value = get(f"{key}.{name}", (size,), f"BatchNorm3d({size}) {name}")
      _set(variables[collection], (*target, part), value)

  channels = conv("stem.0", ("stem_conv",), (WIDTHS[0], "in", 3, 7, 7))
  norm("stem.1", ("stem_bn",), channels)
  for stage, width in enumerate(WIDTHS):
    for block in range(RESNET18_BLOCKS):
      key, name = f"layer{stage + 1}.{block}", f"layer{stage + 1}_{block}"
      conv(f"{key}.conv1.0", (name, "conv1"), (width, channels, 3, 3, 3))
      norm(f"{key}.conv1.1", (name, "bn1"), width)
      conv(f"{key}.conv2.0", (name, "conv2"), (width, width, 3, 3, 3))
      norm(f"{key}.conv2.1", (name, "bn2"), width)
      if channels != width:
        conv(f"{key}.downsample.0", (name, "downsample_conv"), (width, channels, 1, 1, 1))
        norm(f"{key}.downsample.1", (name, "downsample_bn"), width)
      channels = width
  if "fc.weight" in arrays:
    w = get("fc.weight", ("out", channels), "Linear weight [out, in]")
    bias = common.check_bias(path, "fc.bias", common.take(arrays, "fc.bias", path, R3D18_KEYS),
                             w.shape[0])
    variables["params"]["fc"] = {"kernel": np.ascontiguousarray(w.T), "bias": bias}
  return variables
