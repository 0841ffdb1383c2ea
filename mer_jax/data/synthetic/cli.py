"""The CLI that writes the built-in synthetic dataset in mer_jax's own layout or a corpus'.

  python -m mer_jax.data.synthetic --out=/tmp/synth --subjects=12
  python -m mer_jax.data.synthetic --layout=casme2 --out=/tmp/casme2   # also samm, smic

(native: annotations.csv + <subject>/<clip>/img<N>.png, see native.py; the
others: the exact layouts of the real corpora, see writers/.)
"""

from __future__ import annotations

import importlib
from typing import Sequence

from absl import app
from absl import flags

from mer_jax.data.synthetic.generator import SyntheticData, SyntheticSpec, generate, summarize

# --layout -> module whose `write(data, out_dir)` writes that corpus' exact layout.
LAYOUTS = {"native": "mer_jax.data.synthetic.native",
           "casme2": "mer_jax.data.synthetic.writers.casme2",
           "samm": "mer_jax.data.synthetic.writers.samm",
           "smic": "mer_jax.data.synthetic.writers.smic"}


def write_layout(data: SyntheticData, out_dir: str, layout: str) -> None:
  """Writes `data` to `out_dir` in the named layout (native, casme2, samm, smic)."""
  module = importlib.import_module(LAYOUTS[layout])
  (module.write_native if layout == "native" else module.write)(data, out_dir)


def define_flags(fv: flags.FlagValues = flags.FLAGS) -> None:
  """Defines the CLI flags; called only when run as a program, not on import."""
  d = SyntheticSpec()
  flags.DEFINE_string("out", None, "Output folder.", flag_values=fv, required=True)
  flags.DEFINE_enum("layout", "native", list(LAYOUTS),
                    "Disk layout: mer_jax's own, or that of a real corpus.", flag_values=fv)
  for name, default, text in (
      ("subjects", d.num_subjects, "Number of subjects."),
      ("clips_per_subject", d.clips_per_subject, "Clips per subject."),
      ("image_size", d.image_size, "Frame side in pixels."), ("seed", d.seed, "Seed.")):
    flags.DEFINE_integer(name, default, text, flag_values=fv)
  flags.DEFINE_float("difficulty", d.difficulty,
                     "Peak displacement in px at 64x64; 0 = no expression.", flag_values=fv)


def main(argv: Sequence[str], fv: flags.FlagValues = flags.FLAGS) -> None:
  """Generates a dataset from the flags, writes it and prints a one-line summary."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  spec = SyntheticSpec(num_subjects=fv.subjects, clips_per_subject=fv.clips_per_subject,
                       image_size=fv.image_size, difficulty=fv.difficulty, seed=fv.seed)
  data = generate(spec)
  write_layout(data, fv.out, fv.layout)
  print(f"{fv.out} ({fv.layout}, {spec.image_size}x{spec.image_size}): "
        f"{summarize(data.samples)}")


def run() -> None:
  """Runs the CLI (python -m mer_jax.data.synthetic)."""
  define_flags()
  app.run(main)
