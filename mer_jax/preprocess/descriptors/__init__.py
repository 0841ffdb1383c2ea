"""Hand-crafted spatio-temporal descriptors (LBP-TOP, HOOF): pure functions of arrays.

The preprocessing recipes `lbp_top` and `hoof` call them to cache each clip's
feature vector; the SVM baselines (mer_jax/baselines/) classify those vectors.
"""
