"""The ConMIM models in mmpretrain's model zoo (a source checkout)."""
import cv2
import numpy as np
import pytest
import torch

import conmim_mm  # noqa: F401 (registers the model zoo with mmpretrain)

PRETRAINING = {
    'conmim_vit-small-p16_8xb256-amp-coslr-300e_in1k',
    'conmim_vit-base-p16_8xb256-amp-coslr-300e_in1k',
    'conmim_vit-base-p16_8xb256-amp-coslr-800e_in1k',
    'conmim_vit-large-p16_32xb64-amp-coslr-400e_in1k',
    'conmim_vit-large-p16_32xb64-amp-coslr-800e_in1k',
    'conmim_vit-large-p16_32xb64-amp-coslr-1600e_in1k',
}
#: the released fine-tuned classifiers -> width of the architecture
FINETUNED = {
    'vit-small-p16_conmim-300e-pre_8xb128-coslr-100e_in1k': 384,
    'vit-base-p16_conmim-800e-pre_8xb128-coslr-100e_in1k': 768,
    'vit-large-p16_conmim-800e-pre_8xb128-coslr-100e_in1k': 1024,
    'vit-large-p16_conmim-1600e-pre_8xb128-coslr-100e_in1k': 1024,
}
SMALL = 'vit-small-p16_conmim-300e-pre_8xb128-coslr-100e_in1k'


def test_model_zoo_lists_and_builds(tmp_path):
    import mmpretrain
    names = mmpretrain.list_models('*conmim*')
    assert set(names) == PRETRAINING | set(FINETUNED)
    name = 'conmim_vit-small-p16_8xb256-amp-coslr-300e_in1k'
    model = mmpretrain.get_model(name)
    state = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    path = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': state}, path)
    loaded = mmpretrain.get_model(name, pretrained=path)
    assert torch.all(loaded.teacher.backbone.cls_token == 0.5)
    assert loaded.backbone.cls_token.shape == (1, 1, 384)


def test_finetuned_entries_name_their_size_and_source():
    from mmpretrain.apis import ModelHub
    from mmpretrain.models.backbones import BEiTViT
    for name, width in FINETUNED.items():
        info = ModelHub.get(name)
        arch = BEiTViT.arch_zoo[info.config.model.backbone.arch]
        assert arch['embed_dims'] == width, name
        assert info.config.model.head.in_channels == width, name
        assert info.config.model.backbone.out_type == 'avg_featmap', name
        source = info.data['Converted From']
        assert source['Weights'].startswith('https://drive.google.com/')
        assert source['Code'] == 'https://github.com/TencentARC/ConMIM'


@pytest.fixture(scope='module')
def released_vit_s(tmp_path_factory):
    """A random official ViT-S/16 classifier (the stand-in's layout),
    converted as the README says; (official model, converted file)."""
    from finetune_official import (STANDIN, official_classifier,
                                   save_official)
    from official_code import import_official_finetune

    from conmim_mm.checkpoints import (load_official_finetune,
                                       official_ft_to_mmpretrain)
    official = import_official_finetune(STANDIN)
    model = official_classifier(official, 384, 6, depth=12)
    folder = tmp_path_factory.mktemp('released')
    save_official(model, folder / 'official.pth')
    state = official_ft_to_mmpretrain(
        load_official_finetune(str(folder / 'official.pth')))
    torch.save({'state_dict': state, 'meta': {}}, str(folder / 'ours.pth'))
    return model, str(folder / 'ours.pth')


def _image(folder) -> str:
    path = str(folder / 'own_image.jpg')
    rng = np.random.default_rng(0)
    cv2.imwrite(path, rng.integers(0, 256, (300, 260, 3), dtype=np.uint8))
    return path


def test_get_model_and_inferencer_give_the_official_output(
        released_vit_s, tmp_path):
    import mmpretrain
    from finetune_official import preprocess
    from mmpretrain.apis import ImageClassificationInferencer, ModelHub
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    official, path = released_vit_s
    model = mmpretrain.get_model(SMALL, pretrained=path)
    image = _image(tmp_path)
    inputs = preprocess(ModelHub.get(SMALL).config, image)
    assert inputs.shape == (1, 3, 224, 224)
    with torch.no_grad():
        expected = official(inputs)
        logits = model(inputs, mode='tensor')
    assert (logits - expected).abs().max() <= 1e-5
    assert expected.abs().max() > 1

    result = ImageClassificationInferencer(SMALL, pretrained=path)(image)[0]
    scores = torch.as_tensor(result['pred_scores'])
    assert (scores - expected[0].softmax(-1)).abs().max() <= 1e-6
    label = int(expected[0].argmax())
    assert result['pred_label'] == label
    assert result['pred_class'] == IMAGENET_CATEGORIES[label]
