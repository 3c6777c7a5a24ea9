"""The user guide stays a guide: short, and every link and path in it real.

A renamed config or a moved doc otherwise leaves the README pointing at
nothing, which a reader notices only when a command fails.
"""
import glob
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = ['README.md'] + sorted(
    osp.relpath(p, ROOT)
    for pattern in ('docs/**/*.md', 'configs/**/*.md')
    for p in glob.glob(osp.join(ROOT, pattern), recursive=True))
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
# Repository paths a reader would type: configs, tools, docs files.
PATH = re.compile(r'`((?:configs|tools|docs)/[\w./-]+\.(?:py|yaml|md|sh))`')


def test_readme_is_a_short_guide():
    with open(osp.join(ROOT, 'README.md')) as f:
        lines = f.read().splitlines()
    assert len(lines) <= 250, f'README.md has {len(lines)} lines'
    for heading in ('## Two commands', '## Train and test on your own data',
                    '## Reproducing the reports', '## When things go wrong'):
        assert heading in lines, f'README.md lacks "{heading}"'


@pytest.mark.parametrize('doc', DOCS)
def test_links_and_paths_exist(doc):
    with open(osp.join(ROOT, doc)) as f:
        text = f.read()
    missing = []
    for target in LINK.findall(text):
        if '://' in target:
            continue
        if not osp.exists(osp.join(ROOT, osp.dirname(doc), target)):
            missing.append(target)
    for path in PATH.findall(text):
        if '*' not in path and '{' not in path and not osp.exists(
                osp.join(ROOT, path)):
            missing.append(path)
    assert not missing, f'{doc} points at missing files: {missing}'
