"""Convert a fine-tuned mmpretrain classifier to the official ConMIM layout.

The inverse of ``official_ft2mmpretrain.py``: reads a checkpoint of the
classifier of ``configs/downstream/imagenet/vit-*_ft-100e.py`` (written by
``tools/train.py`` or by the forward converter), weights only, and writes
``{'model': state_dict}``, which the official ``modeling_finetune``
``VisionTransformer`` loads strictly (e.g. ``run_class_finetuning.py --eval
--finetune OUT``).

Example:
    .venv/bin/python tools/model_converters/mmpretrain2official_ft.py \
        work_dirs/vit-b_ft-100e/epoch_100.pth checkpoint-official.pth
"""
import argparse

from conmim_mm.checkpoints import (load_checkpoint_file,
                                   mmpretrain_to_official_ft,
                                   save_checkpoint_file)
from conmim_mm.launch import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='mmpretrain classifier checkpoint')
    parser.add_argument('out', help='output official checkpoint')
    args = parser.parse_args()

    checkpoint = load_checkpoint_file(args.checkpoint, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else {}
    official = mmpretrain_to_official_ft(state)
    save_checkpoint_file({'model': official}, args.out)
    print(f'wrote {args.out}: {len(official)} tensors')


if __name__ == '__main__':
    run_cli(main)
