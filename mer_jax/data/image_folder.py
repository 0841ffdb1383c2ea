"""Labelled face images from a folder per class, for ATNet's spatial pre-training.

ATNet's spatial stream (Peng et al. 2019, III-B) is pre-trained on
macro-expression images (CK+, Oulu-CASIA, JAFFE, MUG) before it sees the apex
frames. Users bring such a set as one folder per class:

  <root>/<class name>/<images>            e.g. root/happiness/S010_006_00000015.png
  <root>/<class name>/<subfolders>/...    nested folders are fine (CK+ per subject)

Images are files ending in .png, .jpg, .jpeg, .bmp, .tif, .tiff or .pgm (any
case); other files and hidden folders are ignored.

  data = load('/data/ckplus_by_class', image_size=224)      # grey, whole images
  data = load(root, image_size=224, face='haar', classes=('negative', 'positive'))

Every image becomes uint8 `[S, S, C]`: the face box cropped ('haar'), made grey
(ITU-R 601 luma from RGB, as `preprocess.recipes.to_gray`) and squashed to
S x S with area interpolation (as `recipes.resize`), the steps ATNet's apex
image goes through. A file that cannot be read, or in which no face is found,
is left out and listed in `ImageSet.excluded` with the reason.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import cv2
import numpy as np
import tqdm

from mer_jax.data.sample import Exclusion
from mer_jax.errors import ConfigError, DataError
from mer_jax.preprocess import face as face_lib
from mer_jax.preprocess import frames as frames_lib

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm")
FACE_METHODS = ("none", "haar")


@dataclasses.dataclass(frozen=True)
class ImageSet:
  """Labelled images read from a class-folder tree.

  Attributes:
    images: uint8 `[N, S, S, C]`, C = 1 (grey) or 3 (RGB).
    labels: int32 `[N]`, indices into `class_names`.
    class_names: the class folder names; label i is `class_names[i]`.
    paths: `[N]` the file of each image.
    excluded: files left out (unreadable, or no face found), with the reason;
      `Exclusion.key` is the file path.
  """

  images: np.ndarray
  labels: np.ndarray
  class_names: tuple[str, ...]
  paths: tuple[str, ...]
  excluded: list[Exclusion]


def _visible(name: str) -> bool:
  return not name.startswith(".")


def find_classes(root: str, classes: Sequence[str] | None = None) -> tuple[str, ...]:
  """The class folder names under `root`: sorted, or `classes` as given.

  Raises:
    DataError: root is not a folder, it has no class folders, or a class of
      `classes` has no folder.
  """
  if not os.path.isdir(root):
    raise DataError(f"{root}: image folder does not exist (expected "
                    f"root/<class name>/<images>)")
  found = sorted(n for n in os.listdir(root)
                 if _visible(n) and os.path.isdir(os.path.join(root, n)))
  if not found:
    raise DataError(f"{root}: no class folders (expected root/<class name>/<images>)")
  if classes is None:
    return tuple(found)
  classes = tuple(classes)
  if len(set(classes)) != len(classes) or not classes:
    raise ConfigError(f"classes={classes}: expected distinct class names")
  missing = [c for c in classes if c not in found]
  if missing:
    raise DataError(f"{os.path.join(root, missing[0])}: class folder does not exist; "
                    f"the class folders of {root} are {found}")
  return classes


def list_images(folder: str) -> list[str]:
  """Image files under `folder`, subfolders included, sorted by path.

  Raises:
    DataError: the folder holds no image file.
  """
  paths = []
  for top, dirs, names in os.walk(folder):
    dirs[:] = sorted(d for d in dirs if _visible(d))  # hidden folders are skipped
    paths += [os.path.join(top, n) for n in names
              if _visible(n) and n.lower().endswith(IMAGE_EXTENSIONS)]
  if not paths:
    raise DataError(f"{folder}: class folder holds no image file "
                    f"({', '.join(IMAGE_EXTENSIONS)})")
  return sorted(paths)


def read_image(path: str, image_size: int, grayscale: bool = True,
               face: str = "none") -> np.ndarray:
  """One image file -> uint8 `[image_size, image_size, 1 or 3]`.

  Args:
    path: an image file.
    image_size: output side S.
    grayscale: grey (1 channel) or RGB (3 channels).
    face: 'none' (the whole image) or 'haar' (the largest face box of
      `preprocess.face.detect`, cropped before resizing).

  Raises:
    DataError: the file cannot be decoded, or 'haar' finds no face.
  """
  # The frame reader: OpenCV decoding plus a check for truncated JPEGs.
  rgb = frames_lib._read_rgb(path)  # pylint: disable=protected-access  # [H, W, 3]
  if face == "haar":
    box = face_lib.detect(rgb)
    if box is None:
      raise DataError(f"{path}: no face found by the Haar cascade {face_lib.FACE_CASCADE}")
    x, y, w, h = box
    rgb = rgb[y:y + h, x:x + w]
  image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if grayscale else rgb
  image = cv2.resize(image, (image_size, image_size), interpolation=cv2.INTER_AREA)
  return image.reshape(image_size, image_size, -1)  # cv2 drops a single channel


def load(root: str, *, image_size: int, grayscale: bool = True, face: str = "none",
         classes: Sequence[str] | None = None) -> ImageSet:
  """Reads every image of `root/<class>/...` with its class label.

  Args:
    root: folder with one subfolder per class.
    image_size: output side S (224 for ATNet's spatial stream).
    grayscale: grey images `[S, S, 1]` (ATNet's apex input) or RGB `[S, S, 3]`.
    face: 'none' (resize the whole image) or 'haar' (crop the largest face
      found by OpenCV's Haar cascade first; an image without one is excluded).
    classes: class folder names to read, in label order; None reads every
      class folder, sorted by name.

  Returns:
    The images, labels, class names, file paths and the excluded files.

  Raises:
    ConfigError: unknown `face`, image_size < 1 or repeated `classes`.
    DataError: root missing, no class folders, a class folder without images,
      or no image readable (the message names the path).
  """
  if face not in FACE_METHODS:
    raise ConfigError(f"face={face!r}; expected one of {FACE_METHODS}")
  if image_size < 1:
    raise ConfigError(f"image_size={image_size}; expected a positive side in pixels")
  class_names = find_classes(root, classes)
  files = [(path, label) for label, name in enumerate(class_names)
           for path in list_images(os.path.join(root, name))]
  images, labels, paths, excluded = [], [], [], []
  for path, label in tqdm.tqdm(files, desc=f"read {os.path.basename(root) or root}",
                               unit="image"):
    try:
      images.append(read_image(path, image_size, grayscale, face))
    except (DataError, cv2.error, OSError) as e:  # left out, never silently
      reason = str(e) if path in str(e) else f"{path}: {e}"
      excluded.append(Exclusion(path, reason))
      continue
    labels.append(label)
    paths.append(path)
  if not images:
    raise DataError(f"{root}: none of its {len(files)} images could be read; "
                    f"the first problem: {excluded[0].reason}")
  return ImageSet(np.stack(images), np.asarray(labels, np.int32), class_names,
                  tuple(paths), excluded)
