"""Print what importing conmim_mm changed in the process, as JSON.

Run in a fresh interpreter. Imports the libraries conmim_mm builds on
first, then snapshots the warning filters and, for every loaded module of
torch, mmengine, mmpretrain, mmcv, mmseg and mmdet, the objects its names
are bound to and, for each of its classes, the class attributes (dict
attributes entry by entry, so a registration that adds a key is told from
one that replaces a value). Imports conmim_mm and reports every name bound
to another object than before, and whether the warning filters changed.
"""
import importlib
import json
import sys
import warnings

LIBRARIES = ('torch', 'mmengine', 'mmpretrain', 'mmcv', 'mmseg', 'mmdet')


def library_modules() -> dict:
    return {name: module for name, module in list(sys.modules.items())
            if module is not None and name.split('.')[0] in LIBRARIES}


def snapshot() -> dict:
    bound = {}
    for name, module in library_modules().items():
        for attr, value in list(vars(module).items()):
            bound[f'{name}.{attr}'] = id(value)
            if isinstance(value, type) and value.__module__ == name:
                for key, member in list(vars(value).items()):
                    where = f'{name}.{attr}.{key}'
                    bound[where] = id(member)
                    if isinstance(member, dict):
                        for item, entry in list(member.items()):
                            bound[f'{where}[{item!r}]'] = id(entry)
    return bound


def main() -> None:
    for library in LIBRARIES:
        try:
            importlib.import_module(library)
        except ImportError:
            pass
    # the modules conmim_mm imports from, loaded before the snapshot
    for module in ('mmengine.runner', 'mmengine.fileio', 'mmengine.hooks',
                   'mmengine.optim', 'mmpretrain.models', 'mmpretrain.apis',
                   'mmpretrain.datasets', 'mmpretrain.models.backbones.beit',
                   'mmpretrain.models.selfsup.beit'):
        importlib.import_module(module)
    filters = list(warnings.filters)
    before = snapshot()
    importlib.import_module('conmim_mm')
    after = snapshot()
    rebound = sorted(key for key, value in before.items()
                     if key in after and after[key] != value)
    removed = sorted(key for key in before if key not in after)
    print(json.dumps(dict(
        rebound=rebound, removed=removed,
        filters_changed=list(warnings.filters) != filters,
        checked=len(before))))


if __name__ == '__main__':
    main()
