"""Fold outcomes on disk: untrained and diverged folds are flagged, a damaged file is named."""

import json

import pytest

from mer_jax.errors import DataError
from mer_jax.train import outcomes


def outcome(name="casme2/sub01", best_epoch=3, losses=(1.1, 0.9, 0.7)):
  return outcomes.FoldOutcome(
      name=name, test_indices=[0, 1], logits=[[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]],
      best_epoch=best_epoch, epochs_trained=len(losses), nan_epoch=-1,
      history={"train_loss": list(losses)})


def test_a_fold_without_a_selected_epoch_is_untrained():
  assert outcome().trained and not outcome(best_epoch=-1).trained
  assert outcome(best_epoch=-1).summary()["trained"] is False


@pytest.mark.parametrize("losses, diverged", [
    ((1.1, 0.9, 0.7), False),
    ((1.1, 5.0, 10.9), False),          # Under 10 x the first epoch's.
    ((1.1, 3e3, 2e9), True),
    ((1.1, float("nan")), False),       # Only one finite loss: nothing to compare.
    ((1.1, 40.0, float("nan")), True),  # The last finite one counts.
])
def test_divergence_is_the_last_finite_loss_ten_times_the_first(losses, diverged):
  assert outcome(losses=losses).diverged is diverged


def test_outcomes_round_trip(tmp_path):
  outcomes.save(str(tmp_path), outcome())
  assert outcomes.load_all(str(tmp_path), ["casme2/sub01", "samm/006"]) == {
      "casme2/sub01": outcome()}


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],                     # truncated
    lambda text: "",                                         # empty
    lambda text: json.dumps({"name": "casme2/sub01"}),       # incomplete
    lambda text: text.replace("[0.8, 0.1, 0.1]", "[0.8]"),   # ragged logits
])
def test_a_damaged_fold_file_is_one_error_naming_it_and_the_fix(tmp_path, damage):
  outcomes.save(str(tmp_path), outcome())
  path = tmp_path / "folds" / "casme2__sub01.json"
  path.write_text(damage(path.read_text()))
  with pytest.raises(DataError) as e:
    outcomes.load_all(str(tmp_path), ["casme2/sub01"])
  message = str(e.value)
  assert str(path) in message and "is damaged" in message
  assert "delete it and run the same command again" in message and "\n" not in message

