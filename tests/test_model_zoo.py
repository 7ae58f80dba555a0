"""The ConMIM models in mmpretrain's model zoo (a source checkout)."""
import torch


def test_model_zoo_lists_and_builds(tmp_path):
    import mmpretrain
    names = mmpretrain.list_models('*conmim*')
    assert set(names) == {
        'conmim_vit-small-p16_8xb256-amp-coslr-300e_in1k',
        'conmim_vit-base-p16_8xb256-amp-coslr-300e_in1k',
        'conmim_vit-base-p16_8xb256-amp-coslr-800e_in1k',
        'conmim_vit-large-p16_32xb64-amp-coslr-400e_in1k',
        'conmim_vit-large-p16_32xb64-amp-coslr-800e_in1k',
        'conmim_vit-large-p16_32xb64-amp-coslr-1600e_in1k',
    }
    name = 'conmim_vit-small-p16_8xb256-amp-coslr-300e_in1k'
    model = mmpretrain.get_model(name)
    state = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    path = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': state}, path)
    loaded = mmpretrain.get_model(name, pretrained=path)
    assert torch.all(loaded.teacher.backbone.cls_token == 0.5)
    assert loaded.backbone.cls_token.shape == (1, 1, 384)
