"""Label schemes: how a corpus' emotion (or objective class) becomes a class index.

Every scheme is a fixed, ordered list of class names and a rule mapping a
`Sample` to one of them, or to None when the scheme leaves the sample out
(e.g. 'others' in the MEGC 2019 3-class composite). Samples keep the corpus'
own labels; schemes are applied when an experiment is built, so one clip can
serve the 5-class, 3-class and objective-class protocols.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError

# Emotions that the MEGC 2019 composite (and Islam et al.) merge into 'negative'.
NEGATIVE_EMOTIONS = frozenset(
    {"negative", "repression", "anger", "contempt", "disgust", "fear", "sadness"})


@dataclasses.dataclass(frozen=True)
class LabelScheme:
  """An ordered set of classes and the rule that maps a sample to one."""

  name: str
  class_names: tuple[str, ...]
  class_of: Callable[[Sample], str | None]

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def label(self, sample: Sample) -> int | None:
    """Class index of `sample`, or None when the scheme excludes it."""
    name = self.class_of(sample)
    return None if name is None else self.class_names.index(name)


def _casme2_5(sample: Sample) -> str | None:
  e = sample.emotion
  return e if e in ("happiness", "disgust", "repression", "surprise", "others") else None


def _three_class(sample: Sample) -> str | None:
  e = sample.emotion
  if e in ("happiness", "positive"):
    return "positive"
  if e == "surprise":
    return "surprise"
  return "negative" if e in NEGATIVE_EMOTIONS else None


def _four_class(sample: Sample) -> str | None:
  e = sample.emotion
  if e in ("others", "other", "tense"):
    return "others"
  return _three_class(sample)


def _objective_5(sample: Sample) -> str | None:
  c = sample.objective_class
  return ("I", "II", "III", "IV", "V")[c - 1] if c in (1, 2, 3, 4, 5) else None


SCHEMES: dict[str, LabelScheme] = {
    s.name: s for s in (
        LabelScheme("casme2_5", ("happiness", "disgust", "repression", "surprise",
                                 "others"), _casme2_5),
        LabelScheme("three_class", ("negative", "positive", "surprise"), _three_class),
        LabelScheme("four_class", ("positive", "negative", "surprise", "others"),
                    _four_class),
        LabelScheme("objective_5", ("I", "II", "III", "IV", "V"), _objective_5),
    )
}


def get_scheme(name: str) -> LabelScheme:
  """Returns the scheme called `name`, or raises ConfigError listing the known ones."""
  if name not in SCHEMES:
    raise ConfigError(
        f"config.data.label_scheme={name!r} is not a label scheme; "
        f"expected one of {sorted(SCHEMES)}")
  return SCHEMES[name]


def apply_scheme(samples: Sequence[Sample], scheme: LabelScheme
                 ) -> tuple[list[Sample], np.ndarray, list[tuple[Sample, str]]]:
  """Labels `samples` with `scheme`.

  Returns:
    (kept samples, int32 labels [N], excluded (sample, reason) pairs).
  """
  kept, labels, excluded = [], [], []
  for s in samples:
    y = scheme.label(s)
    if y is None:
      excluded.append((s, f"emotion {s.emotion!r} / objective class "
                          f"{s.objective_class} is not in scheme {scheme.name!r}"))
    else:
      kept.append(s)
      labels.append(y)
  return kept, np.asarray(labels, np.int32), excluded
