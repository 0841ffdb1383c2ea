"""Hand-crafted baselines: LBP-TOP and HOOF features, SVM classifiers."""
