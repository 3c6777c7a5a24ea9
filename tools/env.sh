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
