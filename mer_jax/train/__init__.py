"""Fold-parallel training: train state stacked over folds, vmapped steps, the loop."""
