"""Helpers shared by the weight importers: file and shape checks, PyTorch files.

Every importer reports a bad file as `DataError` naming the file, the key or
layer, and the expected versus found shape; shapes are written `[3, 3, 64, 128]`
in the file's own layout, with named dimensions (`out`, `H`) where any size is
accepted. torch is optional: it is imported only when a `.pth` file is read.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mer_jax.errors import ConfigError, DataError

Dim = int | str   # an exact size, or a name: any size, equal wherever the name repeats
Params = dict[str, dict[str, np.ndarray]]


def require_file(path: str | os.PathLike, what: str, sources: str) -> pathlib.Path:
  """Returns `path` as a Path, or raises DataError saying where to get `what`."""
  path = pathlib.Path(path)
  if path.is_file():
    return path
  state = "is a folder, not a file" if path.is_dir() else "does not exist"
  raise DataError(f"{path}: {what} {state}. mer_jax downloads nothing; {sources}")


def shape_text(shape: Sequence[Dim]) -> str:
  """`(3, 3, 'out')` -> `'[3, 3, out]'`."""
  return "[" + ", ".join(str(d) for d in shape) + "]"


def check_shape(path: pathlib.Path, key: str, array: Any, expected: Sequence[Dim],
                layout: str = "") -> np.ndarray:
  """Returns `array` as float32 if its shape matches `expected`, else raises DataError.

  Args:
    path: the file, for the message.
    key: the key or layer read, for the message.
    array: the array read.
    expected: sizes; a str entry matches any size, the same str the same size.
    layout: what the dimensions mean (e.g. 'OIHW'), added to the message.
  """
  array = np.asarray(array)
  if not _matches(array.shape, expected):
    note = f" ({layout})" if layout else ""
    raise DataError(f"{path}: {key} has shape {shape_text(array.shape)}; "
                    f"expected {shape_text(expected)}{note}")
  return array.astype(np.float32, copy=False)


def _matches(shape: tuple[int, ...], expected: Sequence[Dim]) -> bool:
  if len(shape) != len(expected):
    return False
  bound: dict[str, int] = {}
  for size, want in zip(shape, expected):
    if isinstance(want, str):
      if bound.setdefault(want, size) != size:
        return False
    elif size != want:
      return False
  return True


def check_bias(path: pathlib.Path, key: str, array: Any, size: int) -> np.ndarray:
  """A bias of `size` values as float32 `[size]`; `[size, 1]` and `[1, size]` are accepted."""
  array = np.asarray(array)
  if array.size != size or array.ndim > 2 or (array.ndim == 2 and 1 not in array.shape):
    raise DataError(f"{path}: {key} has shape {shape_text(array.shape)}; expected "
                    f"[{size}] (one bias per output of the layer's weight)")
  return array.reshape(size).astype(np.float32, copy=False)


def take(arrays: Mapping[str, np.ndarray], key: str, path: pathlib.Path,
         expected_keys: str) -> np.ndarray:
  """`arrays[key]`, or a DataError naming the missing key and what the file holds."""
  if key in arrays:
    return arrays[key]
  found = sorted(arrays)
  shown = ", ".join(found[:8]) + (f", ... ({len(found)} keys)" if len(found) > 8 else "")
  raise DataError(f"{path}: key {key!r} is missing; expected {expected_keys}; "
                  f"the file has {shown or 'no tensors'}")


def torch_state_dict(path: pathlib.Path, alternatives: str) -> dict[str, np.ndarray]:
  """Reads a PyTorch state_dict with `torch.load(weights_only=True)` into float32 numpy.

  Args:
    path: the `.pth` file.
    alternatives: what to do instead when torch is not installed, for the message.

  Raises:
    ConfigError: torch is not installed.
    DataError: the file is not a state_dict torch can read safely.
  """
  try:
    import torch  # optional: only .pth files need it
  except ImportError:
    raise ConfigError(f"{path}: reading a PyTorch .pth file needs torch, which is not "
                      f"installed; run `pip install torch` (the CPU wheel is enough), or "
                      f"{alternatives}") from None
  try:
    state = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # noqa: BLE001 (torch raises pickle, zip and runtime errors alike)
    first_line = (str(e).splitlines() or [""])[0]
    raise DataError(f"{path}: torch.load(weights_only=True) cannot read it "
                    f"({type(e).__name__}: {first_line}); expected a PyTorch state_dict "
                    f"(.pth)") from None
  if not isinstance(state, Mapping):
    raise DataError(f"{path}: holds a {type(state).__name__}; expected a state_dict "
                    f"(a dict of tensors, as saved by torch.save(model.state_dict()))")
  return {key: _to_numpy(torch, value) for key, value in state.items()
          if isinstance(value, torch.Tensor)}


def _to_numpy(torch: Any, tensor: Any) -> np.ndarray:
  tensor = tensor.detach().cpu()
  if tensor.is_floating_point():
    tensor = tensor.to(torch.float32)   # bfloat16/float16 have no (or a lossy) numpy path
  return tensor.numpy()
