"""Bad ConMIM configs fail before training, naming the field; a config of
another input size made as configs/conmim/README.md says passes."""
import os.path as osp

import pytest
from mmengine.config import Config

from common import ROOT, background_run, train_command
from conmim_mm.config_check import ConfigError, check_conmim_config

CONFIG = osp.join(ROOT, 'configs', 'conmim', 'vit-b_800e.py')
MASK = 'train_dataloader.dataset.pipeline.4'
CROP = 'train_dataloader.dataset.pipeline.2'


@pytest.mark.parametrize('options, message', [
    ({'model.backbone.img_size': 200},
     r'model.backbone.img_size=200 must be divisible by '
     r'model.backbone.patch_size=16'),
    ({'model.neck.in_channels': 384},
     r"model.neck.in_channels=384 must equal the backbone width 768 "
     r"\(model.backbone.arch='base'\)"),
    ({f'{CROP}.size': 192}, rf'{CROP}.size=192 must equal '
     r'model.backbone.img_size=224'),
    ({f'{MASK}.input_size': 192}, rf'{MASK}.input_size=192 must equal'),
    ({f'{MASK}.mask_ratio': 1.0}, rf'{MASK}.mask_ratio=1.0 must be in '
     r'\(0, 1\)'),
    ({f'{MASK}.mask_ratio': 0}, rf'{MASK}.mask_ratio=0 must be in'),
    ({f'{MASK}.mask_patch_size': 24}, rf'{MASK}.mask_patch_size=24 must be '
     r'a multiple of the patch size 16 and divide input_size=224'),
    ({f'{MASK}.model_patch_size': 8}, rf'{MASK}.model_patch_size=8 must '
     r'equal model.backbone.patch_size=16'),
])
def test_bad_field_is_named(options, message):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options, allow_list_keys=True)
    with pytest.raises(ConfigError, match=message):
        check_conmim_config(cfg)


def test_published_and_demo_configs_pass():
    for name in ('vit-s_300e.py', 'vit-b_300e.py', 'vit-b_800e.py',
                 'vit-l_400e.py', 'vit-l_800e.py', 'vit-l_1600e.py',
                 'demo_vit-tiny.py'):
        check_conmim_config(
            Config.fromfile(osp.join(ROOT, 'configs', 'conmim', name)))
    cfg = Config.fromfile(CONFIG)  # another consistent size passes
    cfg.merge_from_dict({
        'model.backbone.img_size': 192, f'{CROP}.size': 192,
        f'{MASK}.input_size': 192
    }, allow_list_keys=True)
    check_conmim_config(cfg)


# tools/train.py with one bad field each (in the background:
# common.background_run)
@background_run(succeeds=False)
def bad_mask_ratio_run(work_dir):
    return train_command(CONFIG, work_dir, f'{MASK}.mask_ratio=1.5'), {}


@background_run(succeeds=False)
def bad_temperature_run(work_dir):
    return train_command(CONFIG, work_dir, 'model.head.temperature=0'), {}


@background_run(succeeds=False)
def bad_momentum_run(work_dir):
    return train_command(CONFIG, work_dir, 'model.teacher_momentum=1.0'), {}


@pytest.mark.parametrize('field, message', [
    ('mask_ratio', f'{MASK}.mask_ratio=1.5 must be in (0, 1)'),
    ('temperature', 'ConMIMHead.temperature must be > 0, got 0'),
    ('momentum', 'ConMIM.teacher_momentum must be in [0, 1), got 1.0'),
])
def test_train_tool_reports_one_line(bad_mask_ratio_run, bad_temperature_run,
                                     bad_momentum_run, field, message):
    result = dict(mask_ratio=bad_mask_ratio_run,
                  temperature=bad_temperature_run,
                  momentum=bad_momentum_run)[field].result
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and message in last


def test_another_input_size_recipe(tmp_path):
    """configs/conmim/README.md's recipe for another input size: a config
    that sets img_size and merges it into the base's pipeline steps."""
    config = tmp_path / 'vit-b_800e_192.py'
    config.write_text(f"_base_ = '{CONFIG}'\n" + """img_size = 192
__sizes = dict(
    RandomResizedCropAndInterpolationWithTwoPic=dict(size=img_size),
    SimMIMMaskGenerator=dict(input_size=img_size))
train_pipeline = [
    dict(step, **__sizes.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(backbone=dict(img_size=img_size))
""")
    cfg = Config.fromfile(str(config))
    check_conmim_config(cfg)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert (pipeline[2].size, pipeline[4].input_size) == (192, 192)
    assert pipeline[4].mask_patch_size == 32
    assert '__sizes' not in cfg
