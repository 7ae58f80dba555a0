"""Every tool refuses a checkpoint holding pickled code, in one line, without
running it."""
import os
import os.path as osp

import pytest
import torch

from conftest import CONFIGS, data_options, run_tool

TINY = osp.join(CONFIGS, 'tiny_cls.py')


@pytest.fixture
def payload_checkpoint(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'payload.pth'

    class Payload:

        def __reduce__(self):
            return os.mkdir, (str(marker), )

    torch.save({'state_dict': {}, 'meta': Payload()}, str(path))
    return path, marker


@pytest.mark.parametrize(
    'tool', ['train', 'load_from', 'test', 'convert', 'official', 'from_official',
             'export', 'attention'])
def test_tools_refuse_pickled_payload(tool, payload_checkpoint, image_folder,
                                      tmp_path):
    path, marker = payload_checkpoint
    args = {
        'train': ['tools/train.py', TINY, '--resume', str(path)],
        'load_from': ['tools/train.py', TINY, '--work-dir',
                      str(tmp_path / 'work'), '--cfg-options',
                      f'load_from={path}', *data_options(image_folder)],
        'test': ['tools/test.py', TINY, str(path)],
        'convert': ['tools/model_converters/safe_checkpoint.py', str(path),
                    str(tmp_path / 'out.pth')],
        'official': ['tools/model_converters/conmim2official.py', str(path),
                     str(tmp_path / 'out')],
        'from_official': ['tools/model_converters/official2conmim.py',
                          str(path), str(tmp_path / 'out.pth')],
        'export': ['tools/model_converters/extract_backbone.py', str(path),
                   str(tmp_path / 'out.pth')],
        'attention': ['tools/analysis_tools/visualize_attention.py', TINY,
                      str(path), str(path), '--out', str(tmp_path / 'out')],
    }[tool]
    if tool in ('train', 'test'):
        args += ['--work-dir', str(tmp_path / 'work'), '--cfg-options',
                 *data_options(image_folder)]
    result = run_tool(args)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: refusing to ')
    assert 'posix.mkdir' in last
    assert not marker.exists()
