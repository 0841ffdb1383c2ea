"""Per-fold early stopping and model selection."""

import numpy as np

from mer_jax.train.selection import FoldSelection

NAMES = ["a", "b", "pad"]


def test_patience_counts_epochs_without_improvement_like_keras():
  sel = FoldSelection.create(np.array([True, True, False]))
  assert list(sel.active) == [True, True, False]  # Padding folds never train.
  losses = [[1.0, 1.0, 0], [0.5, 1.2, 0], [0.6, 1.3, 0], [0.7, 0.9, 0]]
  improved = [sel.update(e, np.ones(3), np.array(l), mode="val_loss", patience=2, names=NAMES)
              for e, l in enumerate(losses)]
  assert [list(i) for i in improved] == [[True, True, False], [True, False, False],
                                         [False, False, False], [False, False, False]]
  # Fold b stopped after 2 epochs without improvement; a after its 2nd bad epoch too.
  assert list(sel.best_epoch[:2]) == [1, 0] and list(sel.stopped) == [True, True, True]
  assert sel.best_loss[0] == 0.5


def test_patience_zero_stops_at_the_first_bad_epoch():
  sel = FoldSelection.create(np.array([True]))
  sel.update(0, np.ones(1), np.array([1.0]), mode="val_loss", patience=0, names=["a"])
  assert sel.active[0]
  sel.update(1, np.ones(1), np.array([1.0]), mode="val_loss", patience=0, names=["a"])
  assert not sel.active[0]


def test_last_mode_always_takes_the_newest_epoch_and_never_stops():
  sel = FoldSelection.create(np.array([True, True]))
  for e in range(5):
    improved = sel.update(e, np.full(2, 1.0 + e), None, mode="last", patience=0,
                          names=NAMES)
    assert improved.all()
  assert list(sel.best_epoch) == [4, 4] and sel.active.all()


def test_nan_training_loss_stops_only_that_fold():
  sel = FoldSelection.create(np.array([True, True]))
  sel.update(0, np.ones(2), np.array([1.0, 1.0]), mode="val_loss", patience=5, names=NAMES)
  improved = sel.update(1, np.array([np.nan, 0.5]), np.array([0.1, 0.1]), mode="val_loss",
                        patience=5, names=NAMES)
  assert list(improved) == [False, True]
  assert list(sel.stopped) == [True, False] and sel.nan_epoch[0] == 1
  assert sel.best_epoch[0] == 0  # Keeps the model from before the NaN.
