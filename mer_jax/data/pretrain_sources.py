"""The labelled macro-expression data of a pre-training stage (train/pretraining.py).

`config.pretrain.source` 'folder' reads the user's data (grey face images as
`folder/<class>/<images>`: data/image_folder.py; clips as
`folder/<class>/<clip>/<frames>`: data/video_folder.py, peak frame last);
'synthetic' draws it from the built-in generator with the stage's own
settings. Both give arrays and integer labels with the class names.
"""

from __future__ import annotations

import os
from typing import Mapping

from absl import logging
import numpy as np

from mer_jax.data import image_folder, pipeline, synthetic, video_folder
from mer_jax.data import labels as labels_lib
from mer_jax.data.sample import Sample
from mer_jax.preprocess import recipes


def load_images(cfg: Mapping) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
  """(grey images uint8 [N, S, S, 1], labels [N], class names) of `config.pretrain`."""
  size = cfg["image_size"]
  if cfg["source"] == "folder":
    found = image_folder.load(cfg["folder"], image_size=size, grayscale=True,
                              face=cfg["face"], classes=tuple(cfg["classes"]) or None)
    for e in found.excluded:
      logging.warning("pre-training image left out: %s: %s", e.key, e.reason)
    return found.images, found.labels, tuple(found.class_names)
  spec = synthetic.SyntheticSpec(**dict(cfg["synthetic"]))
  data = synthetic.generate(spec)
  scheme = labels_lib.get_scheme("three_class")
  kept, _, _ = labels_lib.apply_scheme(data.samples, scheme)
  index = {s.key: i for i, s in enumerate(data.samples)}
  images = [recipes.resize(recipes.to_gray(data.videos[index[s.key]][s.apex - s.onset][None]),
                           size)[0] for s in kept]
  labels = np.asarray([scheme.label(s) for s in kept], np.int32)
  return np.stack(images), labels, scheme.class_names


def load_clips(cfg: Mapping, recipe: Mapping
               ) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
  """(the `recipe`'s inputs [N, ...], labels [N], class names) of the stage-'model' clips."""
  if cfg["source"] == "folder":
    clips, names = video_folder.load(cfg["folder"], tuple(cfg["classes"]) or None)
    samples = [Sample(dataset="pretrain", subject=os.path.dirname(c.name) or c.name,
                      clip=c.name, emotion=names[c.label], onset=0,
                      apex=len(c.frame_paths) - 1, offset=len(c.frame_paths) - 1,
                      apex_source="annotated", frame_paths=c.frame_paths) for c in clips]
    label_of = {s.key: c.label for s, c in zip(samples, clips)}
    read = pipeline.read_from_disk
  else:
    data = synthetic.generate(synthetic.SyntheticSpec(**dict(cfg["synthetic"])))
    scheme = labels_lib.get_scheme("three_class")
    samples, _, _ = labels_lib.apply_scheme(data.samples, scheme)
    names, label_of = scheme.class_names, {s.key: scheme.label(s) for s in samples}
    videos = {s.key: v for s, v in zip(data.samples, data.videos)}
    read = lambda s: videos[s.key]  # noqa: E731
  kept, inputs, excluded = pipeline.preprocess(samples, read, dict(recipe))
  for e in excluded:
    logging.warning("pre-training clip left out: %s: %s", e.key, e.reason)
  return inputs, np.asarray([label_of[s.key] for s in kept], np.int32), tuple(names)
