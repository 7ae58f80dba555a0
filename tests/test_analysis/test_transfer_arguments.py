"""The transfer benchmark's command-line values: parsed into plans and
methods, each bad value one error naming its option."""
import os.path as osp

import pytest

from conftest import ROOT
from conmim_mm.analysis.transfer.arguments import (parse_labels_per_class,
                                                   parse_options,
                                                   parse_protocols,
                                                   parse_seeds,
                                                   select_methods)
from conmim_mm.errors import ConfigError

CONFIGS = osp.join(ROOT, 'configs', 'transfer')


def test_values_of_the_plan():
    assert parse_labels_per_class('10,100,all') == [10, 100, 'all']
    assert parse_seeds('0,1,2') == [0, 1, 2]
    assert parse_protocols('knn,finetune') == ['knn', 'finetune']


@pytest.mark.parametrize('call, message', [
    (lambda: parse_labels_per_class('10,0'),
     '--labels-per-class takes positive numbers and "all", got \'0\''),
    (lambda: parse_labels_per_class('ten'),
     '--labels-per-class takes positive numbers and "all", got \'ten\''),
    (lambda: parse_seeds('0,one'),
     "--seeds takes comma-separated integers, got '0,one'"),
    (lambda: parse_protocols('finetune,probe'),
     "--protocols: 'probe' is not one of finetune, linear, knn"),
    (lambda: parse_options(['lr']),
     "--finetune-options expects NAME=VALUE, got 'lr'"),
    (lambda: parse_options(['w=[1, 2']),
     "--finetune-options w: not a list or tuple of Python literals: "
     "'[1, 2'"),
    (lambda: select_methods('conmim,nope', [], [], CONFIGS),
     "--methods: unknown method 'nope'; known: conmim, conmim_abs, mae, "
     'maskfeat, mocov3, scratch_beit, scratch_beit_abs, scratch_vit (add one '
     'with --pretrain)'),
    (lambda: select_methods('conmim', [], ['mae=x.pth'], CONFIGS),
     '--checkpoint mae: not a method of this benchmark (--methods)'),
    (lambda: select_methods('conmim', ['mine'], [], CONFIGS),
     "--pretrain expects NAME=VALUE, got 'mine'"),
])
def test_a_bad_value_is_one_error(call, message):
    with pytest.raises(ConfigError) as error:
        call()
    assert str(error.value) == message


def test_finetune_options_are_typed():
    assert parse_options([
        'a=3', 'b=1e-3', 'c=True', 'd=false', 'e=AdamW', 'f=x=y',
        'g=[1,1,0.1]', 'h=(32, 32)']) == dict(
            a=3, b=1e-3, c=True, d=False, e='AdamW', f='x=y', g=[1, 1, 0.1],
            h=(32, 32))


def test_methods_in_the_order_asked(tmp_path):
    methods = select_methods('scratch_vit,conmim', [], [], CONFIGS)
    assert list(methods) == ['scratch_vit', 'conmim']
    assert methods['conmim'].pretrain_config == osp.join(CONFIGS,
                                                         'conmim.py')
    assert methods['conmim'].finetune_config == osp.join(
        CONFIGS, 'finetune_beit.py')
    assert methods['scratch_vit'].pretrain_config is None
    assert [m.pretrains for m in methods.values()] == [False, True]


def test_own_configs_fine_tune_as_their_family(tmp_path):
    absolute = tmp_path / 'abs.py'
    absolute.write_text(
        f"_base_ = ['{osp.join(CONFIGS, 'conmim.py')}']\n"
        'model = dict(backbone=dict(use_abs_pos_emb=True))\n')
    methods = select_methods(
        'a,b,c', [f'a={absolute}', f'b={CONFIGS}/conmim.py',
                  f'c={CONFIGS}/mocov3.py'], [], CONFIGS)
    assert {name: osp.basename(m.finetune_config)
            for name, m in methods.items()} == {
        'a': 'finetune_beit_abs.py', 'b': 'finetune_beit.py',
        'c': 'finetune_vit.py'}
    assert methods['a'].pretrain_config == str(absolute)


def test_a_given_checkpoint_replaces_pretraining(tmp_path):
    weights = tmp_path / 'mine.pth'
    weights.write_bytes(b'')
    methods = select_methods('conmim,mae', [], [f'conmim={weights}'],
                             CONFIGS)
    assert methods['conmim'].checkpoint == str(weights)
    assert [m.pretrains for m in methods.values()] == [False, True]
    with pytest.raises(FileNotFoundError,
                       match=r'^checkpoint file .*gone\.pth does not exist$'):
        select_methods('conmim', [], [f'conmim={tmp_path}/gone.pth'],
                       CONFIGS)
