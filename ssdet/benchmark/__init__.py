"""Throughput benchmarks behind ``tools/analysis/benchmark.py``.

- :mod:`.cli`: its command line (one subcommand a benchmark).
- :mod:`.runners`: one function a subcommand, and :func:`.runners.run`,
  which times one in a scratch folder and builds its record.
- :mod:`.report`: the rows, the Markdown table and the JSON record.
- :mod:`.timing`: timed windows run alternately (ABAB, order flipped every
  round), medians, paired ratios, peak memory, a machine record.
- :mod:`.train_step`: a real mmengine ``Runner`` built from a config, driven
  iteration by iteration on one fixed, pre-collated batch.
- :mod:`.data`: the data pipelines alone (per worker) against a torchvision
  reference, and the scaling of the data converters.
- :mod:`.ops`: the ``mmcv._ext`` provider against torchvision.ops.

Not imported by ``custom_modules/__init__.py``: configs never need it.
"""
