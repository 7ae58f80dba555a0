"""[CLS] attention maps: the numbers, and the visualisation tool."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from PIL import Image

from common import (BACKGROUND, DEMO, ROOT, background_run, build_conmim,
                    run_script)
from conmim_mm.analysis import cls_attention, render_attention


def _hand_set_backbone():
    """1 block, width 8, 2 heads of 4, 32x32 input, 8-pixel patches.

    Token channel 0 = mean pixel value of its patch; q = 1 for every token
    (bias only); k channel 0 of each head = 5 * LayerNorm(token)[0]; no
    relative position bias. So the [CLS] logit to token t is
    0.5 * 5 * LN(t)[0] (0.5 = 4 ** -0.5).
    """
    init_default_scope('mmpretrain')
    backbone = MODELS.build(
        dict(
            type='BEiTViT',
            arch=dict(
                embed_dims=8, num_layers=1, num_heads=2,
                feedforward_channels=16),
            img_size=32,
            patch_size=8))
    with torch.no_grad():
        for param in backbone.parameters():
            param.zero_()
        for layer_norm in (backbone.layers[0].ln1, backbone.layers[0].ln2):
            layer_norm.weight.fill_(1)
        backbone.patch_embed.projection.weight[0].fill_(1 / (3 * 8 * 8))
        backbone.cls_token[0, 0, 1] = 1
        attn = backbone.layers[0].attn
        attn.q_bias.fill_(1)
        attn.qkv.weight[8 + 0, 0] = 5  # head 0, k dim 0
        attn.qkv.weight[8 + 4, 0] = 5  # head 1, k dim 0
    backbone.eval()
    return backbone


def _layer_norm_first(vector: torch.Tensor) -> float:
    """LayerNorm(vector)[0] by hand (eps 1e-6, weight 1, bias 0)."""
    mean = vector.mean()
    var = ((vector - mean)**2).mean()
    return ((vector[0] - mean) / math.sqrt(var + 1e-6)).item()


def test_attention_equals_hand_computation():
    backbone = _hand_set_backbone()
    image = torch.zeros(1, 3, 32, 32)
    image[:, :, 8:16, 16:24] = 1.0  # patch (row 1, col 2) is bright
    maps = cls_attention(backbone, image)
    assert maps.shape == (1, 2, 4, 4)

    bright = torch.zeros(8)
    bright[0] = 1
    cls = torch.zeros(8)
    cls[1] = 1
    logit_bright = 0.5 * 5 * _layer_norm_first(bright)
    logit_cls = 0.5 * 5 * _layer_norm_first(cls)
    denominator = math.exp(logit_bright) + 15 * math.exp(0) + math.exp(
        logit_cls)
    expected = torch.full((4, 4), 1 / denominator)
    expected[1, 2] = math.exp(logit_bright) / denominator
    for head in range(2):
        assert torch.allclose(maps[0, head], expected, atol=1e-6)
    # the [CLS] row sums to 1 with its own entry
    assert maps[0, 0].sum().item() + math.exp(logit_cls) / denominator == \
        pytest.approx(1.0, abs=1e-6)
    assert divmod(maps[0].mean(0).argmax().item(), 4) == (1, 2)


def test_render_has_one_panel_per_map_or_head():
    image = np.zeros((32, 48, 3), np.uint8)
    maps = [torch.rand(2, 4, 6), torch.rand(2, 4, 6)]
    assert render_attention(image, maps).shape == (32, 48 * 3, 3)
    assert render_attention(image, maps[:1], per_head=True).shape == \
        (32, 48 * 3, 3)
    with pytest.raises(ValueError, match='layer must be in'):
        cls_attention(_hand_set_backbone(), torch.zeros(1, 3, 32, 32), 3)


def _tiny_checkpoint():
    """A folder with a ConMIM checkpoint of the demo config's model (random
    weights of torch.manual_seed(0)) and two photos, made once."""
    folder = BACKGROUND.work_dir('attention_checkpoint')
    if not (folder / 'conmim.pth').exists():
        from mmengine.config import Config
        cfg = Config.fromfile(DEMO)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = build_conmim(cfg)
        torch.save({'state_dict': model.state_dict()},
                   str(folder / 'conmim.pth'))
        for i, size in enumerate([(40, 70), (128, 96)]):
            rng = np.random.default_rng(i)
            Image.fromarray(rng.integers(0, 256, (*size, 3), np.uint8)).save(
                str(folder / f'image{i}.png'))
    return folder


@pytest.fixture(scope='module')
def tiny_checkpoint():
    return _tiny_checkpoint()


@background_run()
def attention_tool_run(work_dir):
    """The tool on both photos, 96 px, next to the same model's maps."""
    folder = _tiny_checkpoint()
    checkpoint = str(folder / 'conmim.pth')
    return [
        'tools/analysis_tools/visualize_attention.py', DEMO, checkpoint,
        *[str(folder / f'image{i}.png') for i in range(2)], '--out',
        str(work_dir), '--size', '96', '--compare', DEMO, checkpoint
    ], {}


