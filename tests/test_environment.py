"""The pinned OpenMMLab stack works: imports, base configs and, on the full
stack (``full_stack``), compiled mmcv ops, mmseg and mmdet."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config


def _pins() -> dict:
    """``name: version`` of requirements/constraints.txt."""
    pins = {}
    with open(osp.join(osp.dirname(__file__), '..', 'requirements',
                       'constraints.txt')) as f:
        for line in f:
            if '==' in line and not line.startswith('#'):
                name, version = line.strip().split('==')
                pins[name] = version
    return pins


def test_versions_are_the_pinned_ones():
    import mmcv
    import mmengine
    import mmpretrain
    pins = _pins()
    assert mmcv.__version__ == pins['mmcv'] == pins['mmcv-lite']
    assert mmengine.__version__ == pins['mmengine']
    assert mmpretrain.__version__ == pins['mmpretrain']
    assert np.__version__ == pins['numpy']
    assert int(np.__version__.split('.')[0]) < 2


@pytest.mark.full_stack
def test_full_stack_versions_are_the_pinned_ones():
    import mmdet
    import mmseg
    pins = _pins()
    assert mmseg.__version__ == pins['mmsegmentation']
    assert mmdet.__version__ == pins['mmdet']


@pytest.mark.full_stack
def test_nms_suppresses_overlapping_box():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box0, box1) = 81 / 119 = 0.68
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.equal(dets[:, :4], boxes[[0, 2]])
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))
    _, keep = nms(boxes, scores, iou_threshold=0.7)
    assert keep.tolist() == [0, 1, 2]


@pytest.mark.full_stack
def test_roi_align_on_a_ramp():
    """Bilinear sampling of f(y, x) = x is exact: each bin averages x."""
    from mmcv.ops import roi_align
    feat = torch.arange(8.).repeat(8, 1)[None, None]  # (1, 1, 8, 8), f = x
    rois = torch.tensor([[0., 1., 1., 5., 5.]])
    out = roi_align(feat, rois, (2, 2), spatial_scale=1.0, sampling_ratio=2,
                    pool_mode='avg', aligned=True)
    # aligned box [0.5, 4.5]: bins [0.5, 2.5], [2.5, 4.5]; samples at
    # 1.0, 2.0 and 3.0, 4.0 in pixel-centre coordinates -> means 1.5, 3.5
    expected = torch.tensor([[1.5, 3.5], [1.5, 3.5]])
    assert torch.allclose(out[0, 0], expected, atol=1e-6)
    feat.requires_grad_(True)
    roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True).sum().backward()
    assert feat.grad.sum().item() == pytest.approx(4.0)


def test_mmpretrain_models_import_and_register():
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS
    assert MODELS.get('BEiTPretrainViT') is not None


@pytest.mark.full_stack
def test_mmseg_and_mmdet_models_import_and_register():
    import mmdet.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    assert SEG_MODELS.get('UPerHead') is not None
    assert DET_MODELS.get('MaskRCNN') is not None


@pytest.mark.parametrize('base, scope', [
    ('mmpretrain::_base_/default_runtime.py', 'mmpretrain'),
    pytest.param('mmseg::_base_/default_runtime.py', 'mmseg',
                 marks=pytest.mark.full_stack),
    pytest.param('mmdet::_base_/default_runtime.py', 'mmdet',
                 marks=pytest.mark.full_stack),
])
def test_package_base_configs_load(tmp_path, base, scope):
    path = tmp_path / 'cfg.py'
    path.write_text(f"_base_ = '{base}'\nvalue = 1\n")
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == scope
    assert cfg.value == 1


def test_hue_jitter_works_with_pinned_numpy():
    """numpy 2 made mmcv's adjust_hue overflow for negative hue factors."""
    from mmpretrain.datasets.transforms import ColorJitter
    transform = ColorJitter(hue=0.1)
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    for _ in range(30):
        out = transform(dict(img=image.copy()))['img']
        assert out.shape == image.shape and out.dtype == np.uint8
