"""The MER-RCNN (Xia et al. 2018) and Islam et al. (2022) input recipes."""

import cv2
import numpy as np
import pytest

from mer_jax import prepare
from mer_jax.data import synthetic
from mer_jax.errors import FaceNotFoundError
from mer_jax.preprocess import face, jitter, recipes

RCNN = {"name": "mer_rcnn", **prepare.RECIPE_DEFAULTS["mer_rcnn"]}
ISLAM = {"name": "islam", **prepare.RECIPE_DEFAULTS["islam"]}


def _clip(t, size=16, seed=0):
  """Random uint8 clip `[t, size, size, 3]`."""
  return np.random.default_rng(seed).integers(0, 256, (t, size, size, 3), dtype=np.uint8)


def test_mer_rcnn_stores_the_padded_sequence_and_its_length():
  got = recipes.mer_rcnn(_clip(8, 40), RCNN)
  assert got["sequence"].shape == (150, 44 * 44, 3) and got["sequence"].dtype == np.uint8
  assert int(got["length"]) == 8 and got["length"].dtype == np.int32  # 55 -> 44x44 crop
  assert not got["sequence"][8:].any() and got["sequence"][:8].any()


def test_mer_rcnn_without_magnification_is_resize_crop_flatten():
  clip = _clip(7, 20)
  got = recipes.mer_rcnn(clip, dict(RCNN, alpha=0.0, image_size=10, max_frames=9))
  small = np.stack([cv2.resize(f, (10, 10), interpolation=cv2.INTER_AREA) for f in clip])
  want = small[:, 1:9, 1:9].reshape(7, 64, 3)                      # crop rows/cols 1..8
  np.testing.assert_array_equal(got["sequence"][:7], want)


def test_mer_rcnn_row_t_pixel_j_is_pixel_j_of_frame_t():
  clip = _clip(5, 10)
  got = recipes.mer_rcnn(clip, dict(RCNN, alpha=0.0, image_size=10, max_frames=5))["sequence"]
  # Crop of a 10x10 frame at 0.8: rows/cols 1..8; pixel j = 19 is crop (2, 3) = frame (3, 4).
  np.testing.assert_array_equal(got[2, 19], clip[2, 3, 4])
  np.testing.assert_array_equal(got[4, 0], clip[4, 1, 1])


def test_mer_rcnn_resamples_a_clip_longer_than_max_frames():
  clip = _clip(12, 10)
  plain = dict(RCNN, alpha=0.0, image_size=10)
  full = recipes.mer_rcnn(clip, dict(plain, max_frames=12))["sequence"].astype(np.float64)
  got = recipes.mer_rcnn(clip, dict(plain, max_frames=5))
  assert int(got["length"]) == 5 and got["sequence"].shape == (5, 64, 3)
  want = np.clip(np.round(jitter.resample(full, 5, "bicubic", antialias=True)), 0, 255)
  np.testing.assert_array_equal(got["sequence"], want)


def test_mer_rcnn_magnification_changes_a_moving_clip():
  video = synthetic.generate(synthetic.SyntheticSpec(
      num_subjects=1, clips_per_subject=1, image_size=48, difficulty=4.0)).videos[0]
  plain = recipes.mer_rcnn(video, dict(RCNN, alpha=0.0))["sequence"]
  magnified = recipes.mer_rcnn(video, RCNN)["sequence"]
  assert magnified.shape == plain.shape
  assert np.abs(magnified.astype(int) - plain).max() > 1


def test_run_names_a_single_array_frames():
  clip = _clip(6, 16)
  got = recipes.run(clip, dict(ISLAM, face="none"), apex_index=3)
  assert list(got) == ["frames"] and got["frames"].dtype == np.float32
  assert sorted(recipes.run(clip, RCNN)) == ["length", "sequence"]


def test_islam_pads_a_short_span_with_the_apex_frame():
  clip = _clip(10, 64)
  got = recipes.islam(clip, dict(ISLAM, face="none"), apex_index=4)
  assert got.shape == (12, 64, 64, 3) and got.dtype == np.float32
  np.testing.assert_allclose(got[:5], clip[:5] / 255.0, atol=1e-6)
  np.testing.assert_allclose(got[5:], np.repeat(clip[4:5] / 255.0, 7, 0), atol=1e-6)


