"""Hand-crafted baselines: SVM classifiers on the cached LBP-TOP and HOOF features
(the descriptors themselves are preprocessing: mer_jax/preprocess/descriptors/)."""
