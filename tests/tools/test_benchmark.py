"""Tests of the door tools/analysis/benchmark.py: every subcommand runs on
the CPU with tiny settings; the numbers are not asserted, the table and the
JSON record are."""
import glob
import json
import os.path as osp

import pytest

STOCK_SWAV = ('configs/benchmarks/'
              'swav_resnet18_1xb16-mcrop-2-4_mmselfsup-stock.py')
STOCK_FRCNN = ('configs/benchmarks/'
               'faster-rcnn_r18_fpn_1xb4-256x192_mmdet-stock.py')
TINY = ['--iters', '1', '--warmup', '0', '--windows', '1', '--quiet',
        '--threads', '1']


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('analysis', 'benchmark.py')


def _table(printed):
    """The cells of the printed Markdown table, one list a row (the header
    first, the rule left out)."""
    rows = [[cell.strip() for cell in line.strip().strip('|').split('|')]
            for line in printed.splitlines() if line.startswith('|')]
    assert rows and set(''.join(rows[1])) <= set('-:'), printed
    return rows[:1] + rows[2:]


def _names(printed):
    """(benchmark, name) of each row of the printed table."""
    return [tuple(row[:2]) for row in _table(printed)[1:]]


def _our_swav(repo_root):
    found = sorted(
        glob.glob(
            osp.join(repo_root, 'configs', 'swav',
                     'swav_resnet18_1xb16-mcrop-2-4-*_synthetic-*.py')))
    if not found:
        pytest.skip('the tiny SwAV config is not in configs/swav/')
    return found[0]


def _check_record(record, path, names, unit):
    on_disk = json.load(open(path))
    assert on_disk['command'].startswith('python tools/analysis/benchmark.py')
    assert on_disk['subcommand'] == record['subcommand']
    for key in ('cpu', 'cpu_cores', 'torch', 'torch_threads',
                'load_avg_1_5_15', 'load_avg_at_start'):
        assert key in on_disk['machine']
    got = [row['name'] for row in on_disk['results']]
    assert got == names
    for row in on_disk['results']:
        assert row['unit'] == unit
        assert row['median'] > 0
        assert len(row['windows']) == on_disk['settings']['windows']
        assert row['peak_mem_mb'] is None or row['peak_mem_mb'] > 0
    return on_disk


def test_swav_against_stock(tool, repo_root, tmp_path, capsys):
    out = tmp_path / 'swav.json'
    record = tool.main([
        'swav', '--config',
        _our_swav(repo_root), '--baseline',
        osp.join(repo_root, STOCK_SWAV), '--batch-size', '2', '--json',
        str(out)
    ] + TINY)
    printed = capsys.readouterr().out
    header, ours, baseline = _table(printed)
    assert header == [
        'benchmark', 'name', 'median', 'windows min-max', 'ms/item',
        'peak MiB', 'ratio vs reference'
    ]
    assert ours[:2] == ['swav', 'ours']
    assert baseline[:2] == ['swav', 'baseline']
    assert ours[2].endswith(' images/s')
    assert ours[-1].endswith('vs baseline') and baseline[-1] == ''
    on_disk = _check_record(record, out, ['ours', 'baseline'], 'images/s')
    ours, base = on_disk['results']
    assert ours['reference'] == 'baseline' and base['ratio'] is None
    assert set(ours['ratio']) == {'median', 'min', 'max'}
    assert ours['batch_size'] == 2
    # the queue state of both sides is recorded (off in epoch 0)
    assert ours['state']['swav_queue'] == base['state']['swav_queue']
    assert ours['state']['iters_run'] == 1


def test_faster_rcnn_against_stock_with_flops(tool, repo_root, tmp_path,
                                              capsys):
    out = tmp_path / 'frcnn.json'
    tool.main([
        'faster-rcnn', '--baseline',
        osp.join(repo_root, STOCK_FRCNN), '--batch-size', '1',
        '--image-size', '96', '128', '--count-flops', '--json',
        str(out)
    ] + TINY)
    printed = capsys.readouterr().out
    assert 'GFLOP per image' in printed
    on_disk = json.load(open(out))
    assert [r['name'] for r in on_disk['results']] == ['ours', 'baseline']
    assert on_disk['results'][0]['gflop_per_image'] > 0
    assert on_disk['settings']['seed'] == 0


def test_mocov2_default_config(tool, tmp_path, capsys):
    out = tmp_path / 'moco.json'
    record = tool.main(
        ['mocov2', '--batch-size', '2', '--image-size', '64', '64',
         '--json', str(out)] + TINY)
    assert _names(capsys.readouterr().out) == [('mocov2', 'ours')]
    _check_record(record, out, ['ours'], 'images/s')


def test_wrong_subcommand_for_config(tool, repo_root, capsys):
    with pytest.raises(SystemExit):
        tool.main(['faster-rcnn', '--config', _our_swav(repo_root)] + TINY)
    assert 'not what `faster-rcnn` measures' in capsys.readouterr().err


