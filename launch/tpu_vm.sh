#!/usr/bin/env bash
# One mer_jax run on a Cloud TPU VM or pod slice: create the TPU VM, copy this checkout's
# committed HEAD (git archive) to every worker, install it there with the `tpu` extra, and run the same command on all workers with --multihost
# (jax.distributed.initialize() detects the slice's coordinator, process count and ids).
#
#   launch/tpu_vm.sh --name mer --zone us-central2-b --type v4-16 [--skip-create] [--dry-run] \
#       -- configs/atnet.py /mnt/shared/runs/atnet [--config.protocol.folds_in_parallel=16]
#
# After "--": CONFIG WORKDIR [more flags for mer_jax.main]; every other knob is in the config.
# The workdir must be a directory every worker sees (e.g. a Filestore or gcsfuse mount):
# process 0 writes the reports, and the checkpoints are written by all workers together.
# --dry-run prints the gcloud commands instead of running them. --skip-create reuses a TPU VM
# made before (the copy and the install run again; pip skips what is installed).
# --version is the TPU VM software image (default tpu-ubuntu2204-base: Ubuntu 22.04, whose
# Python is 3.10; mer_jax needs >= 3.11, so the install step adds python3.11 from the
# deadsnakes PPA when the image lacks it). --dry-run prints the image and that Python.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

name="" zone="" type="" version="tpu-ubuntu2204-base" dry_run=0 create=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --zone) zone="$2"; shift 2 ;;
    --type) type="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --skip-create) create=0; shift ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
if [[ -z "$name" || -z "$zone" || -z "$type" || $# -lt 2 ]]; then
  usage
fi
config="$1"
workdir="$2"
shift 2
checkout="$(cd "$(dirname "$0")/.." && pwd)"

run() {
  if [[ $dry_run -eq 1 ]]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}

flags=""
for flag in "$@"; do
  flags+=" $(printf '%q' "$flag")"
done
archive="${TMPDIR:-/tmp}/mer_jax_${name}.tar.gz"
python="python3.11"
get_python="command -v $python || (sudo add-apt-repository -y ppa:deadsnakes/ppa"
get_python+=" && sudo apt-get update -q && sudo apt-get install -y -q $python ${python}-venv)"
install="tar xzf ~/mer_jax.tar.gz -C ~ && cd ~/mer_jax && ($get_python) && $python -m venv .venv"
install+=" && .venv/bin/pip install -e '.[tpu]'"
train="cd ~/mer_jax && .venv/bin/python -m mer_jax.main --config=$(printf '%q' "$config")"
train+=" --workdir=$(printf '%q' "$workdir") --multihost${flags}"

if [[ $dry_run -eq 1 ]]; then
  echo "# TPU VM image: $version; mer_jax's Python there: $python (installed if missing)"
fi
if [[ $create -eq 1 ]]; then
  run gcloud compute tpus tpu-vm create "$name" --zone="$zone" --accelerator-type="$type" \
    --version="$version"
fi
run git -C "$checkout" archive --format=tar.gz --prefix=mer_jax/ -o "$archive" HEAD
run gcloud compute tpus tpu-vm scp "$archive" "$name:~/mer_jax.tar.gz" --zone="$zone" --worker=all
run gcloud compute tpus tpu-vm ssh "$name" --zone="$zone" --worker=all --command="$install"
run gcloud compute tpus tpu-vm ssh "$name" --zone="$zone" --worker=all --command="$train"
