"""Digit scenes for the dense tasks: deterministic, disjoint by split, and
labels that agree with the ink."""
import itertools
import json
import os

import numpy as np
import pytest
from PIL import Image

from conmim_mm.analysis.transfer import BenchmarkData
from conmim_mm.analysis.transfer.scenes import (BACKGROUND, DET_CLASSES,
                                                SEG_CLASSES, SceneRules,
                                                compose_scenes, ink_box,
                                                overlap, uncompressed_rle,
                                                write_scenes)

NUM_SCENES = dict(train=12, val=6, test=6)
RULES = SceneRules()


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> BenchmarkData:
    """Ten classes of 28 px grey rings, two per class and part, the part in
    the file name (``<class>/<part>_<i>.png``)."""
    root = tmp_path_factory.mktemp('digits')
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    parts = {part: [] for part in ('train', 'val', 'test')}
    for label, part, i in itertools.product(range(10), parts, range(2)):
        (cx, cy), (rx, ry) = rng.uniform(12, 16, 2), rng.uniform(4, 10, 2)
        radius = np.hypot((xx - cx) / rx, (yy - cy) / ry)
        ink = np.clip(1.5 - 4 * abs(radius - 1), 0, 1) * 255
        path = f'{label}/{part}_{i}.png'
        (root / str(label)).mkdir(exist_ok=True)
        Image.fromarray(ink.astype(np.uint8)).save(root / path)
        parts[part].append((path, label))
    return BenchmarkData(str(root), [str(c) for c in range(10)],
                         {part: sorted(s) for part, s in parts.items()},
                         str(root / 'meta'))


@pytest.fixture(scope='module')
def folder(digits, tmp_path_factory):
    """The scenes of seed 0, written."""
    return write_scenes(digits, str(tmp_path_factory.mktemp('scenes')),
                        NUM_SCENES, seed=0)


