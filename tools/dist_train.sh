#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun.
# On a machine without CUDA, GPUS processes run on the CPU with gloo.
# PYTHON: the project's .venv by default (tools/env.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
(( $# >= 2 )) || { echo "usage: tools/dist_train.sh CONFIG GPUS [train.py args...]" >&2; exit 2; }

torchrun_tool "$2" train.py "$1" "${@:3}"
