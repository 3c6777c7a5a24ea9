"""``tools/demo_kitti.py`` (``make demo-kitti``) end to end on ten of the
real KITTI frames: convert, train one epoch from scratch, test, draw; then
the refusals a user meets (a previous run without ``--force``, a folder
that is not a KITTI root)."""
import os
import os.path as osp

import pytest

pytestmark = pytest.mark.slow

FRAMES = 10  # 8 train / 2 val with the converter's seeded 80/20 split


@pytest.fixture
def kitti10(kitti75_root, tmp_path):
    """A KITTI root of the first ten frames (images linked, labels
    linked: nothing here writes to it)."""
    root = tmp_path / 'kitti10'
    for sub in ('image_2', 'label_2'):
        src = osp.join(kitti75_root, 'training', sub)
        dst = root / 'training' / sub
        dst.mkdir(parents=True)
        for name in sorted(os.listdir(src))[:FRAMES]:
            os.symlink(osp.join(src, name), dst / name)
    return str(root)


def test_demo_kitti_end_to_end_and_its_refusals(run_tool, kitti10, tmp_path):
    work = tmp_path / 'demo_kitti'
    args = ('--data', kitti10, '--work-dir', work, '--num-images', '2',
            '--score-thr', '0')
    rc, out = run_tool('demo_kitti.py', *args)
    assert rc == 0, out[-4000:]
    for stage in ('convert', 'train', 'test'):
        assert f'== {stage}: ' in out
        assert (work / f'{stage}.log').is_file()
    # both KITTI tables on the console and in the report, with every class
    report = (work / 'results.md').read_text()
    for text in (out, report):
        assert 'Car' in text and 'Pedestrian' in text, text[-3000:]
        assert 'Moderate R40' in text  # the devkit table
    assert (work / 'detections.png').stat().st_size > 10_000
    assert 'random initialisation, trainable BN' in report
    assert 'tools/train.py' in report  # the commands that made it

    # a second run would replace the first: refused without --force
    rc, out = run_tool('demo_kitti.py', *args)
    assert rc == 2
    assert f'error: {work} holds a previous run; pass --force' in out

    rc, out = run_tool('demo_kitti.py', '--data', str(tmp_path),
                       '--work-dir', tmp_path / 'other')
    assert rc == 2
    assert f'{tmp_path}/training/image_2 not found' in out