def files(root) -> dict:
    """Path relative to root -> bytes, of every file under root."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, 'rb') as file:
                found[os.path.relpath(path, root)] = file.read()
    return found


def load_json(path) -> dict:
    with open(path) as file:
        return json.load(file)


def decode(rle: dict) -> np.ndarray:
    """A mask from uncompressed RLE (runs in column-major order, zeros
    first)."""
    runs = np.repeat(np.arange(len(rle['counts'])) % 2, rle['counts'])
    return runs.astype(bool).reshape(rle['size'], order='F')


def test_boxes_and_their_overlap():
    mask = np.zeros((6, 8), bool)
    mask[1:3, 2:5] = mask[4, 6] = True
    assert ink_box(mask) == (2, 1, 7, 5)
    assert ink_box(np.zeros((3, 3), bool)) == (0, 0, 0, 0)
    # 2 x 2 shared by a 4 x 4 box and a 2 x 8 one: 4 of the smaller's 16
    assert overlap((0, 0, 4, 4), (2, 2, 10, 4)) == 0.25
    assert overlap((0, 0, 4, 4), (4, 0, 8, 4)) == 0.0
    assert overlap((0, 0, 4, 4), (0, 0, 0, 0)) == 0.0


def test_masks_as_uncompressed_rle():
    mask = np.zeros((3, 4), bool)
    mask[0, 0] = mask[1:, 2] = True
    # column-major: 1 | 0 0 0 0 0 0 | 1 1 | 0 0 0
    assert uncompressed_rle(mask) == dict(size=[3, 4], counts=[0, 1, 6, 2, 3])
    assert (decode(uncompressed_rle(mask)) == mask).all()
    assert uncompressed_rle(~mask)['counts'] == [1, 6, 2, 3]


def test_files_and_classes(folder):
    assert SEG_CLASSES == tuple('0123456789') + ('background', )
    assert BACKGROUND == 10 and DET_CLASSES == tuple('0123456789')
    for part, count in NUM_SCENES.items():
        names = [f'{i:05d}.png' for i in range(count)]
        assert sorted(os.listdir(folder.img_dir(part))) == names
        assert sorted(os.listdir(folder.ann_dir(part))) == names
        coco = load_json(folder.ann_file(part))
        assert [image['file_name'] for image in coco['images']] == names
        assert coco['categories'] == [
            dict(id=d + 1, name=str(d)) for d in range(10)]
        assert [a['id'] for a in coco['annotations']] == list(
            range(1, len(coco['annotations']) + 1))
        with Image.open(os.path.join(folder.img_dir(part), names[0])) as im:
            assert (im.mode, im.size) == ('RGB', (64, 64))
        with Image.open(os.path.join(folder.ann_dir(part), names[0])) as im:
            assert (im.mode, im.size) == ('L', (64, 64))


def test_same_seed_same_files_other_seed_other_files(digits, folder,
                                                     tmp_path):
    written = files(folder.root)
    assert len(written) == 2 * sum(NUM_SCENES.values()) + 3 + 1
    again = write_scenes(digits, str(tmp_path / 'again'), NUM_SCENES, 0)
    assert files(again.root) == written
    other = files(
        write_scenes(digits, str(tmp_path / 'other'), NUM_SCENES, 1).root)
    assert other.keys() == written.keys()
    changed = [path for path in written if other[path] != written[path]]
    # every image and every json (the spec's seed included)
    assert len(changed) == len(written)


def test_smaller_budgets_are_prefixes(digits):
    few = compose_scenes(digits, 'train', 3, seed=0)
    many = compose_scenes(digits, 'train', 12, seed=0)
    for scene, same in zip(few, many):
        assert (scene.image == same.image).all()
        assert [d.source for d in scene.digits] == [
            d.source for d in same.digits]


def test_each_part_uses_its_own_digits(digits, folder):
    for part in NUM_SCENES:
        coco = load_json(folder.ann_file(part))
        own = {path for path, _ in digits.parts[part]}
        sources = {image['id']: image['sources'] for image in coco['images']}
        used = set().union(*sources.values())
        assert used <= own and all(p.split('/')[1].startswith(part)
                                   for p in used)
        # 24 draws of 2-4 digits over 20 files: most files are used
        assert len(used) >= 10
        for ann in coco['annotations']:
            assert ann['source'] in sources[ann['image_id']]
            assert int(ann['source'].split('/')[0]) == ann['category_id'] - 1


def test_labels_agree_with_the_ink(digits, folder):
    instances = 0
    for part, count in NUM_SCENES.items():
        coco = load_json(folder.ann_file(part))
        scenes = compose_scenes(digits, part, count, seed=0)
        for image_info, scene in zip(coco['images'], scenes):
            name = image_info['file_name']
            rgb = np.asarray(Image.open(os.path.join(folder.img_dir(part),
                                                     name)))
            semantic = np.asarray(
                Image.open(os.path.join(folder.ann_dir(part), name)))
            grey = rgb[..., 0]
            assert (rgb == grey[..., None]).all()
            assert (grey == scene.image).all()
            assert (semantic == scene.semantic).all()
            ink = grey >= RULES.threshold
            assert ink.sum() > 0
            assert set(np.unique(semantic)) <= set(range(11))
            assert ((semantic != BACKGROUND) == ink).all()
            anns = [a for a in coco['annotations']
                    if a['image_id'] == image_info['id']]
            assert len(anns) == len(scene.instances) >= 1
            cover = np.zeros(ink.shape, int)
            for ann, digit in zip(anns, scene.instances):
                mask = decode(ann['segmentation'])
                assert (mask == digit.mask).all() and mask.any()
                cover += mask
                assert (semantic[mask] == ann['category_id'] - 1).all()
                x0, y0, x1, y1 = ink_box(mask)
                assert ann['bbox'] == [x0, y0, x1 - x0, y1 - y0]
                assert ann['area'] == mask.sum()
                assert ann['iscrowd'] == 0
                # the visible mask lies in the digit's own ink box
                bx0, by0, bx1, by1 = digit.box
                assert bx0 <= x0 and by0 <= y0 and x1 <= bx1 and y1 <= by1
            # every ink pixel in exactly one mask, no other pixel in any
            assert (cover == ink).all()
            instances += len(anns)
    assert instances >= 2 * sum(NUM_SCENES.values())


@pytest.mark.parametrize('max_overlap', [RULES.max_overlap, 0.0])
def test_the_overlap_rule(digits, max_overlap):
    rules = SceneRules(max_overlap=max_overlap)
    scenes = compose_scenes(digits, 'train', 12, seed=0, rules=rules)
    counts = [len(scene.digits) for scene in scenes]
    assert min(counts) >= 2 and max(counts) <= 4 and len(set(counts)) == 3
    shares = []
    for scene in scenes:
        for digit in scene.digits:
            x0, y0, x1, y1 = digit.box
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
        shares += [
            overlap(a.box, b.box)
            for a, b in itertools.combinations(scene.digits, 2)
        ]
    assert max(shares) <= max_overlap
    if max_overlap:
        assert max(shares) > 0  # digits do overlap, within the rule


def test_written_once_per_spec(digits, folder, tmp_path):
    out = str(tmp_path / 'scenes')
    first = write_scenes(digits, out, dict(train=4, test=2), seed=0)
    stamps = {path: os.stat(os.path.join(out, path)).st_mtime_ns
              for path in files(out)}
    again = write_scenes(digits, out, dict(train=4, test=2), seed=0)
    assert again == first
    assert {path: os.stat(os.path.join(out, path)).st_mtime_ns
            for path in files(out)} == stamps
    # another spec replaces the files: no scene of the old one is left
    write_scenes(digits, out, dict(train=2), seed=0)
    assert sorted(files(out)) == [
        'ann_dir/train/00000.png', 'ann_dir/train/00001.png',
        'annotations/instances_train.json', 'img_dir/train/00000.png',
        'img_dir/train/00001.png', 'spec.json'
    ]
    assert load_json(os.path.join(out, 'spec.json'))['num_scenes'] == dict(
        train=2)


@pytest.mark.full_stack
def test_read_back_by_mmseg_mmdet_and_pycocotools(folder):
    """mmseg's and mmdet's datasets and transforms read the labels as
    written; pycocotools scores the ground truth as detections 100 %."""
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations as DetAnnotations
    from mmseg.datasets import BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations as SegAnnotations
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = load_json(folder.ann_file('test'))
    seg = BaseSegDataset(
        data_root=folder.root, img_suffix='.png', seg_map_suffix='.png',
        data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
        metainfo=dict(classes=SEG_CLASSES), indices=3,
        pipeline=[LoadImageFromFile(), SegAnnotations()])
    det = CocoDataset(
        data_root=folder.root, ann_file='annotations/instances_test.json',
        data_prefix=dict(img='img_dir/test/'),
        metainfo=dict(classes=DET_CLASSES), indices=3,
        pipeline=[LoadImageFromFile(),
                  DetAnnotations(with_bbox=True, with_mask=True)])
    for index in range(3):
        name = f'{index:05d}.png'
        semantic = np.asarray(
            Image.open(os.path.join(folder.ann_dir('test'), name)))
        loaded = seg[index]
        assert loaded['img'].shape == (64, 64, 3)
        assert (loaded['gt_seg_map'] == semantic).all()
        anns = [a for a in coco['annotations'] if a['image_id'] == index]
        loaded = det[index]
        assert loaded['img_path'].endswith(f'img_dir/test/{name}')
        assert loaded['gt_bboxes_labels'].tolist() == [
            a['category_id'] - 1 for a in anns]
        assert not loaded['gt_ignore_flags'].any()
        boxes = [[x, y, x + w, y + h] for x, y, w, h in
                 (a['bbox'] for a in anns)]
        assert loaded['gt_bboxes'].numpy().tolist() == boxes
        masks = loaded['gt_masks'].to_ndarray()
        assert (masks == [decode(a['segmentation']) for a in anns]).all()

    truth = COCO(folder.ann_file('test'))
    for kind in ('bbox', 'segm'):
        detections = truth.loadRes(
            [dict(a, score=1.0) for a in coco['annotations']])
        evaluation = COCOeval(truth, detections, kind)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        assert evaluation.stats[0] == pytest.approx(1.0)
