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

from mer_jax.weights import common, resnet
from mer_jax.weights.resnet import Variables

R3D18_MEAN_RGB = (0.43216, 0.394666, 0.37645)
R3D18_STD_RGB = (0.22803, 0.22145, 0.216989)

SOURCES = ("get torchvision's Kinetics-400 r3d_18 state_dict r3d_18-b3b3357e.pth "
           "(https://download.pytorch.org/models/r3d_18-b3b3357e.pth; reading it needs torch) "
           "and pass kind 'torchvision_r3d_18'")
R3D18_KEYS = ("torchvision r3d_18 keys stem.0.weight, stem.1.*, layer1.0.conv1.0.weight, "
              "layer1.0.conv1.1.* ... layer4.1.conv2.1.*, layer{2,3,4}.0.downsample.{0,1}.*, "
              "fc.weight, fc.bias")
NO_TORCH = "convert the weights to another format (no other r3d_18 format is supported yet)"
R3D18_LAYOUT = resnet.TorchResNetLayout(("stem.0", "stem.1"), ("stem_conv", "stem_bn"),
                                        (3, 7, 7), "conv{i}.0", "conv{i}.1", R3D18_KEYS)


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
  return resnet.read_torch_basic_resnet(common.torch_state_dict(path, NO_TORCH), path,
                                        R3D18_LAYOUT)
