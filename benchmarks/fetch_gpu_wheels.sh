#!/usr/bin/env bash
# Downloads, here and once, the small wheels that the GPU machines lack into
# benchmarks/gpu_wheels/ (git-ignored), for Python 3.12 on x86-64 Linux; the `run`
# tool carries the folder there and benchmarks/gpu_suite.sh installs it with
# pip --no-index. The GPU machines have jax, PyTorch, flax, optax, orbax, OpenCV,
# scikit-learn, tqdm, matplotlib, h5py, scipy and tensorboard, and no TensorFlow
# (not needed: the suite's code path imports none).
#
#   bash benchmarks/fetch_gpu_wheels.sh [PYTHON_VERSION]     (default 3.12)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo/benchmarks/gpu_wheels"
version="${1:-3.12}"
mkdir -p "$dest"
"${PYTHON:-python3}" -m pip download --quiet --dest "$dest" --no-deps --only-binary=:all: \
  --python-version "$version" --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  "ml-collections>=1.0,<2" "PyYAML>=6,<7" "absl-py>=2.0,<3"
ls -l "$dest"
