"""[CLS]-to-patch attention maps of a ConMIM or fine-tuned BEiT ViT.

Writes one PNG per image into --out: the input, then the attention of the
[CLS] token to the patches in one block (the last by default), relative
position bias included, averaged over the heads (--per-head: one panel per
head), upsampled and overlaid; with --compare, a third column from a second
model, as in the paper's figure. Runs on CPU.

Example:
    .venv/bin/python tools/analysis_tools/visualize_attention.py \
        configs/conmim/vit-b_800e.py work_dirs/vit-b_800e/epoch_800.pth \
        cat.jpg dog.jpg --out attention/
"""
import argparse
import os
import os.path as osp
import warnings

# before OpenMMLab is imported: mmcv-lite's notice that it has no compiled
# deformable attention (unused here); the other filters: quiet_tool()
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from conmim_mm.analysis.attention import (  # noqa: E402
    AttentionModel, render_attention)
from conmim_mm.launch import quiet_tool, run_cli  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint of that model')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--weights',
        choices=['teacher', 'student'],
        default='teacher',
        help='backbone of a ConMIM checkpoint (default: teacher)')
    parser.add_argument(
        '--layer', type=int, default=-1, help='block index (default: last)')
    parser.add_argument(
        '--per-head', action='store_true', help='one panel per head')
    parser.add_argument(
        '--compare',
        nargs=2,
        metavar=('CONFIG2', 'CHECKPOINT2'),
        help='a second model for a third column')
    parser.add_argument(
        '--size', type=int, default=224, help='displayed image side')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    models = [AttentionModel(args.config, args.checkpoint, args.weights)]
    if args.compare:
        models.append(AttentionModel(*args.compare, weights=args.weights))
    os.makedirs(args.out, exist_ok=True)
    for path in args.images:
        try:
            image = np.asarray(Image.open(path).convert('RGB'))
        except (OSError, UnidentifiedImageError):
            raise FileNotFoundError(f'cannot read image {path}') from None
        maps = [model.maps(image, args.layer) for model in models]
        shown = cv2.resize(image, (args.size, args.size),
                           interpolation=cv2.INTER_AREA)
        figure = render_attention(shown, maps, args.per_head)
        name = osp.splitext(osp.basename(path))[0] + '_attention.png'
        out = osp.join(args.out, name)
        cv2.imwrite(out, cv2.cvtColor(figure, cv2.COLOR_RGB2BGR))
        print(out)


if __name__ == '__main__':
    quiet_tool()
    run_cli(main)
