"""Every recipe stores exactly what preprocess/recipe_outputs.py declares for its fields.

The clips are tight face crops of a real photograph (skimage's astronaut,
tests/corpus_trees.py) with a small facial movement, rectangular as the
corpora's official crops are; the recipes' own sizes are varied across the
fields that change a shape (channels, grid, crop, window, mapping).
"""

import numpy as np
import pytest

from mer_jax.data import builders
from mer_jax.errors import ConfigError
from mer_jax.preprocess import recipe_outputs, recipes
from tests import corpus_trees

FACE = "none"  # official crops: the recipes resize them
CASES = [
    dict(name="pixels", image_size=12, num_frames=5, grayscale=True, temporal="linear",
         subtract_onset=False),
    dict(name="pixels", image_size=10, num_frames=3, grayscale=False, temporal="tim",
         subtract_onset=True),
    dict(name="elrcn_stack", face=FACE, image_size=12, num_frames=3, temporal="linear",
         channels=("flow", "strain", "gray")),
    dict(name="elrcn_stack", face=FACE, image_size=12, num_frames=2, temporal="linear",
         channels=("gray", "strain")),
    # 0.7 * 15 = 10.5 rounds to 10 (Python rounds half to even): 100 pixels a row.
    dict(name="mer_rcnn", image_size=15, center_crop=0.7, alpha=10.0, low=0.05, high=0.4,
         max_frames=12),
    dict(name="mer_rcnn", image_size=9, center_crop=0.8, alpha=0.0, low=0.05, high=0.4,
         max_frames=4),  # the 9-frame clip is resampled to 4
    dict(name="islam", image_size=12, num_frames=6, face=FACE, subtract_onset=False),
    dict(name="atnet", face=FACE, image_size=14, flow_size=12, window=5, grid=3,
         pad="front", layout="split", flow="opencv_tvl1"),
    dict(name="atnet", face=FACE, image_size=8, flow_size=8, window=13, grid=2,
         pad="edge", layout="interleaved", flow="opencv_tvl1"),  # window beyond the clip
    dict(name="lbp_top", face=FACE, image_size=16, window=0, num_frames=5, temporal="linear",
         grid=(2, 3), radii=(1, 1, 1), points=8, mapping="nri_uniform"),
    dict(name="lbp_top", face=FACE, image_size=16, window=5, num_frames=4, temporal="linear",
         grid=2, radii=(1, 1, 1), points=4, mapping="uniform"),
    dict(name="hoof", face=FACE, image_size=16, window=0, num_frames=4, temporal="linear",
         grid=(3, 2), bins=6, binning="mirror", flow="opencv_tvl1"),
]


@pytest.fixture(scope="module")
def clip():
  """Nine frames 22 wide and 28 high of the photograph's face, apex at frame 4."""
  return corpus_trees.photo_face_clip(9, (22, 28), np.random.default_rng(3), apex_index=4)


@pytest.mark.parametrize("recipe", CASES, ids=lambda r: r["name"])
def test_a_recipe_stores_what_it_declares(recipe, clip):
  stored = recipes.run(clip, recipe, apex_index=4)
  got = {name: (x.shape, x.dtype.name) for name, x in sorted(stored.items())}
  declared = {name: (s.shape, s.dtype) for name, s in recipe_outputs.output_spec(recipe).items()}
  assert got == declared
  assert builders.input_spec(stored) == builders.declared_spec(recipe)


def test_every_recipe_declares_its_outputs():
  assert set(recipe_outputs.OUTPUTS) == set(recipes.RECIPES)
  assert {c["name"] for c in CASES} == set(recipes.RECIPES)


def test_an_unknown_recipe_is_a_config_error():
  with pytest.raises(ConfigError, match="'optical_snow' is not a recipe"):
    recipe_outputs.output_spec({"name": "optical_snow"})
