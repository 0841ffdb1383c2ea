"""Label schemes: how a corpus' emotion (or objective class) becomes a class index.

Every scheme is a fixed, ordered list of class names and a rule mapping a
`Sample` to one of them, or to None when the scheme leaves the sample out
(e.g. 'others' in the MEGC 2019 3-class composite). Samples keep the corpus'
own labels; schemes are applied when an experiment is built, so one clip can
serve the 5-class, 3-class and objective-class protocols.

The schemes, their rules and sources:
  'casme2_5': happiness, disgust, repression, surprise, others (CASME II
    labels as written; fear and sadness dropped). The standard CASME II
    5-class protocol: 246 of the 255 clips (datasets.md section 1).
  'three_class': negative, positive, surprise on any corpus, by emotion:
    'negative' or one of NEGATIVE_EMOTIONS -> negative; happiness/positive ->
    positive; surprise -> surprise; anything else (others, tense) dropped.
  'megc2019': negative, positive, surprise: the MEGC 2019 composite (CDE) rule
    (challenge PDF and its ground truth combined_3class_gt.csv; datasets.md
    section 7), per corpus:
      smic (HS): the folder label (negative/positive/surprise);
      casme2: disgust, repression -> negative; happiness -> positive;
        surprise -> surprise; others, fear, sadness dropped; AND a clip whose
        apex is not a valid annotation (apex_source != 'annotated') or whose
        apex equals its onset is dropped (sub04 EP12_01f apex '/', sub05
        EP09_05f apex == onset), which gives the official 88 negatives. Load
        CASME II with apex='annotated' for this rule to mean anything;
      samm: anger, contempt, disgust, fear, sadness -> negative; happiness ->
        positive; surprise -> surprise; others dropped;
      any other dataset: dropped (not part of MEGC 2019).
  'mer_rcnn_4' (alias 'four_class'): positive, negative, surprise, others as
    in MER-RCNN (Xia et al., IPTA 2018, section IV.B): happiness/positive ->
    positive; disgust, sadness, fear (and anger, contempt, SMIC 'negative') ->
    negative; surprise -> surprise; tense, repression and others -> others.
  'islam_3': negative, positive, surprise as in Islam et al. (MLICOM 2021,
    section 3.1), whose CASME II, CAS(ME)^2 and SAMM clips were "reclassified
    based on AUs" (Davison et al.'s objective classes; their CASME II row,
    145/25/15 = 185 clips, is exactly objective classes I-V). A sample with an
    objective class maps I -> positive, II -> surprise, III-V -> negative and
    drops VI and VII; one without (SMIC, or a corpus with no objective
    classes) maps by emotion: anger, disgust, sadness, 'negative' -> negative;
    happiness/positive -> positive; surprise -> surprise; the rest dropped.
  'objective_5': the MEGC 2018 objective classes I-V (Davison et al. 2018);
    VI and VII dropped.
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
  """An ordered set of classes and the rule that maps a sample to one.

  Attributes:
    name: the scheme's name (the key in SCHEMES).
    class_names: the classes, in class-index order.
    class_of: sample -> class name, or None when the scheme leaves it out.
    why_left_out: optional sample -> reason, for a sample `class_of` leaves
      out for something other than its label (e.g. an invalid apex); None
      from it (or no function) means the default label-based reason.
    needs_annotated_apex: the rule reads `apex_source`, so samples must be
      loaded with `config.data.apex='annotated'` (checked by the pipeline).
  """

  name: str
  class_names: tuple[str, ...]
  class_of: Callable[[Sample], str | None]
  why_left_out: Callable[[Sample], str | None] | None = None
  needs_annotated_apex: bool = False

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def label(self, sample: Sample) -> int | None:
    """Class index of `sample`, or None when the scheme excludes it."""
    name = self.class_of(sample)
    return None if name is None else self.class_names.index(name)

  def exclusion_reason(self, sample: Sample) -> str:
    """Why the scheme leaves `sample` out (call only when `label` is None)."""
    reason = self.why_left_out(sample) if self.why_left_out else None
    return reason or (f"emotion {sample.emotion!r} / objective class "
                      f"{sample.objective_class} is not in scheme {self.name!r}")


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


def _by_table(table: dict[str, frozenset[str]], emotion: str) -> str | None:
  """The class whose emotion set holds `emotion`, or None."""
  return next((c for c, members in table.items() if emotion in members), None)


# MEGC 2019 (challenge PDF footnotes): corpus -> class -> emotions.
_MEGC2019 = {
    "smic": {"negative": frozenset({"negative"}), "positive": frozenset({"positive"}),
             "surprise": frozenset({"surprise"})},
    "casme2": {"negative": frozenset({"disgust", "repression"}),
               "positive": frozenset({"happiness"}), "surprise": frozenset({"surprise"})},
    "samm": {"negative": frozenset({"anger", "contempt", "disgust", "fear", "sadness"}),
             "positive": frozenset({"happiness"}), "surprise": frozenset({"surprise"})},
}


def _megc2019_apex_problem(sample: Sample) -> str | None:
  """Why a CASME II clip's apex disqualifies it from MEGC 2019, or None."""
  if sample.dataset != "casme2":
    return None
  if sample.apex_source != "annotated":
    return (f"MEGC 2019 leaves out CASME II clips without a valid annotated apex "
            f"(apex_source {sample.apex_source!r})")
  if sample.apex == sample.onset:
    return f"MEGC 2019 leaves out CASME II clips whose apex equals the onset ({sample.onset})"
  return None


