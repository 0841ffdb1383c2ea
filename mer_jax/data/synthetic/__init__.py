"""The built-in synthetic micro-expression kit: generator, face drawing, layouts, CLI.

  generator.py     SyntheticSpec -> SyntheticData (samples + in-memory videos)
  face_drawing.py  the procedural faces the generator animates
  native.py        mer_jax's own on-disk layout (annotations.csv + PNG frames),
                   written and read back through the one corpus load (data/corpus.py)
  writers/         the exact on-disk layouts of CASME II, SAMM and SMIC
  cli.py           python -m mer_jax.data.synthetic --out=DIR [--layout=casme2|samm|smic]

The generator's names are re-exported here, so `synthetic.generate(...)` and
`synthetic.SyntheticSpec(...)` read as before:

  from mer_jax.data import synthetic
  data = synthetic.generate(synthetic.SyntheticSpec(num_subjects=4))
"""

from mer_jax.data.synthetic.generator import AU_TABLE
from mer_jax.data.synthetic.generator import EMOTIONS
from mer_jax.data.synthetic.generator import SyntheticData
from mer_jax.data.synthetic.generator import SyntheticSpec
from mer_jax.data.synthetic.generator import assign_emotions
from mer_jax.data.synthetic.generator import generate
from mer_jax.data.synthetic.generator import make_profile
from mer_jax.data.synthetic.generator import summarize

__all__ = ["AU_TABLE", "EMOTIONS", "SyntheticData", "SyntheticSpec", "assign_emotions",
           "generate", "make_profile", "summarize"]
