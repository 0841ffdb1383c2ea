"""Cross-validation protocols: pure, deterministic functions of the sample list.

A subject's identity is the person the clip shows, `Sample.person`: the pair
(dataset, subject) written 'dataset/subject', except that SMIC's cameras
(datasets 'smic', 'smic_vis', 'smic_nir') filmed the same people, so their
clips of subject 's11' are the one person 'smic/s11'. Every protocol that
keeps subjects apart (loso, subject_kfold, split_validation, and the
'shared_subjects' of describe_folds) groups by person, so no person is ever
on both sides of a split. `loso` over a composite of several corpora is the
MEGC composite LOSO (CDE), and `leave_one_dataset_out` is the
holdout-database evaluation (HDE).
Every protocol returns a list of `Fold`s whose index arrays point into the
sample list it was given; the same samples and seed always give the same
folds, on every host and Python version (no `hash()`, no global RNG).
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Callable, Sequence

import numpy as np

from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError, ProtocolError


@dataclasses.dataclass(frozen=True)
class Fold:
  """One train/test split.

  Attributes:
    name: the person for LOSO ('casme2/sub01'; 'smic/s11' for SMIC HS, VIS
      and NIR alike), the dataset for LODO, 'foldNN' for the k-fold protocols.
    train: sorted int64 indices into the sample list.
    test: sorted int64 indices into the sample list.
    test_subjects: sorted person ids (`subject_id`) of the test samples.
  """

  name: str
  train: np.ndarray
  test: np.ndarray
  test_subjects: tuple[str, ...]


def subject_id(sample: Sample) -> str:
  """The identity of `sample`'s subject across corpora: `Sample.person`.

  'dataset/subject' ('casme2/sub01'), except for SMIC's cameras: 'smic',
  'smic_vis' and 'smic_nir' clips of 's11' are all 'smic/s11'.
  """
  return sample.person


def _subject_ids(samples: Sequence[Sample]) -> np.ndarray:
  return np.array([subject_id(s) for s in samples], dtype=object)


def _make_fold(name: str, test_mask: np.ndarray, subjects: np.ndarray) -> Fold:
  """Builds a fold from a boolean test mask over the samples."""
  test = np.flatnonzero(test_mask).astype(np.int64)
  train = np.flatnonzero(~test_mask).astype(np.int64)
  if train.size == 0:
    raise ProtocolError(
        f"fold {name!r} would have an empty training set: all {test.size} "
        "samples are in its test set")
  if test.size == 0:
    raise ProtocolError(f"fold {name!r} would have an empty test set")
  return Fold(name, train, test, tuple(sorted(set(subjects[test]))))


def _check_nonempty(samples: Sequence[Sample], protocol: str) -> None:
  if len(samples) == 0:
    raise ProtocolError(f"{protocol}: no samples to split")


def _check_k(k: int, n_units: int, unit: str, protocol: str) -> None:
  """k must allow a non-empty train and test set in every fold."""
  if k < 2:
    raise ProtocolError(f"{protocol}: k={k}, but k must be at least 2 so that "
                        "every fold has a training set")
  if k > n_units:
    raise ProtocolError(f"{protocol}: k={k} exceeds the number of {unit} "
                        f"({n_units}); some folds would have no test samples")


def _folds_from_assignment(assignment: np.ndarray, k: int,
                           subjects: np.ndarray) -> list[Fold]:
  """One fold per value of `assignment` (the test fold of each sample)."""
  return [_make_fold(f"fold{i:02d}", assignment == i, subjects) for i in range(k)]


def loso(samples: Sequence[Sample]) -> list[Fold]:
  """Leave-one-subject-out: one fold per person (`subject_id`).

  Over a composite of corpora this is the MEGC composite LOSO (CDE). SMIC HS,
  VIS and NIR clips of one subject share the fold 'smic/s11'.

  Args:
    samples: the samples to split.

  Returns:
    One fold per person, ordered by corpus then subject id (string order),
    each named after the person: 'dataset/subject' ('smic/s11' for SMIC).

  Raises:
    ProtocolError: no samples, or only one subject (empty training set).
  """
  _check_nonempty(samples, "loso")
  subjects = _subject_ids(samples)
  people = sorted(set(subjects), key=lambda p: p.partition("/")[::2])
  return [_make_fold(p, subjects == p, subjects) for p in people]


def leave_one_dataset_out(samples: Sequence[Sample]) -> list[Fold]:
  """Leave-one-dataset-out (HDE): train on the other corpora, test on one.

  Args:
    samples: the samples to split.

  Returns:
    One fold per dataset, in sorted order, named after the test dataset.

  Raises:
    ProtocolError: no samples, or only one dataset (empty training set).
  """
  _check_nonempty(samples, "leave_one_dataset_out")
  subjects = _subject_ids(samples)
  datasets = np.array([s.dataset for s in samples], dtype=object)
  return [_make_fold(d, datasets == d, subjects) for d in sorted(set(datasets))]


def kfold(samples: Sequence[Sample], k: int, seed: int) -> list[Fold]:
  """Sample-wise k-fold: shuffle the samples, cut into k near-equal folds.

  Subjects are NOT kept apart (the MER-RCNN setting); use `subject_kfold` for
  a subject-independent split.

  Args:
    samples: the samples to split.
    k: number of folds, 2 <= k <= len(samples).
    seed: shuffling seed.

  Returns:
    k folds named 'fold00'..; fold sizes differ by at most one.

  Raises:
    ProtocolError: no samples, or k outside [2, len(samples)].
  """
  _check_nonempty(samples, "kfold")
  _check_k(k, len(samples), "samples", "kfold")
  order = np.random.default_rng(seed).permutation(len(samples))
  assignment = np.empty(len(samples), np.int64)
  # Dealing positions round-robin gives sizes floor(n/k) or ceil(n/k).
  assignment[order] = np.arange(len(samples)) % k
  return _folds_from_assignment(assignment, k, _subject_ids(samples))


def stratified_kfold(samples: Sequence[Sample], labels: Sequence[int] | np.ndarray,
                     k: int, seed: int) -> list[Fold]:
  """Sample-wise k-fold that keeps each class' proportion in every fold.

  The samples of each class are shuffled and dealt round-robin, continuing
  from class to class, so every fold holds floor(n_c/k) or ceil(n_c/k) samples
  of class c and fold sizes differ by at most one.

  Args:
    samples: the samples to split.
    labels: class index of each sample.
    k: number of folds, 2 <= k <= len(samples).
    seed: shuffling seed.

  Returns:
    k folds named 'fold00'...

  Raises:
    ProtocolError: no samples, labels of the wrong length, or k out of range.
  """
  _check_nonempty(samples, "stratified_kfold")
  labels = np.asarray(labels)
  if labels.shape != (len(samples),):
    raise ProtocolError(f"stratified_kfold: got {labels.shape} labels for "
                        f"{len(samples)} samples; expected one label per sample")
  _check_k(k, len(samples), "samples", "stratified_kfold")
  rng = np.random.default_rng(seed)
  order = np.concatenate([rng.permutation(np.flatnonzero(labels == c))
                          for c in np.unique(labels)])
  assignment = np.empty(len(samples), np.int64)
  assignment[order] = np.arange(len(samples)) % k
  return _folds_from_assignment(assignment, k, _subject_ids(samples))


def subject_kfold(samples: Sequence[Sample], k: int, seed: int) -> list[Fold]:
  """Subject-independent k-fold: all clips of a person share one test fold.

  Subjects are shuffled with `seed`, then placed largest first into the fold
  with the fewest samples so far (ties: lowest fold), which balances fold
  sizes in samples.

  Args:
    samples: the samples to split.
    k: number of folds, 2 <= k <= number of subjects.
    seed: shuffling seed (decides ties among equal-sized subjects).

  Returns:
    k folds named 'fold00'...

  Raises:
    ProtocolError: no samples, or k outside [2, number of subjects].
  """
  _check_nonempty(samples, "subject_kfold")
  subjects = _subject_ids(samples)
  names, counts = np.unique(subjects, return_counts=True)
  _check_k(k, len(names), "subjects", "subject_kfold")
  shuffled = np.random.default_rng(seed).permutation(len(names))
  # A stable sort keeps the shuffled order among subjects of equal size.
  placing = shuffled[np.argsort(-counts[shuffled], kind="stable")]
  sizes = np.zeros(k, np.int64)
  fold_of = {}
  for i in placing:
    target = int(np.argmin(sizes))
    fold_of[names[i]] = target
    sizes[target] += counts[i]
  assignment = np.array([fold_of[s] for s in subjects], np.int64)
  return _folds_from_assignment(assignment, k, subjects)


def _require_labels(labels: Sequence[int] | np.ndarray | None) -> np.ndarray:
  if labels is None:
    raise ConfigError("protocol 'stratified_kfold' needs the labels of the samples")
  return np.asarray(labels)


_PROTOCOLS: dict[str, Callable[..., list[Fold]]] = {
    "loso": lambda samples, labels, k, seed: loso(samples),
    "kfold": lambda samples, labels, k, seed: kfold(samples, k, seed),
    "stratified_kfold": lambda samples, labels, k, seed: stratified_kfold(
        samples, _require_labels(labels), k, seed),
    "subject_kfold": lambda samples, labels, k, seed: subject_kfold(samples, k, seed),
    "leave_one_dataset_out": lambda samples, labels, k, seed: leave_one_dataset_out(
        samples),
}


def make_folds(name: str, samples: Sequence[Sample],
               labels: Sequence[int] | np.ndarray | None, *, k: int = 5,
               seed: int = 0) -> list[Fold]:
  """Builds the folds of protocol `name`.

  Args:
    name: 'loso', 'kfold', 'stratified_kfold', 'subject_kfold' or
      'leave_one_dataset_out'.
    samples: the samples to split.
    labels: class index per sample (used by 'stratified_kfold' only).
    k: number of folds for the k-fold protocols.
    seed: shuffling seed for the k-fold protocols.

  Returns:
    The folds, in a deterministic order.

  Raises:
    ConfigError: unknown protocol name.
    ProtocolError: the samples cannot be split this way.
  """
  if name not in _PROTOCOLS:
    raise ConfigError(f"unknown protocol {name!r}; valid protocols are: "
                      f"{', '.join(sorted(_PROTOCOLS))}")
  return _PROTOCOLS[name](samples, labels, k, seed)


def _count_validation_subjects(fraction: float, n_subjects: int) -> int:
  # Round half up (not Python's banker's rounding); keep >= 1 subject on each side.
  n_val = int(np.floor(fraction * n_subjects + 0.5))
  return min(max(n_val, 1), n_subjects - 1)


def split_validation(samples: Sequence[Sample], train: Sequence[int] | np.ndarray,
                     fraction: float, seed: int,
                     fold_name: str) -> tuple[np.ndarray, np.ndarray]:
  """Holds out whole training subjects (persons) of one fold for early stopping.

  Only the fold's training indices are looked at, so a test subject can never
  end up in the validation set; SMIC HS and VIS clips of one person go
  to the same side.

  Args:
    samples: the full sample list the indices point into.
    train: the fold's training indices.
    fraction: share of the training subjects to hold out, in (0, 1); the
      count is round-half-up(fraction * n_subjects), at least 1 and at most
      n_subjects - 1.
    seed: base seed; combined with crc32(fold_name) so each fold draws its
      own, reproducible validation subjects.
    fold_name: the fold's name.

  Returns:
    (train_idx, val_idx): sorted int64 indices, disjoint, whose union is
    `train`.

  Raises:
    ConfigError: fraction outside (0, 1).
    ProtocolError: fewer than 2 training subjects.
  """
  if not 0.0 < fraction < 1.0:
    raise ConfigError(f"config.train.val_fraction must be in (0, 1), got {fraction}")
  train = np.sort(np.asarray(train, dtype=np.int64))
  subjects = _subject_ids(samples)[train] if train.size else np.array([], object)
  names = np.unique(subjects)
  if len(names) < 2:
    raise ProtocolError(
        f"fold {fold_name!r}: cannot hold out validation subjects from "
        f"{len(names)} training subject(s); at least 2 are needed")
  rng = np.random.default_rng([seed, zlib.crc32(fold_name.encode("utf-8"))])
  n_val = _count_validation_subjects(fraction, len(names))
  held_out = names[rng.choice(len(names), size=n_val, replace=False)]
  is_val = np.isin(subjects, held_out)
  return train[~is_val], train[is_val]


def describe_folds(samples: Sequence[Sample], folds: Sequence[Fold]) -> list[dict]:
  """Summarises folds for the report (the results.json 'folds' entries).

  Args:
    samples: the sample list the folds index.
    folds: the folds.

  Returns:
    One dict per fold: {'name', 'test_subjects', 'n_train', 'n_test',
    'shared_subjects'}, with plain Python types; 'shared_subjects' counts the
    test subjects that also have clips in training (0 for a
    subject-independent fold; a sample-wise k-fold leaks them).

  Raises:
    ProtocolError: a fold indexes past the end of `samples`.
  """
  out = []
  subjects = _subject_ids(samples)
  for fold in folds:
    top = max(fold.train.max(initial=-1), fold.test.max(initial=-1))
    if top >= len(samples):
      raise ProtocolError(f"fold {fold.name!r} indexes sample {top}, but only "
                          f"{len(samples)} samples were given")
    shared = set(subjects[fold.train]) & set(subjects[fold.test])
    out.append({"name": fold.name, "test_subjects": list(fold.test_subjects),
                "n_train": int(fold.train.size), "n_test": int(fold.test.size),
                "shared_subjects": len(shared)})
  return out
