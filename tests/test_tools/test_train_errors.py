"""Input errors tools/train.py reports in one line before training: a
missing config, a downstream config without a usable pre-trained
checkpoint."""
import os.path as osp

import pytest
import torch

from conftest import ROOT, run_tool

DOWNSTREAM = osp.join(ROOT, 'configs', 'downstream', 'imagenet',
                      'vit-b_ft-100e.py')


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
