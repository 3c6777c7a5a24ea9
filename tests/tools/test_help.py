"""Every converter and report tool answers ``--help`` without importing
torch, mmdet or ``custom_modules`` (seconds of imports a ``--help`` or a
typo in an option should not wait for): their heavy imports come after the
arguments are parsed."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTERS = osp.join(REPO, 'tools', 'dataset_converters', '*.py')
TOOLS = sorted(osp.relpath(path, REPO) for path in glob.glob(CONVERTERS)) + [
    'tools/model_converters/convert.py',
    'tools/analysis/benchmark.py',
    'tools/analysis/check_dataset.py',
    'tools/analysis/compare_detections.py',
    'tools/analysis/plot_curves.py',
    'tools/analysis/plot_results.py',
]
HEAVY = ('torch', 'mmdet', 'mmselfsup', 'custom_modules')

# Runs a tool as __main__ with --help, then lists the heavy modules loaded.
PROBE = f'''
import json, runpy, sys
tool = sys.argv[1]
sys.argv = [tool, '--help']
try:
    runpy.run_path(tool, run_name='__main__')
except SystemExit as exit:
    code = exit.code
print(json.dumps(dict(code=code, heavy=[
    m for m in {HEAVY!r} if m in sys.modules])))
'''


@pytest.mark.parametrize('tool', TOOLS)
def test_help_prints_usage_without_heavy_imports(tool):
    proc = subprocess.run([sys.executable, '-c', PROBE, tool],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    usage, _, last = proc.stdout.rstrip().rpartition('\n')
    assert usage.startswith(f'usage: {osp.basename(tool)}'), proc.stdout
    assert json.loads(last) == dict(code=0, heavy=[]), (
        f'{tool} --help imports {json.loads(last)["heavy"]}: import them '
        'in main() after parse_args')
