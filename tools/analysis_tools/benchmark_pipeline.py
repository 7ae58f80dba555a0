"""Images/s of a config's pre-training data pipeline in one process.

Runs the full two-view pipeline of ``train_dataloader.dataset.pipeline``
(decode, shared flip and crop, teacher-view colour noise, mask, packing) on
real JPEG files, in this one process as a dataloader worker would, so that
``num_workers`` can be sized: a GPU step of S seconds on batch B needs about
``B / S / img_per_s`` workers per GPU. With no ``--folder``, ``--n`` JPEGs
are written to a temporary folder from scikit-image's bundled photographs
(resized to ImageNet's typical 500x375, quality 90).

Example::

    python tools/analysis_tools/benchmark_pipeline.py \
        configs/conmim/vit-b_300e.py --folder data/imagenet/train/n01440764

The last line is ``RESULT img_per_s=<float> ms_per_img=<float>``.
"""
import argparse
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import List

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import conmim_mm  # noqa: F401
from conmim_mm.datasets.sample_photos import PHOTOS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pre-training config')
    parser.add_argument('--n', type=int, default=64,
                        help='images per pass (default 64)')
    parser.add_argument('--passes', type=int, default=3,
                        help='timed passes; the median is reported')
    parser.add_argument('--folder', default=None,
                        help='your images (searched recursively); default: '
                        'JPEGs written from scikit-image photos')
    return parser.parse_args()


def write_sample_jpegs(folder: str, count: int) -> List[str]:
    """Write ``count`` 500x375 JPEGs cut from scikit-image's photographs."""
    import skimage
    data = osp.join(osp.dirname(skimage.__file__), 'data')
    photos = [cv2.imread(osp.join(data, name), cv2.IMREAD_COLOR)
              for name in PHOTOS]
    photos = [p for p in photos if p is not None]
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        photo = cv2.resize(photos[i % len(photos)], (500, 375),
                           interpolation=cv2.INTER_AREA)
        if i >= len(photos):  # distinct files, not cache-identical copies
            photo = np.roll(photo, int(rng.integers(1, 500)), axis=1)
        path = osp.join(folder, f'{i:05d}.jpg')
        cv2.imwrite(path, photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def find_images(folder: str, count: int) -> List[str]:
    """Up to ``count`` image files under ``folder``, sorted."""
    if not osp.isdir(folder):
        raise SystemExit(f'error: --folder {folder} is not a directory')
    paths = []
    for root, _, files in sorted(os.walk(folder)):
        paths += [osp.join(root, f) for f in sorted(files)
                  if f.lower().endswith(IMAGE_EXTENSIONS)]
        if len(paths) >= count:
            break
    if not paths:
        raise SystemExit(f'error: no images ({", ".join(IMAGE_EXTENSIONS)}) '
                         f'under {folder}')
    return paths[:count]


def time_pipeline(pipeline: Compose, paths: List[str], passes: int) -> float:
    """Median seconds per image over ``passes`` passes (one untimed first)."""
    per_image = []
    for index in range(passes + 1):
        start = time.perf_counter()
        for path in paths:
            packed = pipeline(dict(img_path=path))
            assert packed is not None, path
        if index:  # the first pass warms the file cache and imports
            per_image.append((time.perf_counter() - start) / len(paths))
    return statistics.median(per_image)


def main() -> None:
    args = parse_args()
    if args.n < 1 or args.passes < 1:
        raise SystemExit('error: --n and --passes must be >= 1')
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    with tempfile.TemporaryDirectory() as tmp:
        if args.folder:
            paths = find_images(args.folder, args.n)
            source = args.folder
        else:
            paths = write_sample_jpegs(tmp, args.n)
            source = 'scikit-image photos as 500x375 JPEGs'
        seconds = time_pipeline(pipeline, paths, args.passes)
        packed = pipeline(dict(img_path=paths[0]))
    views = ' + '.join(
        'x'.join(map(str, v.shape)) for v in packed['inputs'])
    print(f'{args.config}: {len(paths)} images ({source}), views {views}, '
          f'mask {tuple(packed["data_samples"].mask.shape)}')
    print(f'{1 / seconds:.1f} images/s per worker process '
          f'({1000 * seconds:.2f} ms per image)')
    print(f'RESULT img_per_s={1 / seconds:.4f} '
          f'ms_per_img={1000 * seconds:.4f}')


if __name__ == '__main__':
    main()
