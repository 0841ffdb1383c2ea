"""Whole-protocol wall time: a config's full run, as `python -m mer_jax.main` runs it.

For each config (a `configs/` file and variant) the run goes into a fresh
temporary workdir (deleted after), so nothing is resumed and the
preprocessing is computed, not read from a cache: the time is that of
loading the data, preprocessing, any pre-training stage, training and
evaluating every fold, and writing the report; a config with a sweep
(ATNet: spatial, temporal, fusion) runs all its runs, as `main` does. The
pooled UF1 of a single run is kept beside the time as a check that the run
learnt what it learns elsewhere (BUILD_NOTES.md), not as a benchmark figure.
"""

from __future__ import annotations

import os
import tempfile

from benchmarks import families, timing
from mer_jax import config_files, experiment
from mer_jax import sweep

# Every config's :demo, in the order of their run times on a 2-core CPU (BUILD_NOTES.md).
DEMOS = ("lbp_top:demo", "elrcn_temporal_only:demo", "hoof:demo", "mer_rcnn:demo",
         "elrcn_se:demo", "atnet:demo", "elrcn_te:demo", "r3d_convlstm_ae:demo")


def run_one(name: str) -> dict:
  """Runs `name` ('config:variant') in a temporary workdir; its result record."""
  file, _, variant = name.partition(":")
  config = config_files.load_config(os.path.join(families.CONFIG_DIR, f"{file}.py"),
                                    variant or None)
  results = {}
  with tempfile.TemporaryDirectory(prefix="mer_jax_bench_") as workdir:
    def go():
      if sweep.runs(config):
        results.update(sweep.run(config, workdir))
      else:
        results["run"] = experiment.run(config, workdir)
    wall = timing.seconds(go)
  metrics, units = {"wall_s": wall}, {"wall_s": "s"}
  if set(results) == {"run"}:
    metrics["uf1"], units["uf1"] = float(results["run"]["metrics"]["uf1"]), "UF1"
  return {"benchmark": "protocol", "name": name,
          "params": {"config": f"configs/{file}.py", "variant": variant,
                     "protocol": config.protocol.name, "runs": len(results)},
          "metrics": metrics, "units": units}

