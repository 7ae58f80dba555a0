"""Importing conmim_mm registers its components and changes nothing else:
no warning filter, no replaced function, class attribute or registered
entry of torch, mmengine, mmpretrain, mmcv, mmseg or mmdet."""
import json
import os.path as osp

from conftest import HELPERS, run_tool


def test_import_only_registers():
    result = run_tool([osp.join(HELPERS, 'import_effects.py')])
    assert result.returncode == 0, result.stderr[-3000:]
    effects = json.loads(result.stdout.strip().splitlines()[-1])
    assert effects['checked'] > 10000  # the libraries were looked at
    assert effects['rebound'] == []
    assert effects['removed'] == []
    assert effects['filters_changed'] is False


def test_components_are_registered():
    import conmim_mm  # noqa: F401
    from mmengine.fileio.backends import backends
    from mmengine.registry import HOOKS, OPTIM_WRAPPERS
    from mmpretrain import list_models
    from mmpretrain.registry import MODELS

    assert {'ConMIM', 'ConMIMBEiTViT', 'ConMIMPretrainViT',
            'ConMIMHead'} <= set(MODELS.module_dict)
    assert {'SafeCheckpointHook', 'SkippedStepHook',
            'ParamGroupSummaryHook'} <= set(HOOKS.module_dict)
    assert {'PortableAmpOptimWrapper', 'CheckedAmpOptimWrapper',
            'CheckedOptimWrapper'} <= set(OPTIM_WRAPPERS.module_dict)
    assert 'atomic_local' in backends
    assert 'conmim_vit-base-p16_8xb256-amp-coslr-800e_in1k' in list_models(
        '*conmim*')


def test_library_code_does_not_import_the_cli_glue():
    """conmim_mm.launch is for tools/ only; the library shares
    conmim_mm.utils with them."""
    import ast
    import glob

    from conftest import ROOT
    importers = []
    for path in glob.glob(osp.join(ROOT, 'conmim_mm', '**', '*.py'),
                          recursive=True):
        if path.endswith(osp.join('conmim_mm', 'launch.py')):
            continue
        for node in ast.walk(ast.parse(open(path).read())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [f'{node.module}.{a.name}' for a in node.names]
                names.append(node.module or '')
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(name.split('.')[-1] == 'launch'
                   or '.launch.' in f'.{name}.' for name in names):
                importers.append(osp.relpath(path, ROOT))
    assert importers == []
