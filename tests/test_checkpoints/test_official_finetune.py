"""Official fine-tuned ConMIM classifiers <-> our fine-tuning classifier.

A random official ``modeling_finetune.VisionTransformer`` (2 blocks, the
real widths of ViT-S/B/L), saved as ``run_class_finetuning.py`` saves it,
converted, loads strictly into the classifier of
``configs/downstream/imagenet/vit-*_ft-100e.py`` and gives the official
logits (fp32, eval mode) at 224, and at 384 with the tables resized with
torch. The official code is a checkout at ``$CONMIM_OFFICIAL_ROOT`` or the
stand-in ``tests/helpers/official_standin`` (always run).
"""
import pytest
import torch

from conmim_mm.checkpoints import (load_official_finetune,
                                   mmpretrain_to_official_ft,
                                   official_finetune_arch,
                                   official_ft_to_mmpretrain,
                                   resize_rel_pos_table)
from conmim_mm.errors import CheckpointFormatError, UnsafeCheckpointError
from finetune_official import (ROOTS, official_classifier, our_classifier,
                               save_official)

#: config -> (width, heads) of the released sizes
SIZES = {
    'vit-s_ft-100e.py': (384, 6),
    'vit-b_ft-100e.py': (768, 12),
    'vit-l_ft-100e.py': (1024, 16),
}
LOGIT_ATOL = 1e-5


@pytest.fixture(scope='module', params=ROOTS)
def official(request):
    from official_code import import_official_finetune
    return import_official_finetune(request.param)


def _official_at(official, model, width, heads, img_size):
    """The official classifier at ``img_size``: ``model``'s weights with the
    tables resized with torch (the index is the new model's own)."""
    resized = official_classifier(official, width, heads, img_size)
    side = img_size // 16
    state = {
        k: resize_rel_pos_table(v, (side, side))
        if k.endswith('relative_position_bias_table') else v
        for k, v in model.state_dict().items()
        if not k.endswith('relative_position_index')
    }
    missing, unexpected = resized.load_state_dict(state, strict=False)
    assert not unexpected and all(
        k.endswith('relative_position_index') for k in missing)
    return resized


@pytest.mark.parametrize('img_size', [224, 384])
@pytest.mark.parametrize('config', list(SIZES))
def test_converted_logits_equal_official(official, config, img_size,
                                         tmp_path):
    width, heads = SIZES[config]
    model = official_classifier(official, width, heads)
    path = tmp_path / 'checkpoint-99.pth'
    save_official(model, path)
    state = official_ft_to_mmpretrain(
        load_official_finetune(str(path)), img_size)
    ours = our_classifier(config, width, heads, img_size)
    ours.load_state_dict(state, strict=True)
    reference = model if img_size == 224 else _official_at(
        official, model, width, heads, img_size)
    images = torch.randn(2, 3, img_size, img_size)
    with torch.no_grad():
        expected = reference(images)
        logits = ours(images, mode='tensor')
    assert expected.shape == (2, 1000)
    assert expected.abs().max() > 1  # not a degenerate comparison
    assert (logits - expected).abs().max() <= LOGIT_ATOL


def test_round_trip_gives_identical_tensors(official):
    model = official_classifier(official, 384, 6)
    original = model.state_dict()
    back = mmpretrain_to_official_ft(official_ft_to_mmpretrain(original))
    assert list(back) == list(original)
    for key, value in original.items():
        assert torch.equal(back[key], value), key
    fresh = official_classifier(official, 384, 6, seed=1)
    fresh.load_state_dict(back, strict=True)


def test_deepspeed_module_key_and_arch(official, tmp_path):
    model = official_classifier(official, 384, 6, depth=3, num_classes=10)
    path = tmp_path / 'mp_rank_00_model_states.pt'
    save_official(model, path, key='module')
    state = load_official_finetune(str(path))
    assert set(state) == set(model.state_dict())
    arch = official_finetune_arch(state)
    assert (arch.embed_dims, arch.num_layers, arch.num_heads,
            arch.feedforward_channels, arch.grid, arch.patch_size,
            arch.num_classes) == (384, 3, 6, 1536, (14, 14), 16, 10)
    assert arch.img_size == 224
    assert arch.config.endswith('vit-s_ft-100e.py')


def test_resized_index_equals_official(official):
    """The index written for 384 is the official 384 model's buffer."""
    model = official_classifier(official, 384, 6)
    state = official_ft_to_mmpretrain(model.state_dict(), img_size=384)
    expected = official_classifier(official, 384, 6, img_size=384)
    index = expected.state_dict()['blocks.1.attn.relative_position_index']
    assert torch.equal(
        state['backbone.layers.1.attn.relative_position_index'], index)
    assert state['backbone.layers.1.attn.relative_position_bias_table'] \
        .shape == (47 * 47 + 3, 6)


def test_not_a_finetuned_checkpoint_is_a_one_line_error(tmp_path):
    pretrain = {
        'model': {
            'cls_token': torch.zeros(1, 1, 8),
            'patch_embed.proj.weight': torch.zeros(8, 3, 16, 16),
            'blocks.0.attn.qkv.weight': torch.zeros(24, 8),
            'rel_pos_bias.relative_position_bias_table': torch.zeros(732, 2)
        }
    }
    path = tmp_path / 'pretrain.pth'
    torch.save(pretrain, str(path))
    with pytest.raises(CheckpointFormatError) as err:
        load_official_finetune(str(path))
    message = str(err.value)
    assert '\n' not in message and str(path) in message
    assert ("missing ['blocks.0.attn.relative_position_bias_table', "
            "'fc_norm.weight', 'head.weight']") in message
    assert 'official2conmim.py' in message
    torch.save({'optimizer': {}}, str(path))
    with pytest.raises(CheckpointFormatError, match="missing \\['cls_token'"):
        load_official_finetune(str(path))


def test_unexpected_keys_are_errors(official):
    state = official_classifier(official, 384, 6).state_dict()
    with pytest.raises(CheckpointFormatError, match="'pos_embed'"):
        official_ft_to_mmpretrain(dict(state, pos_embed=torch.zeros(1)))
    ours = official_ft_to_mmpretrain(state)
    with pytest.raises(CheckpointFormatError, match='no head.fc.weight'):
        mmpretrain_to_official_ft(
            {k: v for k, v in ours.items() if not k.startswith('head.')})


def test_other_pickled_objects_are_refused(tmp_path):
    path = tmp_path / 'unsafe.pth'
    torch.save({'model': {}, 'hook': print}, str(path))
    with pytest.raises(UnsafeCheckpointError, match='print'):
        load_official_finetune(str(path))
