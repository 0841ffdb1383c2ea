#!/usr/bin/env bash
# N processes of one mer_jax run on this machine, each with its own CPU devices: a multi-host
# run in miniature, for testing (tests/test_multihost.py) and for trying a launch before a cluster.
#
#   launch/local_multiprocess.sh [-n PROCESSES] [-d DEVICES_PER_PROCESS] [-p PORT] -- \
#       python -m mer_jax.main --config=configs/elrcn_temporal_only.py:smoke --workdir=runs/mp
#
# Every process runs the same command with --multihost --coordinator_address=localhost:PORT
# --num_processes=N --process_id=I appended, on the CPU (JAX_PLATFORMS=cpu) with D devices
# (XLA_FLAGS=--xla_force_host_platform_device_count=D). Output lines are prefixed with [I].
# Exits with the first non-zero status among the processes (and stops the others then).
# Defaults: 2 processes, 2 devices each, a free port.
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

processes=2
devices=2
port=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) processes="$2"; shift 2 ;;
    -d) devices="$2"; shift 2 ;;
    -p) port="$2"; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[[ $# -gt 0 ]] || usage
if [[ -z "$port" ]]; then
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')"
fi

pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; }
trap stop_all INT TERM
for ((i = 0; i < processes; i++)); do
  JAX_PLATFORMS=cpu XLA_FLAGS="--xla_force_host_platform_device_count=${devices}" \
    "$@" --multihost --coordinator_address="localhost:${port}" \
    --num_processes="${processes}" --process_id="${i}" \
    > >(sed -u "s/^/[${i}] /") 2> >(sed -u "s/^/[${i}] /" >&2) &
  pids+=("$!")
done

status=0
for pid in "${pids[@]}"; do
  if ! wait "$pid"; then
    code=$?
    if [[ $status -eq 0 ]]; then
      status=$code
      stop_all
    fi
  fi
done
exit "$status"
