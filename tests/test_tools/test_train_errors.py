"""Input errors tools/train.py and tools/test.py report in one line: a
missing config, a downstream config without a usable pre-trained
checkpoint, config mistakes mmengine catches while building the run, a
missing mmseg/mmdet; --debug (or CONMIM_DEBUG=1) shows the traceback."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, run_tool

DOWNSTREAM = osp.join(ROOT, 'configs', 'downstream', 'imagenet',
                      'vit-b_ft-100e.py')
DEMO = osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py')


def _error_line(result) -> str:
    """The one line a failing tool prints (no traceback)."""
    assert result.returncode == 1, (result.stdout + result.stderr)[-4000:]
    assert 'Traceback' not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_missing_config_is_one_line_error():
    result = run_tool(['tools/train.py', 'configs/nope.py'])
    assert result.returncode == 1
    assert result.stderr.strip() == 'error: config file configs/nope.py ' \
        'does not exist'


@pytest.mark.parametrize('content,expected', [
    (None, 'does not exist; expected a ConMIM pre-training checkpoint'),
    ({'state_dict': {'fc.weight': torch.zeros(2)}},
     "holds no weights under model.backbone.init_cfg.prefix="
     "'teacher.backbone.' (its top-level keys: ['fc'])"),
    ('', 'is empty: set it to a ConMIM pre-training checkpoint'),
])
def test_downstream_checkpoint_is_checked_at_build(content, expected,
                                                   tmp_path):
    from mmengine.config import Config

    from conmim_mm.config_check import check_pretrained_checkpoint
    from conmim_mm.errors import ConfigError
    path = tmp_path / 'pretrained.pth'
    if isinstance(content, dict):
        torch.save(content, str(path))
    cfg = Config.fromfile(DOWNSTREAM)
    cfg.model.backbone.init_cfg.checkpoint = '' if content == '' else str(
        path)
    with pytest.raises(ValueError, match='model.backbone.init_cfg.'
                       'checkpoint') as err:
        check_pretrained_checkpoint(cfg)
    assert isinstance(err.value, ConfigError)
    assert expected in str(err.value)


def test_downstream_bad_checkpoint_is_one_line_from_train(tmp_path):
    result = run_tool([
        'tools/train.py', DOWNSTREAM, '--work-dir', str(tmp_path),
        '--cfg-options', 'model.backbone.init_cfg.checkpoint=/nope/x.pth'])
    assert _error_line(result).startswith(
        'error: model.backbone.init_cfg.checkpoint=/nope/x.pth does not '
        'exist; expected a ConMIM pre-training checkpoint')


def _only_error_line(result) -> str:
    """stderr is exactly one ``error:`` line (no traceback, no warning)."""
    assert result.returncode == 1, (result.stdout + result.stderr)[-4000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), result.stderr
    return lines[0]


#: Where the demo's cosine phase begins (the end of its warm-up).
COSINE_BEGIN = Config.fromfile(DEMO).param_scheduler[1]['begin']


@pytest.mark.parametrize('option,expected', [
    ('train_cfg.max_iters=2',
     'error: end should be larger than begin, but got '
     f'begin={COSINE_BEGIN}, end=2 (param_scheduler)'),
    ('train_dataloader.num_workers=0',
     'error: persistent_workers option needs num_workers > 0 '
     '(train_cfg, train_dataloader)'),
    ('model.backbone.type=ConMIMPretrainVit',
     'error: ConMIMPretrainVit is not in the mmpretrain::model registry. '
     'Please check whether the value of `ConMIMPretrainVit` is correct'),
])
def test_config_mistakes_the_libraries_catch_are_one_line(
        option, expected, tmp_path):
    """mmengine rejects these while building the runner (the schedulers and
    loaders only inside runner.train()); the tool names the field."""
    line = _only_error_line(run_tool([
        'tools/train.py', DEMO, '--work-dir', str(tmp_path),
        '--cfg-options', option]))
    assert line.startswith(expected)
    if 'registry' in expected:
        assert line.endswith(' (model)')


def test_test_tool_reports_config_mistakes_in_one_line(tmp_path):
    checkpoint = tmp_path / 'x.pth'
    checkpoint.write_bytes(b'')
    line = _only_error_line(run_tool([
        'tools/test.py', DEMO, str(checkpoint), '--work-dir', str(tmp_path),
        '--cfg-options', 'model.neck.type=TokenProjektor']))
    assert line.startswith('error: TokenProjektor is not in the '
                           'mmpretrain::model registry.')
    assert line.endswith(' (model)')


@pytest.mark.parametrize('how', [['--debug'], []])
def test_debug_shows_the_traceback(how, tmp_path):
    result = run_tool(
        ['tools/train.py', DEMO, '--work-dir', str(tmp_path), *how,
         '--cfg-options', 'train_dataloader.num_workers=0'],
        **({} if how else {'CONMIM_DEBUG': '1'}))
    assert result.returncode == 1
    assert 'Traceback (most recent call last)' in result.stderr
    # the library's error, then the one line that names the fields
    assert ('ValueError: persistent_workers option needs num_workers > 0\n'
            in result.stderr)
    assert result.stderr.strip().splitlines()[-1] == (
        'conmim_mm.errors.ConfigError: persistent_workers option needs '
        'num_workers > 0 (train_cfg, train_dataloader)')


#: tools/train.py, run where mmengine finds some packages missing.
WITHOUT = '''
import runpy, sys
import mmengine.config.config as config
installed = config.is_installed
config.is_installed = lambda package: (package not in {missing!r}
                                       and installed(package))
sys.argv = ['tools/train.py'] + {args!r}
runpy.run_path('tools/train.py', run_name='__main__')
'''


@pytest.mark.parametrize('config,packages,what', [
    ('ade20k/upernet_vit-b_160k.py', ['mmseg', 'mmsegmentation'],
     'mmsegmentation (mmseg)'),
    ('coco/mask-rcnn_vit-b_fpn.py', ['mmdet'], 'mmdetection (mmdet)'),
])
def test_missing_downstream_package_names_the_install_command(
        config, packages, what, tmp_path):
    """An ADE20K/COCO config (mmseg::/mmdet:: bases) where mmseg/mmdet
    are not installed (mmengine checks the distribution name)."""
    path = f'configs/downstream/{config}'
    script = WITHOUT.format(missing=packages,
                            args=[path, '--work-dir', str(tmp_path)])
    line = _only_error_line(run_tool([sys.executable, '-c', script]))
    assert line == (f'error: {path} needs {what}, which is not installed: '
                    'install it with `make setup-full`')
