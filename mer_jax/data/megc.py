"""The MEGC protocols: which samples they use, and the official ground truth's ids.

MEGC 2019 (composite database evaluation, CDE): SMIC-HS, CASME II and SAMM
with the 'megc2019' 3-class label scheme (data/labels.py), 442 clips from 68
subjects; evaluated with LOSO over (dataset, subject), i.e. `protocols.loso`,
and holdout-database evaluation (HDE), i.e. `protocols.leave_one_dataset_out`.
MEGC 2018: CASME II and SAMM with the objective classes I-V ('objective_5'),
253 clips from 47 subjects, with the same two protocols.

  composite = megc.megc2019_composite(casme2 + samm + smic)
  folds = protocols.loso(composite)                      # 68 folds
  gt = megc.read_megc2019_gt('combined_3class_gt.csv')   # [(db, subj, file, y)]
  keys = {megc.gt_key(s) for s in composite}             # the GT's spelling
"""

from __future__ import annotations

import csv
import os
import re
from typing import Sequence

from mer_jax.data import labels as labels_lib
from mer_jax.data.sample import Sample
from mer_jax.errors import DataError, ProtocolError

MEGC2019_DATASETS = ("casme2", "samm", "smic")
MEGC2018_DATASETS = ("casme2", "samm")
GT_COLUMNS = ("database", "subject", "filename", "label")


def _check_casme2_apex(samples: Sequence[Sample]) -> None:
  """MEGC 2019 picks CASME II clips by their annotated apex; it must be there."""
  sources = {s.apex_source for s in samples if s.dataset == "casme2"}
  if sources and "annotated" not in sources:
    raise ProtocolError(
        "megc2019: the CASME II samples carry no annotated apex (apex_source "
        f"{sorted(sources)}); the composite leaves out clips by their annotated "
        "apex, so load casme2 with apex='annotated'")


def megc2019_composite(samples: Sequence[Sample]) -> list[Sample]:
  """The MEGC 2019 composite: the samples the 'megc2019' scheme labels.

  Args:
    samples: samples of any corpora; only casme2 (loaded with
      apex='annotated'), samm and smic (SMIC-HS) samples can be kept.

  Returns:
    The kept samples, in the order given.

  Raises:
    ProtocolError: CASME II samples without any annotated apex.
  """
  _check_casme2_apex(samples)
  scheme = labels_lib.get_scheme("megc2019")
  return [s for s in samples
          if s.dataset in MEGC2019_DATASETS and scheme.label(s) is not None]


def _check_objective_classes(samples: Sequence[Sample]) -> None:
  """Each MEGC 2018 corpus given must carry objective classes."""
  for dataset in MEGC2018_DATASETS:
    mine = [s for s in samples if s.dataset == dataset]
    if mine and all(s.objective_class is None for s in mine):
      raise ProtocolError(
          f"megc2018: none of the {len(mine)} {dataset} samples has an objective "
          "class (CASME II's come from CASME2-ObjectiveClasses.xlsx, SAMM's from "
          "the 'Objective Classes' column)")


def megc2018_objective(samples: Sequence[Sample]) -> list[Sample]:
  """The MEGC 2018 set: CASME II and SAMM samples of objective classes I-V.

  Args:
    samples: samples of any corpora, with `objective_class` filled.

  Returns:
    The casme2 and samm samples with objective class 1-5, in the order given.

  Raises:
    ProtocolError: a corpus whose samples carry no objective class at all.
  """
  _check_objective_classes(samples)
  scheme = labels_lib.get_scheme("objective_5")
  return [s for s in samples
          if s.dataset in MEGC2018_DATASETS and scheme.label(s) is not None]


def _number(text: str, what: str) -> int:
  """The last run of digits in `text` ('sub01' -> 1, 's1' -> 1, '006' -> 6)."""
  digits = re.findall(r"\d+", text)
  if not digits:
    raise ProtocolError(f"{what} {text!r} has no number")
  return int(digits[-1])


def _smic_clip(clip: str) -> str:
  """'s1_ne_01' -> 's01_ne_01' (the GT pads the subject number to 2 digits)."""
  match = re.fullmatch(r"s(\d+)(_.*)", clip)
  if not match:
    raise ProtocolError(f"SMIC clip {clip!r} is not named s<N>_<ne|po|sur>_<NN>")
  return f"s{int(match.group(1)):02d}{match.group(2)}"


def gt_key(sample: Sample) -> tuple[str, str, str]:
  """`sample` as the MEGC 2019 GT names it: (database, subject, filename).

  casme2 ('casme2', 'sub01', 'EP02_01f'); samm ('samm', '6', '006_1_2'), the
  subject not zero-padded; smic ('smic', 's01', 's01_ne_01'), the subject
  zero-padded to 2 digits in both fields (folders say 's1', 's1_ne_01').

  Raises:
    ProtocolError: a dataset outside MEGC 2019, or an id without a number.
  """
  number = _number(sample.subject, f"{sample.dataset} subject")
  if sample.dataset == "casme2":
    return "casme2", f"sub{number:02d}", sample.clip
  if sample.dataset == "samm":
    return "samm", str(number), sample.clip
  if sample.dataset == "smic":
    return "smic", f"s{number:02d}", _smic_clip(sample.clip)
  raise ProtocolError(f"dataset {sample.dataset!r} is not part of MEGC 2019; "
                      f"expected one of {MEGC2019_DATASETS}")


def _parse_gt_row(where: str, cells: list[str]) -> tuple[str, str, str, int]:
  """One GT row -> (database, subject, filename, label), or DataError."""
  cells = [c.strip() for c in cells]
  if len(cells) != 4 or not all(cells):
    raise DataError(f"{where}: expected 4 non-empty fields {GT_COLUMNS}, got {cells}")
  if cells[3] not in ("0", "1", "2"):
    raise DataError(f"{where}: field 'label' is {cells[3]!r}; expected 0 (negative), "
                    "1 (positive) or 2 (surprise)")
  return cells[0], cells[1], cells[2], int(cells[3])


def read_megc2019_gt(path: str) -> list[tuple[str, str, str, int]]:
  """Reads the official MEGC 2019 ground truth, `combined_3class_gt.csv`.

  The file has no header and CRLF line ends; columns are database, subject,
  filename and label (0 negative, 1 positive, 2 surprise, the class indices
  of the 'megc2019' scheme). Blank lines (',,,' included) are skipped.

  Returns:
    (database, subject, filename, label) per row, in file order.

  Raises:
    DataError: a missing file, or a row naming its line that is malformed.
  """
  if not os.path.isfile(path):
    raise DataError(f"MEGC 2019 ground truth {path} does not exist")
  with open(path, newline="", encoding="utf-8-sig") as f:
    rows = list(csv.reader(f))
  return [_parse_gt_row(f"{path}, line {i}", cells)
          for i, cells in enumerate(rows, start=1) if any(c.strip() for c in cells)]
