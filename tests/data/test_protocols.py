"""Tests for mer_jax.data.protocols against scikit-learn and split invariants."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import model_selection

from mer_jax.data import protocols
from mer_jax.data.sample import Sample
from mer_jax.errors import ConfigError, ProtocolError


def make_samples(spec: dict[tuple[str, str], int]) -> list[Sample]:
  """Samples from {(dataset, subject): number of clips}, interleaved order."""
  out = []
  for (dataset, subject), n in spec.items():
    out += [Sample(dataset, subject, f"clip{i}", "happiness", 0, 5, 10)
            for i in range(n)]
  # Shuffle so that indices are not grouped by subject.
  order = np.random.default_rng(123).permutation(len(out))
  return [out[i] for i in order]


def composite(seed: int = 0) -> list[Sample]:
  """Two corpora with a clashing subject id ('s01' in both) and uneven sizes."""
  rng = np.random.default_rng(seed)
  spec = {("casme2", f"s{i:02d}"): int(rng.integers(1, 9)) for i in range(1, 8)}
  spec.update({("samm", f"s{i:02d}"): int(rng.integers(1, 9)) for i in range(1, 6)})
  return make_samples(spec)


def groups_of(samples):
  return np.array([f"{s.dataset}/{s.subject}" for s in samples])


def check_partition(folds, n):
  """Every sample tested exactly once; train/test disjoint and complementary."""
  tested = np.concatenate([f.test for f in folds])
  np.testing.assert_array_equal(np.sort(tested), np.arange(n))
  for f in folds:
    assert f.train.dtype == np.int64 and f.test.dtype == np.int64
    assert np.all(np.diff(f.train) > 0) and np.all(np.diff(f.test) > 0)
    assert not np.intersect1d(f.train, f.test).size
    assert f.train.size + f.test.size == n


def check_subject_disjoint(folds, samples):
  groups = groups_of(samples)
  for f in folds:
    assert not set(groups[f.train]) & set(groups[f.test])
    assert f.test_subjects == tuple(sorted(set(groups[f.test])))


def test_loso_matches_leave_one_group_out():
  samples = composite()
  groups = groups_of(samples)
  folds = protocols.loso(samples)
  ref = list(model_selection.LeaveOneGroupOut().split(np.zeros(len(samples)),
                                                      groups=groups))
  # LeaveOneGroupOut orders groups by np.unique, i.e. 'dataset/subject' order.
  assert len(folds) == len(ref) == 12
  for fold, (train, test) in zip(folds, ref):
    np.testing.assert_array_equal(fold.train, train)
    np.testing.assert_array_equal(fold.test, test)
    assert fold.test_subjects == (fold.name,)
  assert folds[0].name == "casme2/s01" and folds[7].name == "samm/s01"
  check_partition(folds, len(samples))


def test_loso_keeps_same_subject_id_of_two_datasets_apart():
  samples = make_samples({("casme2", "s01"): 3, ("samm", "s01"): 2})
  folds = protocols.loso(samples)
  assert [f.name for f in folds] == ["casme2/s01", "samm/s01"]
  assert [f.test.size for f in folds] == [3, 2]


def test_leave_one_dataset_out():
  samples = composite()
  folds = protocols.leave_one_dataset_out(samples)
  datasets = np.array([s.dataset for s in samples])
  assert [f.name for f in folds] == ["casme2", "samm"]
  for f in folds:
    assert set(datasets[f.test]) == {f.name}
    assert f.name not in set(datasets[f.train])
  check_partition(folds, len(samples))
  check_subject_disjoint(folds, samples)


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_kfold_partition_and_sizes(k):
  samples = composite()
  folds = protocols.kfold(samples, k, seed=1)
  check_partition(folds, len(samples))
  sizes = [f.test.size for f in folds]
  assert max(sizes) - min(sizes) <= 1
  assert [f.name for f in folds] == [f"fold{i:02d}" for i in range(k)]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_stratified_kfold_keeps_class_proportions(seed):
  samples = composite(seed)
  labels = np.random.default_rng(seed).integers(0, 4, len(samples))
  k = 5
  folds = protocols.stratified_kfold(samples, labels, k, seed)
  check_partition(folds, len(samples))
  ref = model_selection.StratifiedKFold(k, shuffle=True, random_state=seed)
  ref_counts = [np.bincount(labels[t], minlength=4)
                for _, t in ref.split(np.zeros(len(labels)), labels)]
  for c in range(4):
    ours = [np.sum(labels[f.test] == c) for f in folds]
    # Each fold holds floor or ceil of n_c / k, as scikit-learn's does.
    assert max(ours) - min(ours) <= 1
    assert sorted(ours) == sorted(r[c] for r in ref_counts)
  sizes = [f.test.size for f in folds]
  assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_subject_kfold_subject_disjoint_and_balanced(k):
  samples = composite()
  folds = protocols.subject_kfold(samples, k, seed=3)
  check_partition(folds, len(samples))
  check_subject_disjoint(folds, samples)
  groups = groups_of(samples)
  ref = model_selection.GroupKFold(k).split(np.zeros(len(samples)), groups=groups)
  ref_sizes = sorted(t.size for _, t in ref)
  ours = sorted(f.test.size for f in folds)
  # Greedy largest-first: at least as balanced as scikit-learn's GroupKFold.
  assert ours[-1] - ours[0] <= ref_sizes[-1] - ref_sizes[0]
  largest = max(np.unique(groups, return_counts=True)[1])
  assert ours[-1] - ours[0] <= largest


@pytest.mark.parametrize("name", ["loso", "kfold", "stratified_kfold",
                                  "subject_kfold", "leave_one_dataset_out"])
def test_make_folds_is_deterministic(name):
  samples = composite()
  labels = np.arange(len(samples)) % 3
  a = protocols.make_folds(name, samples, labels, k=4, seed=5)
  b = protocols.make_folds(name, list(samples), labels.tolist(), k=4, seed=5)
  assert len(a) == len(b)
  for fa, fb in zip(a, b):
    assert fa.name == fb.name and fa.test_subjects == fb.test_subjects
    np.testing.assert_array_equal(fa.train, fb.train)
    np.testing.assert_array_equal(fa.test, fb.test)


def test_seed_changes_kfold_split():
  samples = composite()
  a = protocols.kfold(samples, 4, seed=0)
  b = protocols.kfold(samples, 4, seed=1)
  assert any(not np.array_equal(x.test, y.test) for x, y in zip(a, b))


def test_make_folds_unknown_name_lists_valid_names():
  with pytest.raises(ConfigError, match="loso.*subject_kfold"):
    protocols.make_folds("lobo", composite(), None)


def test_make_folds_stratified_needs_labels():
  with pytest.raises(ConfigError, match="labels"):
    protocols.make_folds("stratified_kfold", composite(), None)


def test_errors_for_impossible_splits():
  one_subject = make_samples({("casme2", "s01"): 4})
  with pytest.raises(ProtocolError, match="'casme2/s01'.*empty training set"):
    protocols.loso(one_subject)
  with pytest.raises(ProtocolError, match="'casme2'.*empty training set"):
    protocols.leave_one_dataset_out(one_subject)
  for fn in (protocols.loso, protocols.leave_one_dataset_out):
    with pytest.raises(ProtocolError, match="no samples"):
      fn([])
  with pytest.raises(ProtocolError, match="no samples"):
    protocols.kfold([], 2, 0)
  with pytest.raises(ProtocolError, match="exceeds the number of samples"):
    protocols.kfold(one_subject, 5, 0)
  with pytest.raises(ProtocolError, match="at least 2"):
    protocols.kfold(one_subject, 1, 0)
  with pytest.raises(ProtocolError, match="exceeds the number of subjects"):
    protocols.subject_kfold(composite(), 13, 0)
  with pytest.raises(ProtocolError, match="one label per sample"):
    protocols.stratified_kfold(one_subject, [0, 1], 2, 0)


def test_split_validation_holds_out_whole_training_subjects():
  samples = composite()
  groups = groups_of(samples)
  for fold in protocols.loso(samples):
    train, val = protocols.split_validation(samples, fold.train, 0.2, 0, fold.name)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), fold.train)
    assert not set(groups[val]) & set(fold.test_subjects)
    assert not set(groups[train]) & set(groups[val])
    # round(0.2 * 11 training subjects) = 2 subjects held out.
    assert len(set(groups[val])) == 2


def test_split_validation_deterministic_and_fold_dependent():
  samples = composite()
  train = np.arange(len(samples))
  a = protocols.split_validation(samples, train, 0.3, 0, "casme2/s01")
  b = protocols.split_validation(samples, train, 0.3, 0, "casme2/s01")
  np.testing.assert_array_equal(a[1], b[1])
  vals = {tuple(protocols.split_validation(samples, train, 0.3, 0, f"f{i}")[1])
          for i in range(10)}
  assert len(vals) > 1


def test_split_validation_counts_and_errors():
  samples = make_samples({("d", "a"): 2, ("d", "b"): 3})
  train, val = protocols.split_validation(samples, np.arange(5), 0.01, 0, "x")
  assert len({samples[i].subject for i in val}) == 1  # at least one subject
  train, val = protocols.split_validation(samples, np.arange(5), 0.99, 0, "x")
  assert train.size > 0  # at least one subject stays for training
  only_a = [i for i, s in enumerate(samples) if s.subject == "a"]
  with pytest.raises(ProtocolError, match="'x'.*at least 2"):
    protocols.split_validation(samples, only_a, 0.2, 0, "x")
  with pytest.raises(ConfigError, match="fraction"):
    protocols.split_validation(samples, np.arange(5), 1.5, 0, "x")


def test_describe_folds():
  samples = composite()
  folds = protocols.loso(samples)
  rows = protocols.describe_folds(samples, folds)
  assert rows[0] == {"name": "casme2/s01", "test_subjects": ["casme2/s01"],
                     "n_train": int(folds[0].train.size),
                     "n_test": int(folds[0].test.size), "shared_subjects": 0}
  assert sum(r["n_test"] for r in rows) == len(samples)
  assert all(type(r["n_train"]) is int for r in rows)


def test_describe_folds_counts_subjects_in_both_training_and_test():
  samples = composite()
  by_sample = protocols.describe_folds(samples, protocols.kfold(samples, 3, seed=0))
  assert all(r["shared_subjects"] > 0 for r in by_sample)  # a sample-wise split leaks
  by_subject = protocols.describe_folds(samples, protocols.subject_kfold(samples, 3, seed=0))
  assert all(r["shared_subjects"] == 0 for r in by_subject)


# ------------------------------------------------------ SMIC: one person ---


def smic_cameras() -> list[Sample]:
  """SMIC HS and VIS (and NIR) clips of the same people, plus a CASME II subject."""
  return make_samples({("smic", "s1"): 3, ("smic_vis", "s1"): 2, ("smic_nir", "s1"): 1,
                       ("smic", "s2"): 2, ("smic_vis", "s3"): 2, ("casme2", "sub01"): 2})


def test_loso_puts_smic_cameras_of_one_subject_in_one_fold():
  samples = smic_cameras()
  folds = protocols.loso(samples)
  assert [f.name for f in folds] == ["casme2/sub01", "smic/s1", "smic/s2", "smic/s3"]
  s1 = folds[1]
  assert sorted(samples[i].dataset for i in s1.test) == [
      "smic", "smic", "smic", "smic_nir", "smic_vis", "smic_vis"]
  assert s1.test_subjects == ("smic/s1",)
  assert not {samples[i].person for i in s1.train} & {"smic/s1"}
  check_partition(folds, len(samples))
  assert protocols.subject_id(samples[0]) == samples[0].person


def test_person_protocols_never_split_a_smic_subject():
  samples = smic_cameras()
  people = np.array([s.person for s in samples])
  for fold in protocols.subject_kfold(samples, 2, seed=0):
    assert not set(people[fold.train]) & set(people[fold.test])
  train, val = protocols.split_validation(samples, np.arange(len(samples)), 0.5, 0, "f")
  assert not set(people[train]) & set(people[val])
  rows = protocols.describe_folds(samples, protocols.loso(samples))
  assert [r["shared_subjects"] for r in rows] == [0, 0, 0, 0]
  # A leak across cameras counts: train on s1's VIS clips, test on its HS clips.
  hs = np.array([i for i, s in enumerate(samples) if s.dataset == "smic"])
  rest = np.setdiff1d(np.arange(len(samples)), hs)
  leak = protocols.Fold("hs", rest, hs, ("smic/s1", "smic/s2"))
  assert protocols.describe_folds(samples, [leak])[0]["shared_subjects"] == 1
