"""The toolkit: the code behind the scripts under ``tools/``.

Converters, checkpoint conversion, experiment grids, analysis, benchmarks
and the synthetic data generator. Nothing here is registered or imported by
configs; it may import ``custom_modules``, never the reverse. Import the
submodules directly: this package imports nothing at import time.
"""
