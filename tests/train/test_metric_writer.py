"""The TensorBoard names of folds (train/metric_writer.py): by what each fold tests."""

import numpy as np

from mer_jax.data import protocols
from mer_jax.train import metric_writer


def fold(name, *subjects):
  return protocols.Fold(name, np.arange(1), np.arange(1), tuple(subjects))


def test_a_loso_fold_is_named_by_its_subject():
  assert metric_writer.fold_tag(fold("casme2/sub05", "casme2/sub05")) == "test_casme2_sub05"


def test_a_held_out_dataset_is_named_by_the_dataset():
  assert metric_writer.fold_tag(fold("samm", "samm/006", "samm/007")) == "test_samm"


def test_a_kfold_fold_names_its_first_subject_and_the_count():
  tag = metric_writer.fold_tag(fold("fold03", "smic/s01", "smic/s02", "smic/s03"))
  assert tag == "fold03_test_smic_s01_and_2_more"


def test_names_are_tensorboard_safe_and_unique():
  folds = [fold("fold00", "casme2/sub 01"), fold("fold01", "casme2/sub 01")]
  assert metric_writer.fold_tags(folds) == ["fold00_test_casme2_sub_01",
                                            "fold01_test_casme2_sub_01"]
  assert metric_writer.fold_tag(fold("pretrain")) == "pretrain"
