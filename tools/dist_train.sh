#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun.
# On a machine without CUDA, GPUS processes run on the CPU with gloo.
# PYTHON: the project's .venv by default (tools/env.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

# What keeps CONFIG from running on this machine, said once before any
# process starts rather than by every process under torchrun's report.
LOCAL_WORLD_SIZE=$GPUS "$PYTHON" "$TOOLS/train.py" "$CONFIG" \
    --launcher pytorch --preflight "${@:3}"

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$TOOLS/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
