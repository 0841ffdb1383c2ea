"""Optical strain of a flow field (ELRCN, Khor et al. 2018, eq. 2-4).

The displacement u = [u, v] (the flow's x and y channels) has the small-strain
tensor eps = 1/2 (grad u + grad u^T) (eq. 2-3):

  e_xx = du/dx,  e_yy = dv/dy,  e_xy = e_yx = 1/2 (du/dy + dv/dx),

and the per-pixel magnitude of eq. 4 sums the squares of all four entries, so
the shear term counts twice: |eps| = sqrt(e_xx^2 + e_yy^2 + e_xy^2 + e_yx^2).

Derivatives are central differences in pixels, like `np.gradient` with its
defaults: (f[i+1] - f[i-1]) / 2 inside, one-sided first differences
(f[1] - f[0], f[-1] - f[-2]) on the first and last row/column. x is the column
axis, y the row axis. Every function takes numpy or jax arrays and returns the
same kind (jax inside `jax.jit`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = Any  # np.ndarray | jax.Array


def _xp(flow: Array):
  """jax.numpy for jax arrays (and tracers), numpy otherwise."""
  return jnp if isinstance(flow, jax.Array) else np


def components(flow: Array) -> tuple[Array, Array, Array]:
  """Strain tensor entries (e_xx, e_yy, e_xy) of a flow field (eq. 3).

  Args:
    flow: [..., H, W, 2] displacement (x, y) in pixels; H, W >= 2.

  Returns:
    Three [..., H, W] arrays; e_yx equals e_xy.
  """
  xp = _xp(flow)
  u, v = flow[..., 0], flow[..., 1]  # [..., H, W]
  du_dy, du_dx = xp.gradient(u, axis=(-2, -1))
  dv_dy, dv_dx = xp.gradient(v, axis=(-2, -1))
  return du_dx, dv_dy, 0.5 * (du_dy + dv_dx)


def magnitude(flow: Array) -> Array:
  """Optical strain magnitude [..., H, W] of a flow [..., H, W, 2] (eq. 4).

  sqrt(e_xx^2 + e_yy^2 + e_xy^2 + e_yx^2) with e_yx = e_xy, as the paper
  writes it (not normalised).
  """
  e_xx, e_yy, e_xy = components(flow)
  return _xp(flow).sqrt(e_xx**2 + e_yy**2 + 2.0 * e_xy**2)
