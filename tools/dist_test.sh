#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun.
# On a machine without CUDA, GPUS processes run on the CPU with gloo.
# PYTHON: the project's .venv by default (tools/env.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
(( $# >= 3 )) || { echo "usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]" >&2; exit 2; }

torchrun_tool "$3" test.py "$1" "$2" "${@:4}"
