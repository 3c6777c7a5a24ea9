# mmdet's default runtime with what every detector family root adds: stop at
# the first NaN/inf loss, keeping the last good checkpoint; reseed every
# epoch so that --resume continues exactly; scalars to TensorBoard
# (work_dir/<timestamp>/vis_data) as well as to the log files
# (tools/analysis/plot_curves.py reads those).
_base_ = 'mmdet::_base_/default_runtime.py'

default_hooks = dict(
    nan_guard=dict(type='NonFiniteLossHook'),
    epoch_seed=dict(type='EpochSeedHook'))
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
]
visualizer = dict(vis_backends=vis_backends)