def test_amp_needs_cuda(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main(['swav', '--amp'] + TINY)
    assert '--amp needs --device cuda' in capsys.readouterr().err


def test_pipeline_multicrop_against_torchvision(tool, repo_root, tmp_path,
                                                capsys):
    out = tmp_path / 'pipe.json'
    record = tool.main([
        'pipeline', '--config',
        _our_swav(repo_root), '--baseline',
        osp.join(repo_root, STOCK_SWAV), '--num-images', '2',
        '--image-size', '64', '80', '--json',
        str(out)
    ] + TINY)
    printed = capsys.readouterr().out
    assert 'torchvision (facebookresearch/swav)' in printed
    assert 'ours / baseline' in printed
    on_disk = _check_record(
        record, out,
        ['ours', 'baseline', 'torchvision (facebookresearch/swav)'],
        'images/s')
    assert on_disk['results'][0]['reference'] == (
        'torchvision (facebookresearch/swav)')
    assert '2x64 + 4x32' in on_disk['results'][2]['config']


def test_pipeline_on_real_images_reencoded(tool, repo_root, tmp_path,
                                           capsys):
    from PIL import Image
    photos = tmp_path / 'photos'
    photos.mkdir()
    for i in range(3):
        Image.new('RGB', (80 + i, 60), (40 * i, 90, 200)).save(
            photos / f'{i:06d}.png')
    (photos / 'notes.txt').write_text('not an image')
    out = tmp_path / 'pipe.json'
    tool.main([
        'pipeline', '--config',
        _our_swav(repo_root), '--images',
        str(photos), '--num-images', '0', '--image-format', '.jpg',
        '--json', str(out)
    ] + TINY)
    printed = capsys.readouterr().out
    assert f'3 images of {photos} (re-encoded as .jpg (quality 90))' in printed
    assert '60x80, 60x81, 60x82' in printed
    record = json.load(open(out))
    assert record['settings']['images'] == str(photos)
    assert record['settings']['image_format'] == '.jpg'
    with pytest.raises(SystemExit):
        tool.main(['pipeline', '--images', str(tmp_path / 'none')] + TINY)
    assert 'no such folder' in capsys.readouterr().err


def test_pipeline_gpu_variant_on_the_cpu(tool, repo_root, tmp_path, capsys):
    """The data preprocessor of the GPU variant, timed on --device; on the
    CPU here, with a tiny batch."""
    tool.main([
        'pipeline', '--config',
        osp.join(
            repo_root, 'configs/swav/swav_resnet50_4xb64-mcrop-2-6-coslr-'
            '200e_unlabeled-224-96-gpuaug_3000p.py'), '--batch-size', '2',
        '--num-images', '2', '--image-size', '64', '80'
    ] + TINY)
    printed = capsys.readouterr().out
    assert _names(printed) == [('pipeline', 'ours'),
                               ('pipeline',
                                'torchvision (facebookresearch/swav)')]
    assert 'MultiViewGPUPreprocessor on cpu, batches of 2' in printed
    assert '2x224 + 6x96' not in printed  # the config column is in JSON


def test_pipeline_detection(tool, repo_root, tmp_path, capsys):
    tool.main([
        'pipeline', '--config',
        osp.join(repo_root, 'configs/demo/faster-rcnn_r18_fpn_synthetic.py'),
        '--num-images', '2', '--image-size', '96', '128',
        '--image-format', '.png'
    ] + TINY)
    printed = capsys.readouterr().out
    assert _names(printed) == [('pipeline', 'ours')]
    assert 'torchvision' not in printed


def test_ops(tool, tmp_path, capsys):
    out = tmp_path / 'ops.json'
    record = tool.main([
        'ops', '--num-boxes', '64', '--num-rois', '8', '--feat-size', '8',
        '8', '--channels', '4', '--json',
        str(out)
    ] + TINY)
    printed = capsys.readouterr().out
    assert ('nms', 'ext_ops') in _names(printed)
    assert ('roi_align forward', 'mmcv.ops') in _names(printed)
    on_disk = json.load(open(out))
    groups = [(r['group'], r['name']) for r in on_disk['results']]
    assert groups[:3] == [('nms', 'torchvision.ops'), ('nms', 'ext_ops'),
                          ('nms', 'mmcv.ops')]
    assert ('roi_align forward+backward', 'mmcv.ops') in groups
    assert all(r['unit'] == 'calls/s' for r in on_disk['results'])
    assert record['subcommand'] == 'ops'


def test_scaling(tool, tmp_path, capsys):
    out = tmp_path / 'scaling.json'
    tool.main([
        'scaling', '--scales', '1', '2', '--nuimages-samples', '5',
        '--kitti-frames', '3', '--json',
        str(out)
    ] + TINY)
    printed = capsys.readouterr().out
    assert _names(printed) == [('nuimages', '1x'), ('nuimages', '2x'),
                               ('kitti', '1x'), ('kitti', '2x')]
    rows = json.load(open(out))['results']
    by = {(r['group'], r['name']): r for r in rows}
    assert by[('nuimages', '1x')]['items'] == 5 * 4
    assert by[('nuimages', '2x')]['items'] == 10 * 4
    assert by[('kitti', '2x')]['items'] == 6 * 8
    assert by[('kitti', '2x')]['reference'] == '1x'


def test_scaling_needs_1x(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main(['scaling', '--scales', '2', '4'] + TINY)
    assert 'must include 1' in capsys.readouterr().err


def test_json_not_overwritten_without_force(tool, tmp_path, capsys):
    out = tmp_path / 'exists.json'
    out.write_text('{}')
    with pytest.raises(SystemExit):
        tool.main(['ops', '--json', str(out)] + TINY)
    assert '--force' in capsys.readouterr().err
    assert out.read_text() == '{}'
