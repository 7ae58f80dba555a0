"""tools/model_converters/official2conmim.py and conmim2official.py."""
import os.path as osp

import torch

from conftest import ROOT, build_conmim, run_tool, tiny_conmim_cfg
from conmim_mm.checkpoints import load_checkpoint_file

REFERENCE = osp.join(ROOT, 'tests', 'data', 'parity', 'official_reference.pth')


def _official_files(tmp_path):
    """Official-layout student/teacher files from the parity fixture."""
    reference = torch.load(REFERENCE, weights_only=True)
    index = reference['relative_position_index'].long()
    files = []
    for name, state in (('checkpoint-0.pth', reference['student']),
                        ('checkpoint_copy-0.pth', reference['teacher'])):
        state = dict(state, **{'rel_pos_bias.relative_position_index': index})
        path = tmp_path / name
        torch.save({'model': state, 'epoch': 0}, str(path))
        files.append(path)
    return reference, files


def test_official2conmim_loads_strictly(tmp_path):
    reference, (student, teacher) = _official_files(tmp_path)
    out = tmp_path / 'conmim.pth'
    result = run_tool([
        'tools/model_converters/official2conmim.py', str(student),
        '--teacher', str(teacher), str(out)
    ])
    assert result.returncode == 0, result.stderr
    state = load_checkpoint_file(str(out))['state_dict']
    model = build_conmim(tiny_conmim_cfg('vit-b_300e.py'))
    model.load_state_dict(state, strict=True)
    assert not any(k.startswith('lm_head') for k in state)
    assert torch.equal(model.teacher.backbone.cls_token,
                       reference['teacher']['cls_token'])
    assert torch.equal(model.backbone.cls_token,
                       reference['student']['cls_token'])
    assert torch.equal(model.teacher.neck.fc0.weight,
                       reference['teacher']['projectors.0.weight'])


def test_official2conmim_without_teacher_copies_student(tmp_path):
    _, (student, _) = _official_files(tmp_path)
    out = tmp_path / 'conmim.pth'
    result = run_tool(['tools/model_converters/official2conmim.py',
                       str(student), str(out)])
    assert result.returncode == 0, result.stderr
    state = load_checkpoint_file(str(out))['state_dict']
    for key in [k for k in state if not k.startswith('teacher.')]:
        assert torch.equal(state['teacher.' + key], state[key])


def test_conmim2official_writes_official_layout(tmp_path):
    reference, _ = _official_files(tmp_path)
    model = build_conmim(tiny_conmim_cfg('vit-b_300e.py'))
    path = tmp_path / 'ours.pth'
    torch.save({'state_dict': model.state_dict()}, str(path))
    result = run_tool(['tools/model_converters/conmim2official.py',
                       str(path), str(tmp_path / 'official')])
    assert result.returncode == 0, result.stderr
    for name in ('checkpoint.pth', 'checkpoint_copy.pth'):
        state = load_checkpoint_file(str(tmp_path / 'official' /
                                         name))['model']
        expected = set(reference['student']) | {
            'rel_pos_bias.relative_position_index'
        }
        assert set(state) == expected
        assert state['lm_head.weight'].shape == (8192, 32)
    student = load_checkpoint_file(
        str(tmp_path / 'official' / 'checkpoint.pth'))['model']
    assert torch.equal(student['blocks.1.mlp.fc2.weight'],
                       model.backbone.layers[1].ffn.layers[1].weight)


def test_wrong_checkpoint_names_expected_keys(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'model': {'conv.weight': torch.zeros(1)}}, str(path))
    result = run_tool(['tools/model_converters/official2conmim.py',
                       str(path), str(tmp_path / 'out.pth')])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    message = result.stderr.strip()
    assert message.startswith('error: ') and '\n' not in message
    assert 'not an official ConMIM pre-training checkpoint' in message
    assert "'mask_token'" in message
