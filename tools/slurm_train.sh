#!/usr/bin/env bash
# Usage: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# PYTHON: the project's .venv by default (tools/env.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
(( $# >= 4 )) || { echo "usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" >&2; exit 2; }

srun_tool "$1" "$2" train.py "$3" --work-dir="$4" "${@:5}"