def _megc2019(sample: Sample) -> str | None:
  table = _MEGC2019.get(sample.dataset)
  if table is None or _megc2019_apex_problem(sample):
    return None
  return _by_table(table, sample.emotion)


def _megc2019_why(sample: Sample) -> str | None:
  if sample.dataset not in _MEGC2019:
    return f"dataset {sample.dataset!r} is not part of MEGC 2019 (casme2, samm, smic)"
  return _megc2019_apex_problem(sample)


_MER_RCNN = {
    "positive": frozenset({"happiness", "positive"}),
    "negative": frozenset({"negative", "disgust", "sadness", "fear", "anger", "contempt"}),
    "surprise": frozenset({"surprise"}),
    "others": frozenset({"others", "other", "tense", "repression"}),
}

_ISLAM_EMOTIONS = {
    "negative": frozenset({"negative", "anger", "disgust", "sadness"}),
    "positive": frozenset({"happiness", "positive"}),
    "surprise": frozenset({"surprise"}),
}
_ISLAM_OBJECTIVE = {1: "positive", 2: "surprise", 3: "negative", 4: "negative",
                    5: "negative"}


def _mer_rcnn_4(sample: Sample) -> str | None:
  return _by_table(_MER_RCNN, sample.emotion)


def _islam_3(sample: Sample) -> str | None:
  if sample.objective_class is not None:
    return _ISLAM_OBJECTIVE.get(sample.objective_class)
  return _by_table(_ISLAM_EMOTIONS, sample.emotion)


def _objective_5(sample: Sample) -> str | None:
  c = sample.objective_class
  return ("I", "II", "III", "IV", "V")[c - 1] if c in (1, 2, 3, 4, 5) else None


_NEG_POS_SUR = ("negative", "positive", "surprise")
_MER_RCNN_CLASSES = ("positive", "negative", "surprise", "others")

SCHEMES: dict[str, LabelScheme] = {
    s.name: s for s in (
        LabelScheme("casme2_5", ("happiness", "disgust", "repression", "surprise",
                                 "others"), _casme2_5),
        LabelScheme("three_class", _NEG_POS_SUR, _three_class),
        LabelScheme("megc2019", _NEG_POS_SUR, _megc2019, _megc2019_why,
                    needs_annotated_apex=True),
        LabelScheme("mer_rcnn_4", _MER_RCNN_CLASSES, _mer_rcnn_4),
        LabelScheme("four_class", _MER_RCNN_CLASSES, _mer_rcnn_4),
        LabelScheme("islam_3", _NEG_POS_SUR, _islam_3),
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
      excluded.append((s, scheme.exclusion_reason(s)))
    else:
      kept.append(s)
      labels.append(y)
  return kept, np.asarray(labels, np.int32), excluded
