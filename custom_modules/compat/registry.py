"""Drop the import locations of mmselfsup's registries that do not exist,
so they fall back to their mmengine parents.

Answers: mmselfsup 1.0.0's RUNNERS, RUNNER_CONSTRUCTORS and LOOPS name
``mmselfsup.engine.runner``, which the wheel lacks, so building a runner or
loop under ``default_scope='mmselfsup'`` raises ``ModuleNotFoundError``
(mmselfsup issue #745). Skipped when every declared location exists.
"""
import importlib.util
import os.path as osp


def _module_exists(name: str, package_root: str) -> bool:
    parts = name.split('.')[1:]
    path = osp.join(package_root, *parts)
    return osp.isdir(path) or osp.isfile(path + '.py')


def install() -> bool:
    """Remove the missing import locations from mmselfsup's registries."""
    if importlib.util.find_spec('mmselfsup') is None:
        return False
    import mmselfsup
    from mmengine.registry import Registry
    from mmselfsup import registry as selfsup_registry
    root = osp.dirname(mmselfsup.__file__)
    changed = False
    for value in vars(selfsup_registry).values():
        if not isinstance(value, Registry):
            continue
        kept = [loc for loc in value._locations if _module_exists(loc, root)]
        if kept != value._locations:
            value._locations = kept
            changed = True
    return changed
