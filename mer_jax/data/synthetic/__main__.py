"""python -m mer_jax.data.synthetic: writes the built-in synthetic dataset (see cli.py)."""

from mer_jax.data.synthetic import cli

if __name__ == "__main__":
  cli.run()
