"""The configs/conmim/README.md recipe for an unlabelled image folder."""
import os.path as osp

from common import ROOT


def test_unlabelled_image_folder_recipe(image_folder):
    """The configs/conmim/README.md recipe reads a plain image folder."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(
        osp.join(ROOT, 'tests', 'data', 'configs', 'conmim_image_folder.py'))
    cfg.train_dataloader.dataset.data_root = image_folder
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 32
    sample = dataset[0]
    assert [v.shape for v in sample['inputs']] == [(3, 224, 224)] * 2
    assert sample['data_samples'].mask.sum() == 148
