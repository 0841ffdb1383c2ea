#!/usr/bin/env bash
# The GPU suite in one command (benchmarks/gpu_suite.py has the plan and its budgets):
#
#   bash benchmarks/gpu_suite.sh OUTDIR [--dry-run]     (or --dry-run OUTDIR)
#
# Runs from a checkout without installing it (the repository goes on PYTHONPATH).
# A GPU machine without ml-collections (and its small dependencies) gets them from
# benchmarks/gpu_wheels/, which benchmarks/fetch_gpu_wheels.sh fills beforehand on a
# machine with a package index: installed with pip --no-index into a temporary folder.
# PYTHON picks the interpreter (default python3). Writes OUTDIR/gpu_suite.json and .md.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
out="" flags=()
for arg in "$@"; do
  case "$arg" in
    --*) flags+=("$arg") ;;
    *) out="$arg" ;;
  esac
done
if [[ -z "$out" ]]; then
  echo "usage: bash benchmarks/gpu_suite.sh OUTDIR [--dry-run]" >&2
  exit 2
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
if ! "$python" -c "import ml_collections" 2>/dev/null; then
  wheels="$repo/benchmarks/gpu_wheels"
  if ! compgen -G "$wheels/*.whl" >/dev/null; then
    echo "ml_collections is missing and $wheels has no wheels: run" \
         "bash benchmarks/fetch_gpu_wheels.sh on a machine with a package index first" >&2
    exit 2
  fi
  deps="${TMPDIR:-/tmp}/mer_jax_gpu_deps"
  "$python" -m pip install --quiet --no-index --no-deps --target "$deps" "$wheels"/*.whl
  export PYTHONPATH="$PYTHONPATH:$deps"
fi
export XLA_PYTHON_CLIENT_PREALLOCATE=false OMP_WAIT_POLICY=PASSIVE TF_CPP_MIN_LOG_LEVEL=3
mkdir -p "$out"
cd "$repo"
exec "$python" -m benchmarks.gpu_suite --out "$out" "${flags[@]}"
