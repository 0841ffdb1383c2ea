"""3-D convolutions computed as sums of 2-D ones over their temporal taps.

A `kt x kh x kw` convolution of clips `[N, T, H, W, C]` equals the sum, over
its `kt` temporal taps, of a `kh x kw` 2-D convolution of the (time-padded,
time-strided) frames that tap sees, all frames of the batch in one 2-D call.
XLA:CPU runs that forward 2x faster than its own 3-D convolution on r3d_18's
layer1 shape and 4.6x on its stem (BUILD_NOTES "r3d on the CPU: temporal
taps"), but the
backward of the 2-D form is slower than XLA's 3-D backward. So
`temporal_taps_conv` pairs the two: the 2-D forward with the gradients of
`lax.conv_general_dilated` in 3-D (a `jax.custom_vjp`), which gives the same
values and gradients to float rounding.

`conv_for(impl)` is what a Flax `nn.Conv` takes as `conv_general_dilated`:
'xla' (XLA's 3-D convolution), 'temporal_taps' (the pairing above) or 'auto',
the temporal taps on the CPU backend and XLA's convolution elsewhere (GPUs and
TPUs have fast 3-D convolutions; nothing measured there yet). Convolutions the
pairing does not cover (not 5-D channels-last, dilated, grouped, string
padding) go to XLA's in every mode.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from mer_jax.errors import ConfigError

IMPLS = ("auto", "xla", "temporal_taps")
CLIPS = ("NDHWC", "DHWIO", "NDHWC")   # channels-last clips and kernels, as flax lays them out


def conv_for(impl: str) -> Callable[..., jax.Array]:
  """The `conv_general_dilated` for `impl` ('auto', 'xla' or 'temporal_taps')."""
  if impl not in IMPLS:
    raise ConfigError(f"config.model.conv3d={impl!r}; expected one of {IMPLS} ('auto': "
                      "temporal taps on the CPU backend, XLA's 3-D convolution elsewhere)")
  if impl == "xla" or (impl == "auto" and jax.default_backend() != "cpu"):
    return lax.conv_general_dilated
  return taps_or_xla


def taps_or_xla(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                dimension_numbers=None, feature_group_count=1, precision=None,
                **kwargs) -> jax.Array:
  """`lax.conv_general_dilated`, through `temporal_taps_conv` where it covers the call."""
  if _covered(lhs, rhs, padding, lhs_dilation, rhs_dilation, dimension_numbers,
              feature_group_count, kwargs):
    return temporal_taps_conv(lhs, rhs, tuple(window_strides),
                              tuple(tuple(p) for p in padding), precision)
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                  rhs_dilation, dimension_numbers, feature_group_count,
                                  precision=precision, **kwargs)


def _covered(lhs, rhs, padding, lhs_dilation, rhs_dilation, dimension_numbers,
             feature_group_count, kwargs) -> bool:
  """Whether the call is a plain 5-D channels-last convolution with explicit padding."""
  ones = lambda d: d is None or all(v == 1 for v in d)  # noqa: E731
  return (lhs.ndim == 5 and rhs.ndim == 5 and not kwargs
          and not isinstance(padding, str) and ones(lhs_dilation) and ones(rhs_dilation)
          and feature_group_count == 1
          and lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
          == lax.conv_dimension_numbers(lhs.shape, rhs.shape, CLIPS))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def temporal_taps_conv(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                       padding: Sequence[tuple[int, int]], precision: Any = None) -> jax.Array:
  """3-D convolution of `x [N, T, H, W, C]` with `kernel [kt, kh, kw, C, O]` (see module)."""
  return _taps_forward(x, kernel, strides, padding, precision)


def _taps_forward(x, kernel, strides, padding, precision):
  """The sum over temporal taps of one 2-D convolution of all the frames each tap sees."""
  (t_stride, *plane_strides), (t_pad, *plane_pads) = strides, padding
  x = jnp.pad(x, ((0, 0), t_pad, (0, 0), (0, 0), (0, 0)))
  n, frames = x.shape[:2]
  taps = kernel.shape[0]
  out_frames = (frames - taps) // t_stride + 1
  out = None
  for tap in range(taps):
    seen = x[:, tap:tap + t_stride * (out_frames - 1) + 1:t_stride]
    plane = lax.conv_general_dilated(
        seen.reshape((n * out_frames,) + seen.shape[2:]), kernel[tap], plane_strides,
        plane_pads, dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=precision)
    out = plane if out is None else out + plane
  return out.reshape((n, out_frames) + out.shape[1:])


def _xla_conv(x, kernel, strides, padding, precision):
  return lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=CLIPS,
                                  precision=precision)


def _taps_fwd(x, kernel, strides, padding, precision):
  return _taps_forward(x, kernel, strides, padding, precision), (x, kernel)


def _xla_bwd(strides, padding, precision, residuals, cotangent):
  """XLA's own 3-D gradients (its 3-D backward beats the 2-D form's on the CPU)."""
  x, kernel = residuals
  _, vjp = jax.vjp(lambda a, b: _xla_conv(a, b, strides, padding, precision), x, kernel)
  return vjp(cotangent)


temporal_taps_conv.defvjp(_taps_fwd, _xla_bwd)
