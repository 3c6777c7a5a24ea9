# The main recipe in full precision (no AMP): the report's Fig. 1e run, whose
# loss stayed at ln(K) (ln 3000 = 8.01). Only the optimizer wrapper differs
# (mmengine's OptimWrapper: fp32, no loss scaling); the collapse guard logs
# the plateau but does not stop the run, since the curve is the result (stop
# it, or give --cfg-options train_cfg.max_epochs=N, once the curve shows it).
#   tools/dist_train.sh \
#       configs/swav/swav_resnet50_4xb64-mcrop-2-6-coslr-200e-fp32_unlabeled-224-96_3000p.py 4  # noqa: E501
#   python tools/analysis/plot_curves.py loss WORK_DIR --out fig1e.png
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'

optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=_base_.optim_wrapper.optimizer)
# custom_hooks[1] is the SwAVCollapseGuardHook; the list is replaced whole.
custom_hooks = [
    _base_.custom_hooks[0],
    dict(_base_.custom_hooks[1], stop=False),
    *_base_.custom_hooks[2:]
]