def test_tool_writes_pngs(tiny_checkpoint, attention_tool_run, tmp_path):
    demo = DEMO
    images = [str(tiny_checkpoint / f'image{i}.png') for i in range(2)]
    checkpoint = str(tiny_checkpoint / 'conmim.pth')
    result = attention_tool_run.result
    written = result.stdout.split()
    assert written == [str(attention_tool_run.work_dir /
                           f'image{i}_attention.png') for i in range(2)]
    for path in written:
        assert Image.open(path).size == (96 * 3, 96)  # input | map | map
    # again in this process (common.run_script: no new interpreter)
    result = run_script([
        'tools/analysis_tools/visualize_attention.py', demo, checkpoint,
        images[0], '--out', str(tmp_path / 'heads'), '--size', '64',
        '--per-head', '--weights', 'student', '--layer', '0'
    ])
    assert result.returncode == 0, result.stderr[-2000:]
    heads = Image.open(str(tmp_path / 'heads' / 'image0_attention.png'))
    assert heads.size == (64 * 4, 64)  # input + 3 heads


def test_tool_reports_unreadable_image(tiny_checkpoint, tmp_path):
    demo = DEMO
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not an image')
    result = run_script([
        'tools/analysis_tools/visualize_attention.py', demo,
        str(tiny_checkpoint / 'conmim.pth'), str(broken), '--out',
        str(tmp_path)
    ])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == \
        f'error: cannot read image {broken}'


def test_teacher_and_student_weights_are_told_apart(tiny_checkpoint):
    from conmim_mm.analysis.attention import AttentionModel
    demo = DEMO
    state = torch.load(str(tiny_checkpoint / 'conmim.pth'),
                       weights_only=True)['state_dict']
    state = {k: v + 1 if k.startswith('teacher.') and v.is_floating_point()
             else v for k, v in state.items()}
    path = str(tiny_checkpoint / 'shifted.pth')
    torch.save({'state_dict': state}, path)
    teacher = AttentionModel(demo, path, 'teacher').backbone
    student = AttentionModel(demo, path, 'student').backbone
    assert torch.equal(teacher.cls_token,
                       state['teacher.backbone.cls_token'])
    assert torch.equal(student.cls_token, state['backbone.cls_token'])


def test_fine_tuned_classifier_checkpoint(tmp_path):
    """A BEiTViT classifier (mmpretrain ImageClassifier) is read as well."""
    from conmim_mm.analysis.attention import AttentionModel
    from mmengine.config import Config
    config = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_cls.py')
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(config).model)
    path = str(tmp_path / 'classifier.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    attention = AttentionModel(config, path)
    assert attention.size == (32, 32)
    image = np.random.default_rng(0).integers(0, 256, (50, 40, 3), np.uint8)
    maps = attention.maps(image)
    assert maps.shape == (2, 4, 4)
    assert 0 < maps.sum(dim=(1, 2)).max().item() < 1


def test_cls_attention_of_sdpa_backbone():
    """The maps are read from an SDPA backbone (which never forms the
    probabilities) as from the stock one, and the block keeps its class."""
    from conmim_mm.models import SDPABEiTAttention
    from common import tiny_conmim_cfg
    init_default_scope('mmpretrain')
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    torch.manual_seed(0)
    fast = MODELS.build(cfg)
    stock = MODELS.build(dict(cfg, attention='stock'))
    stock.init_weights()
    fast.load_state_dict(stock.state_dict())
    fast.eval()
    stock.eval()
    images = torch.randn(2, 3, 64, 64)
    maps = cls_attention(fast, images)
    assert maps.shape == (2, 2, 4, 4)
    assert torch.allclose(maps, cls_attention(stock, images), atol=1e-6)
    assert type(fast.layers[-1].attn) is SDPABEiTAttention
