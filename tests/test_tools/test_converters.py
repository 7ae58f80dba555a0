"""tools/model_converters/official2conmim.py and conmim2official.py (each
run once as a program, in the background: common.background_run;
official2conmim's other cases in this process: common.run_script)."""
import os.path as osp

import torch

from common import ROOT, background_run, run_script, seeded_conmim
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


@background_run()
def official2conmim_run(work_dir):
    _, (student, teacher) = _official_files(work_dir)
    return ['tools/model_converters/official2conmim.py', str(student),
            '--teacher', str(teacher), str(work_dir / 'conmim.pth')], {}


def test_official2conmim_loads_strictly(tiny_conmim, official2conmim_run):
    reference = torch.load(REFERENCE, weights_only=True)
    out = official2conmim_run.work_dir / 'conmim.pth'
    state = load_checkpoint_file(str(out))['state_dict']
    model = tiny_conmim('vit-b_300e.py')
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
    result = run_script(['tools/model_converters/official2conmim.py',
                         str(student), str(out)])
    assert result.returncode == 0, result.stderr
    state = load_checkpoint_file(str(out))['state_dict']
    for key in [k for k in state if not k.startswith('teacher.')]:
        assert torch.equal(state['teacher.' + key], state[key])


@background_run()
def conmim2official_run(work_dir):
    """On the weights of conftest.py's tiny_conmim('vit-b_300e.py')."""
    path = work_dir / 'ours.pth'
    torch.save({'state_dict': seeded_conmim('vit-b_300e.py').state_dict()},
               str(path))
    return ['tools/model_converters/conmim2official.py', str(path),
            str(work_dir / 'official')], {}


def test_conmim2official_writes_official_layout(tiny_conmim,
                                                conmim2official_run):
    reference = torch.load(REFERENCE, weights_only=True)
    model = tiny_conmim('vit-b_300e.py')
    work_dir = conmim2official_run.work_dir
    for name in ('checkpoint.pth', 'checkpoint_copy.pth'):
        state = load_checkpoint_file(str(work_dir / 'official' /
                                         name))['model']
        expected = set(reference['student']) | {
            'rel_pos_bias.relative_position_index'
        }
        assert set(state) == expected
        assert state['lm_head.weight'].shape == (8192, 32)
    student = load_checkpoint_file(
        str(work_dir / 'official' / 'checkpoint.pth'))['model']
    assert torch.equal(student['blocks.1.mlp.fc2.weight'],
                       model.backbone.layers[1].ffn.layers[1].weight)


def test_wrong_checkpoint_names_expected_keys(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'model': {'conv.weight': torch.zeros(1)}}, str(path))
    result = run_script(['tools/model_converters/official2conmim.py',
                         str(path), str(tmp_path / 'out.pth')])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    message = result.stderr.strip()
    assert message.startswith('error: ') and '\n' not in message
    assert 'not an official ConMIM pre-training checkpoint' in message
    assert "'mask_token'" in message
