"""Tests of custom_modules/benchmark/timing.py."""
import mmap

import pytest

from ssdet.benchmark.timing import (PeakMemory, Series, alternate,
                                    machine_info, median, paired_ratio)


def test_median():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


def test_alternate_order_warmup_and_counts():
    calls = []
    fns = {name: (lambda n=name: calls.append(n)) for name in 'AB'}
    windows = []
    out = alternate(
        fns,
        iters=2,
        warmup=1,
        windows=3,
        items_per_call={'A': 4},
        progress=windows.append)
    # warm-up of each, then A B | B A | A B, two iterations per window
    assert ''.join(calls) == 'AB' + 'AABB' + 'BBAA' + 'AABB'
    assert len(windows) == 6
    assert out['A'].items_per_window == 8 and out['B'].items_per_window == 2
    assert len(out['A'].seconds) == len(out['B'].seconds) == 3
    assert all(s > 0 for s in out['A'].seconds)


def test_alternate_rejects_bad_settings():
    with pytest.raises(ValueError):
        alternate({'A': lambda: None}, iters=0, warmup=0, windows=1)


def test_paired_ratio_is_median_of_rounds():
    ours = Series('ours', 10, seconds=[1.0, 2.0, 1.0])  # 10, 5, 10 /s
    ref = Series('ref', 10, seconds=[2.0, 2.0, 4.0])  # 5, 5, 2.5 /s
    ratio = paired_ratio(ours, ref)
    assert ratio == dict(median=2.0, min=1.0, max=4.0)
    assert ours.median_rate == 10.0
    with pytest.raises(ValueError):
        paired_ratio(ours, Series('x', 1, seconds=[1.0]))


def test_peak_memory_sees_a_window_allocation():
    memory = PeakMemory('cpu')
    memory.reset()
    before = memory.peak_mb()
    # fresh anonymous pages (malloc could reuse resident free memory)
    block = mmap.mmap(-1, 64 * 2**20)
    block.write(b'x' * (64 * 2**20))
    after = memory.peak_mb()
    block.close()
    assert after >= before
    if memory.method.startswith('RSS peak'):
        assert after - before > 48
        memory.reset()
        assert memory.peak_mb() < after


def test_machine_info():
    info = machine_info('cpu')
    assert info['cpu'] and info['cpu_cores'] >= 1
    assert info['torch'] and info['device'] == 'cpu'
    assert 'gpu' not in info


def test_alternate_can_keep_the_collector_off_inside_windows():
    import gc
    seen = []
    out = alternate({'A': lambda: seen.append(gc.isenabled())},
                    iters=2,
                    warmup=1,
                    windows=2,
                    disable_gc=True)
    assert seen == [True, False, False, False, False]
    assert gc.isenabled()
    assert len(out['A'].seconds) == 2
