"""Reading mmengine scalars.json logs and drawing the report figures."""
import math
import os
import sys

import pytest

from ssdet.analysis.logs import (LogFormatError, load_log, read_scalars,
                                 swav_queue_start)
from ssdet.analysis.plots import (plot_class_bars, plot_metric_curves,
                                  plot_metric_vs_axis, plot_swav_loss)

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def assert_png(path):
    with open(path, 'rb') as f:
        head = f.read(8)
    assert head == PNG_MAGIC
    assert os.path.getsize(path) > 2000


def test_load_log_merges_resumed_runs(swav_work_dir):
    with pytest.warns(UserWarning, match=r'scalars.json:5: skipped'):
        log = load_log(swav_work_dir)
    assert log.skipped == 1  # the truncated last line of the first file
    xs, ys = log.series('loss', x='iter')
    assert xs == [10, 20, 30, 40, 50, 60]
    # iteration 40 was logged by both; the resumed run's line wins
    assert ys[3] == pytest.approx(math.log(64) - 0.8)
    assert log.epoch_start_iter(1) == 20
    assert swav_queue_start(swav_work_dir) == ('iter', 20)


def test_queue_start_from_config_without_log_line(swav_work_dir):
    os.remove(os.path.join(swav_work_dir, '20240101_000000',
                           '20240101_000000.log'))
    assert swav_queue_start(swav_work_dir) == ('epoch', 1)


def test_bad_middle_line_is_an_error(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"loss": 1, "iter": 1, "step": 1}\nnot json\n'
                    '{"loss": 1, "iter": 2, "step": 2}\n')
    with pytest.raises(LogFormatError, match=r'scalars.json:2: .*--skip'):
        read_scalars(str(path))
    with pytest.warns(UserWarning):
        records, skipped = read_scalars(str(path), skip_bad=True)
    assert (len(records), skipped) == (2, 1)
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        load_log(str(tmp_path))


def test_validation_series(det_work_dirs):
    log = load_log(det_work_dirs[1])
    assert log.series('coco/bbox_mAP_50', val=True) == (
        [2.0, 4.0], [pytest.approx(0.3), pytest.approx(0.5)])
    assert len(log.train) == 4


def test_plots_write_pngs(tmp_path):
    out = str(tmp_path / 'figs')
    assert_png(plot_swav_loss(([1, 2, 3], [4.1, 4.0, 3.5]),
                              f'{out}/loss.png', 64, 2))
    assert_png(plot_metric_curves({'a': ([2, 4], [10, 20]),
                                   'b': ([2, 4], [12, 25])},
                                  f'{out}/ap.png'))
    assert_png(plot_metric_vs_axis({'imagenet': ([40, 20], [50, 45])},
                                   f'{out}/axis.png', 'epoch'))
    assert_png(plot_class_bars({'a': {'Car': 80, 'Van': None},
                                'b': {'Car': 70, 'Van': 40}},
                               ['Car', 'Van'], f'{out}/bars.png'))
    assert 'matplotlib.pyplot' in sys.modules  # imported lazily, now loaded


def test_plot_curves_tool(swav_work_dir, det_work_dirs, tmp_path, load_tool,
                          capsys):
    tool = load_tool('analysis', 'plot_curves.py')
    out = str(tmp_path / 'loss.png')
    with pytest.warns(UserWarning):
        assert tool.main(['loss', swav_work_dir, '--out', out]) == 0
    assert 'K = 64, queue start = 20' in capsys.readouterr().out
    assert_png(out)
    assert tool.main(['loss', swav_work_dir, '--out', out]) == 2  # exists
    out = str(tmp_path / 'ap.png')
    assert tool.main(['metric', *det_work_dirs, '--names', 'scratch',
                      'SwAV', '--out', out]) == 0
    assert_png(out)
    assert tool.main(['metric', *det_work_dirs, '--key', 'kitti/mAP',
                      '--out', str(tmp_path / 'x.png')]) == 2
    assert 'no run has' in capsys.readouterr().err


def test_plot_results_tool(kitti_grid, tmp_path, load_tool, capsys):
    tool = load_tool('analysis', 'plot_results.py')
    out = str(tmp_path / 'epochs.png')
    assert tool.main(['axis', kitti_grid, '--x', 'epoch', '--series',
                      'pretrain', '--out', out]) == 0
    assert_png(out)
    out = str(tmp_path / 'bars.png')
    assert tool.main(['classes', kitti_grid, '--out', out]) == 0
    assert_png(out)
    assert tool.main(['axis', kitti_grid, '--x', 'pretrain', '--out',
                      str(tmp_path / 'bad.png')]) == 2
    assert 'not a number' in capsys.readouterr().err
