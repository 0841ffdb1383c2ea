"""How frames become model inputs: pure functions of arrays (numpy/OpenCV/JAX)."""
