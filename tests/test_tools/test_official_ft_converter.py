"""tools/model_converters/official_ft2mmpretrain.py and its reverse, and
tools/test.py on a converted official classifier (the README's path)."""
import re
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch

from common import ROOT, run_tool
from finetune_official import (IMAGENET, STANDIN, official_classifier,
                               our_classifier, preprocess, save_official)

FORWARD = 'tools/model_converters/official_ft2mmpretrain.py'
REVERSE = 'tools/model_converters/mmpretrain2official_ft.py'


@pytest.fixture(scope='module')
def official():
    from official_code import import_official_finetune
    return import_official_finetune(STANDIN)


def _convert(tool, *args, capsys=None):
    """Run a converter's ``main`` in this process (as ``python tool
    args``); returns its exit status and, with ``capsys``, its stdout and
    stderr."""
    argv = sys.argv
    sys.argv = [tool, *map(str, args)]
    try:
        runpy.run_path(f'{ROOT}/{tool}', run_name='__main__')
        status = 0
    except SystemExit as stop:
        status = stop.code
    finally:
        sys.argv = argv
    captured = capsys.readouterr() if capsys else None
    return status, captured


def test_convert_resize_and_back(official, tmp_path, capsys):
    model = official_classifier(official, 384, 6)
    save_official(model, tmp_path / 'official.pth')
    status, captured = _convert(FORWARD, tmp_path / 'official.pth',
                                tmp_path / 'ours384.pth', '--img-size', 384,
                                capsys=capsys)
    assert status == 0, captured.err
    out = captured.out
    assert '2 blocks, 384 wide, 6 heads, 1000 classes, 224x224' in out
    assert ('config: configs/downstream/imagenet/vit-s_ft-100e.py '
            '--cfg-options model.backbone.img_size=384') in out
    converted = torch.load(str(tmp_path / 'ours384.pth'), weights_only=True)
    ours = our_classifier('vit-s_ft-100e.py', 384, 6, img_size=384)
    ours.load_state_dict(converted['state_dict'], strict=True)
    assert converted['meta']['img_size'] == 384

    assert _convert(FORWARD, tmp_path / 'official.pth',
                    tmp_path / 'ours.pth')[0] == 0
    assert _convert(REVERSE, tmp_path / 'ours.pth',
                    tmp_path / 'back.pth')[0] == 0
    back = torch.load(str(tmp_path / 'back.pth'), weights_only=True)['model']
    original = model.state_dict()
    assert list(back) == list(original)
    assert all(torch.equal(back[k], v) for k, v in original.items())


def test_wrong_files_are_one_line_errors(tmp_path, capsys):
    pretrain = tmp_path / 'checkpoint-799.pth'
    torch.save({'model': {'cls_token': torch.zeros(1, 1, 8)}}, str(pretrain))
    status, captured = _convert(FORWARD, pretrain, tmp_path / 'out.pth',
                                capsys=capsys)
    assert status == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ')
    assert "missing ['patch_embed.proj.weight'" in lines[0]
    assert str(pretrain) in lines[0]

    status, captured = _convert(REVERSE, pretrain, tmp_path / 'out.pth',
                                capsys=capsys)
    assert status == 1
    assert captured.err.strip().splitlines() == [
        'error: not a fine-tuned classifier: no head.fc.weight (expected the '
        'state dict of configs/downstream/imagenet/vit-*_ft-100e.py)'
    ]


def test_evaluate_converted_checkpoint_with_tools_test(official, tmp_path):
    """Top-1 of tools/test.py on a converted ViT-S/16 is the official
    model's on the same images: 2 of 4 labelled with its prediction."""
    from mmengine.config import Config
    model = official_classifier(official, 384, 6, depth=12)
    save_official(model, tmp_path / 'official.pth')
    assert _convert(FORWARD, tmp_path / 'official.pth',
                    tmp_path / 'ours.pth')[0] == 0
    rng = np.random.default_rng(0)
    cfg = Config.fromfile(f'{IMAGENET}/vit-s_ft-100e.py')
    lines = []
    for i in range(4):
        folder = tmp_path / 'val' / f'n{i:08d}'
        folder.mkdir(parents=True)
        path = str(folder / 'a.png')
        cv2.imwrite(path, rng.integers(0, 256, (260, 300, 3), np.uint8))
        with torch.no_grad():
            label = int(model(preprocess(cfg, path)).argmax())
        lines.append(f'n{i:08d}/a.png {label if i < 2 else (label + 1) % 1000}')
    (tmp_path / 'val.txt').write_text('\n'.join(lines) + '\n')
    loader = 'test_dataloader'
    result = run_tool([
        'tools/test.py', f'{IMAGENET}/vit-s_ft-100e.py',
        str(tmp_path / 'ours.pth'), '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', f'{loader}.dataset.data_root={tmp_path}',
        f'{loader}.dataset.ann_file=val.txt', f'{loader}.dataset.split=',
        f'{loader}.dataset.data_prefix=val', f'{loader}.batch_size=4',
        f'{loader}.num_workers=0', f'{loader}.persistent_workers=False'
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    top1 = re.search(r'accuracy/top1: ([\d.]+)', log)
    assert top1 and float(top1.group(1)) == pytest.approx(50.0)