def test_islam_subtract_onset_gives_each_frame_minus_the_first():
  clip = _clip(10, 64)
  plain = recipes.islam(clip, dict(ISLAM, face="none"), apex_index=4)
  moved = recipes.islam(clip, dict(ISLAM, face="none", subtract_onset=True), apex_index=4)
  assert moved.dtype == np.float32 and not moved[0].any()
  np.testing.assert_allclose(moved, plain - plain[:1], atol=1e-6)
  assert np.abs(moved[1:]).max() > 0


def test_islam_samples_a_long_span_at_equal_intervals_apex_last():
  clip = _clip(30, 64)
  got = recipes.islam(clip, dict(ISLAM, face="none"), apex_index=22)
  want = clip[[0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]] / 255.0  # round(linspace(0, 22, 12))
  np.testing.assert_allclose(got, want, atol=1e-6)


def test_islam_without_apex_takes_the_middle_frame_and_checks_the_index():
  clip = _clip(9, 64)
  got = recipes.islam(clip, dict(ISLAM, face="none"))
  np.testing.assert_allclose(got[4:], np.repeat(clip[4:5] / 255.0, 8, 0), atol=1e-6)
  with pytest.raises(ValueError, match="apex_index=9"):
    recipes.islam(clip, dict(ISLAM, face="none"), apex_index=9)


def test_islam_haar_aligns_the_face_and_none_only_resizes():
  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=1, clips_per_subject=1,
                                                    image_size=96))  # seed 0: Haar finds it
  sample, video = data.samples[0], data.videos[0]
  apex = sample.apex - sample.onset
  plain = recipes.islam(video, dict(ISLAM, face="none"), apex_index=apex)
  aligned = recipes.islam(video, ISLAM, apex_index=apex)
  span = recipes.onset_to_apex(video, apex, 12)
  np.testing.assert_allclose(plain, recipes.resize(span, 64) / 255.0, atol=1e-6)
  np.testing.assert_allclose(aligned, face.align_clip(span, 64, "haar") / 255.0, atol=1e-6)
  assert aligned.shape == plain.shape == (12, 64, 64, 3)
  assert np.abs(aligned - plain).mean() > 0.01  # the face crop is not the whole frame


def _indexed_clip(t, size=8):
  """uint8 `[t, size, size, 3]` whose frame i is filled with the value 10 * i."""
  return (10 * np.arange(t, dtype=np.uint8))[:, None, None, None].repeat(size, 1).repeat(
      size, 2).repeat(3, 3)


@pytest.mark.parametrize("t", [23, 12, 5])
def test_islam_without_an_annotated_apex_samples_the_whole_clip(t):
  recipe = dict(ISLAM, face="none", image_size=8)
  got = recipes.islam(_indexed_clip(t), recipe, apex_index=1, apex_annotated=False)
  index = np.round(np.linspace(0, t - 1, 12)).astype(int) if t >= 12 else np.minimum(
      np.arange(12), t - 1)                   # equal intervals, or padded with the last
  np.testing.assert_allclose(got[:, 0, 0, 0], 10 * index / 255.0, atol=1e-6)
  assert index[0] == 0 and index[-1] == t - 1  # onset and offset both kept
  annotated = recipes.islam(_indexed_clip(t), recipe, apex_index=1)
  np.testing.assert_allclose(annotated[:, 0, 0, 0], [0, 10 / 255.0] + [10 / 255.0] * 10,
                             atol=1e-6)  # onset..apex, apex last, as before


def test_islam_locates_the_face_itself_when_none_is_given():
  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=1, clips_per_subject=1,
                                                    image_size=96))  # seed 0: Haar finds it
  video = data.videos[0]
  blank = np.full_like(video[:2], 128)
  clip = np.concatenate([blank, video])  # no face in the onset frame: a later frame's
  found = face.locate_in_clip(clip)
  assert found.stage == "nearest_frame"
  got = recipes.islam(clip, ISLAM, apex_index=5)
  want = face.crop_to_face(recipes.onset_to_apex(clip, 5, 12), found, 64) / 255.0
  np.testing.assert_allclose(got, want, atol=1e-6)
  with pytest.raises(FaceNotFoundError, match="no face found"):
    recipes.islam(np.concatenate([blank] * 3), ISLAM, apex_index=2)


def test_defaults_are_the_paper_settings():
  assert prepare.recipe_config("islam", {})["num_frames"] == 12
  assert prepare.recipe_config("mer_rcnn", {"alpha": 0})["alpha"] == 0
