"""Timed windows run alternately, so that the load of a shared machine
cancels out of the ratios.

Every benchmark is a set of callables (one iteration each). After a warm-up
of each, :func:`alternate` times ``windows`` rounds; in each round every
callable runs ``iters`` iterations in its own window, and the order flips
every round (A B, B A, A B, ...), so that a load that drifts linearly over a
pair of rounds falls on both sides alike. Throughput is the median over
windows; a ratio is the median over rounds of the per-round ratio of two
callables measured seconds apart (:func:`paired_ratio`).
"""
import gc
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional

#: A kernel control file (written in place: it is a command, not a file).
_CLEAR_REFS = '/proc/self/clear_refs'
_STATUS = '/proc/self/status'


def median(values: List[float]) -> float:
    """The median (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError('median of no values')
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return 0.5 * (ordered[mid - 1] + ordered[mid])


class PeakMemory:
    """Peak memory of each timed window.

    - CUDA: ``torch.cuda.max_memory_allocated`` (reset per window).
    - CPU on Linux: the resident-set high-water mark ``VmHWM`` of
      ``/proc/self/status``, reset per window by writing ``5`` to
      ``/proc/self/clear_refs`` (Linux >= 4.0), so each side of an
      alternated benchmark gets its own peak.
    - Elsewhere: ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the peak of
      the whole process (not reset; the same for every window). psutil, where
      installed, has no peak RSS on Linux/macOS, so it is not used.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
    """

    def __init__(self, device: str = 'cpu') -> None:
        self.device = device
        if device.startswith('cuda'):
            self.method = 'cuda max_memory_allocated'
        elif self._can_reset_hwm():
            self.method = 'RSS peak (VmHWM, reset per window)'
        else:
            self.method = 'process RSS peak (ru_maxrss, not per window)'

    @staticmethod
    def _can_reset_hwm() -> bool:
        try:
            with open(_CLEAR_REFS, 'w') as f:
                f.write('5')
            return PeakMemory._read_hwm_kb() is not None
        except OSError:
            return False

    @staticmethod
    def _read_hwm_kb() -> Optional[float]:
        try:
            with open(_STATUS) as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        return float(line.split()[1])
        except OSError:
            return None
        return None

    def reset(self) -> None:
        """Start a new window."""
        if self.device.startswith('cuda'):
            import torch
            torch.cuda.reset_peak_memory_stats()
        elif self.method.startswith('RSS peak'):
            try:
                with open(_CLEAR_REFS, 'w') as f:
                    f.write('5')
            except OSError:
                pass

    def peak_mb(self) -> Optional[float]:
        """The peak since :meth:`reset`, in MiB."""
        if self.device.startswith('cuda'):
            import torch
            return torch.cuda.max_memory_allocated() / 2**20
        if self.method.startswith('RSS peak'):
            kb = self._read_hwm_kb()
            return None if kb is None else kb / 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # kilobytes on Linux, bytes on macOS
        return peak / 2**20 if sys.platform == 'darwin' else peak / 1024


@dataclass
class Series:
    """The timed windows of one callable."""
    name: str
    #: Items (images, calls, rows) per window.
    items_per_window: int
    seconds: List[float] = field(default_factory=list)
    peak_mb: List[Optional[float]] = field(default_factory=list)

    @property
    def rates(self) -> List[float]:
        """Items per second of each window."""
        return [self.items_per_window / max(s, 1e-12) for s in self.seconds]

    @property
    def median_rate(self) -> float:
        return median(self.rates)

    @property
    def max_peak_mb(self) -> Optional[float]:
        peaks = [p for p in self.peak_mb if p is not None]
        return max(peaks) if peaks else None


def alternate(fns: Mapping[str, Callable[[], object]],
              iters: int,
              warmup: int,
              windows: int,
              items_per_call: Optional[Mapping[str, int]] = None,
              sync: Optional[Callable[[], None]] = None,
              memory: Optional[PeakMemory] = None,
              progress: Optional[Callable[[str], None]] = None,
              disable_gc: bool = False) -> Dict[str, Series]:
    """Time callables in alternated windows after a warm-up.

    Args:
        fns (Mapping[str, callable]): Name -> one iteration. Two or more are
            alternated; one is simply timed.
        iters (int): Iterations per window.
        warmup (int): Untimed iterations of each callable first.
        windows (int): Timed windows of each callable.
        items_per_call (Mapping[str, int], optional): Items (e.g. images) an
            iteration processes; 1 where absent. Defaults to None.
        sync (callable, optional): Called before reading the clock (e.g.
            ``torch.cuda.synchronize``). Defaults to None.
        memory (PeakMemory, optional): Records each window's peak memory.
            Defaults to None.
        progress (callable, optional): Called with a short status line after
            each window. Defaults to None.
        disable_gc (bool): Collect garbage before each window and keep the
            cyclic garbage collector off inside it, as ``timeit`` does.
            For pure-Python code timed inside a process that holds a large
            heap (torch, mmdet): a full collection then costs ~0.2 s and
            falls at random into windows. Defaults to False.

    Returns:
        dict[str, Series]: The windows of each callable, in input order.
    """
    if iters < 1 or windows < 1 or warmup < 0:
        raise ValueError('need iters >= 1, windows >= 1 and warmup >= 0, got '
                         f'{iters}, {windows}, {warmup}')
    items_per_call = items_per_call or {}
    sync = sync or (lambda: None)
    names = list(fns)
    out = {
        name: Series(name, iters * int(items_per_call.get(name, 1)))
        for name in names
    }
    for name in names:
        for _ in range(warmup):
            fns[name]()
    sync()
    for window in range(windows):
        order = names if window % 2 == 0 else names[::-1]
        for name in order:
            fn = fns[name]
            if memory is not None:
                memory.reset()
            if disable_gc:
                gc.collect()
                gc.disable()
            try:
                sync()
                start = time.perf_counter()
                for _ in range(iters):
                    fn()
                sync()
                out[name].seconds.append(time.perf_counter() - start)
            finally:
                if disable_gc:
                    gc.enable()
            out[name].peak_mb.append(
                memory.peak_mb() if memory is not None else None)
            if progress is not None:
                progress(f'window {window + 1}/{windows} {name}: '
                         f'{out[name].rates[-1]:.3g}/s')
    return out


def paired_ratio(ours: Series, reference: Series) -> Dict[str, float]:
    """Per-round throughput ratios ``ours / reference`` and their median.

    Args:
        ours (Series): Windows of the measured callable.
        reference (Series): Windows of the reference, alternated with it.

    Returns:
        dict: ``median``, ``min``, ``max`` of the per-round ratios.
    """
    if len(ours.seconds) != len(reference.seconds):
        raise ValueError('paired ratios need the same number of windows')
    ratios = [a / b for a, b in zip(ours.rates, reference.rates)]
    return dict(median=median(ratios), min=min(ratios), max=max(ratios))


def cpu_model() -> str:
    """The CPU model name (as ``lscpu`` prints it)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str = 'cpu') -> Dict[str, object]:
    """Where a benchmark ran: CPU model, cores, load, library versions."""
    import torch
    info: Dict[str, object] = dict(
        cpu=cpu_model(),
        cpu_cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        load_avg_1_5_15=[round(x, 2) for x in os.getloadavg()]
        if hasattr(os, 'getloadavg') else None,
        python=platform.python_version(),
        torch=torch.__version__,
        device=device)
    for package in ('torchvision', 'mmengine', 'mmcv', 'mmdet', 'mmselfsup'):
        try:
            module = __import__(package)
            info[package] = getattr(module, '__version__', '?')
        except ImportError:
            info[package] = None
    if device.startswith('cuda') and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
        info['cuda'] = torch.version.cuda
        info['cudnn'] = torch.backends.cudnn.version()
    return info
