# Sourced by tools/dist_*.sh and tools/slurm_*.sh (not run by hand): sets
# TOOLS, this folder, and PYTHON, the interpreter of the processes.
# PYTHON=... given by the caller wins; else the project's .venv (made by
# `make install`); else `python` on the PATH, if this project is installed
# in it. The project is installed (pip install -e .), so configs import
# custom_modules from any working directory without PYTHONPATH.
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=$(dirname "$TOOLS")/.venv
if [[ -z ${PYTHON:-} && -x $VENV/bin/python ]]; then
    PYTHON=$VENV/bin/python
elif [[ -z ${PYTHON:-} ]]; then
    PYTHON=python
    if ! python -c 'import importlib.util as u, sys; del sys.path[0]
sys.exit(u.find_spec("custom_modules") is None)' 2>/dev/null; then
        echo "error: there is no $VENV, and \`python\` on the PATH does not" \
            "have this project installed: run \`make install\` (it creates" \
            ".venv, which these scripts use), or set PYTHON to the" \
            "interpreter of the environment it is installed in." >&2
        exit 1
    fi
fi

# torchrun_tool NPROC TOOL ARGS...: TOOL's preflight once (what keeps the
# config from running here, said before any process starts rather than by
# every process under torchrun's report), then NPROC processes of TOOL.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun.
torchrun_tool() {
    local nproc=$1 tool=$2
    shift 2
    LOCAL_WORLD_SIZE=$nproc "$PYTHON" "$TOOLS/$tool" --launcher pytorch \
        --preflight "$@"
    "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" \
        --master_port="${PORT:-29500}" \
        "$TOOLS/$tool" --launcher pytorch "$@"
}

# srun_tool PARTITION JOB_NAME TOOL ARGS...: GPUS tasks of TOOL on SLURM
# (GPUS=4, GPUS_PER_NODE=4, CPUS_PER_TASK=5, SRUN_ARGS by default).
srun_tool() {
    local partition=$1 job=$2 tool=$3
    shift 3
    # shellcheck disable=SC2086
    srun -p "$partition" \
        --job-name="$job" \
        --gres=gpu:"${GPUS_PER_NODE:-4}" \
        --ntasks="${GPUS:-4}" \
        --ntasks-per-node="${GPUS_PER_NODE:-4}" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        "$PYTHON" -u "$TOOLS/$tool" --launcher slurm "$@"
}
