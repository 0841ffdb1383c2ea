"""`python -m benchmarks.run --only smoke` runs every benchmark and writes the JSON schema.

Only the schema is checked (keys, types, every benchmark present, finite
positive figures with units), never a time: timings belong to
BUILD_NOTES.md, not to a pass/fail test.
"""

import json
import math
import os
import subprocess
import sys

BENCHMARKS = {"train_step", "fold_scaling", "protocol", "preprocessing", "memory"}
MACHINE_KEYS = {"platform": str, "devices": list, "device_kind": str, "cpu_count": int,
                "jax": str, "jaxlib": str, "flax": str, "python": str}


def test_smoke_suite_writes_the_json_schema(tmp_path, repo_root):
  out = tmp_path / "bench.json"
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--only", "smoke",
                         "--json", str(out)], cwd=repo_root, env=env, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "| name |" in proc.stdout                       # the Markdown table
  report = json.loads(out.read_text())
  assert report["schema"] == 1 and report["benchmarks"] == ["smoke"]
  assert report["errors"] == [] and report["wall_s"] > 0
  machine = report["machine"]
  for key, kind in MACHINE_KEYS.items():
    assert isinstance(machine[key], kind), key
  assert "torch" in machine and machine["devices"]
  assert {r["benchmark"] for r in report["results"]} == BENCHMARKS
  for r in report["results"]:
    assert isinstance(r["name"], str) and isinstance(r["params"], dict)
    assert r["metrics"] and set(r["metrics"]) <= set(r["units"]), r["name"]
    for name, value in r["metrics"].items():
      assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (
          r["name"], name, value)
  steps = [r for r in report["results"] if r["benchmark"] == "train_step"]
  assert all({"jax_s", "torch_s", "ratio"} <= set(r["metrics"]) for r in steps)
