"""benchmarks/gpu_suite.sh: its dry run on the CPU, its plan and its deadline.

The dry run is the real script on tiny sizes: every planned task runs, the
JSON keeps benchmarks/run.py's schema, and nothing imports TensorFlow (the
GPU machines have none). No time is asserted: only that the plan's own
budgets fit the lease and that a task past the deadline is skipped, not run.
"""

import json
import os
import subprocess
import sys

from benchmarks import gpu_suite, run


def test_dry_run_runs_every_planned_task_and_writes_the_schema(tmp_path, repo_root):
  out = tmp_path / "gpu"
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHON=sys.executable)
  proc = subprocess.run(["bash", "benchmarks/gpu_suite.sh", "--dry-run", str(out)],
                        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads((out / "gpu_suite.json").read_text())
  assert report["schema"] == run.SCHEMA and report["errors"] == []
  assert report["machine"]["imported_tensorflow"] is False
  assert [p["name"] for p in report["plan"]] == [p.name for p in gpu_suite.PLAN]
  for record in report["results"]:
    run.check_record(record)
  assert {r["benchmark"] for r in report["results"]} == {p.benchmark for p in gpu_suite.PLAN}
  assert any(r["params"].get("dtype") == "bfloat16" for r in report["results"])
  assert {r["params"].get("strategy") for r in report["results"]} >= {"vmap", "map"}
  assert "| name |" in (out / "gpu_suite.md").read_text()


def test_the_plan_fits_the_lease_by_its_own_budgets():
  assert 0 < gpu_suite.PLANNED_S <= gpu_suite.DEADLINE_S < gpu_suite.LEASE_S <= 480
  assert all(p.budget_s > 0 for p in gpu_suite.PLAN)
  assert f"planned {gpu_suite.PLANNED_S:.0f} s" in gpu_suite.budget_table()


def test_a_task_whose_budget_passes_the_deadline_is_skipped(monkeypatch, tmp_path):
  ran = []
  task = lambda name, budget: gpu_suite.Planned(  # noqa: E731
      "memory", name, budget, lambda: ran.append(name) or [], lambda: [])
  monkeypatch.setattr(gpu_suite, "PLAN", (task("first", 1.0), task("too long", 1e6),
                                          task("last", 1.0)))
  report = gpu_suite.run_plan(dry=False, json_path=str(tmp_path / "r.json"))
  assert ran == ["first", "last"]
  assert [e["name"] for e in report["errors"]] == ["too long"]
  assert report["errors"][0]["error"].startswith("skipped:")
