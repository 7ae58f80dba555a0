"""Export the backbone of a ConMIM pre-training checkpoint for fine-tuning.

Takes the teacher backbone (the official recipe fine-tunes the momentum copy;
--student for the student), drops projector, mask token and final norm, and
writes a tensors-only checkpoint in the layout of mmpretrain's BEiTViT
(``backbone.*``), mmseg's BEiT, or timm's Beit (strict-loadable by
``timm.create_model('beit_base_patch16_224', num_classes=0)``; ViT-S:
``timm.create_model('beit_base_patch16_224', num_classes=0, embed_dim=384,
num_heads=6)``). --img-size resizes the relative position tables (torch
bicubic) for another input size, e.g. 512 for ADE20K.

Example:
    .venv/bin/python tools/model_converters/extract_backbone.py \
        work_dirs/vit-b_800e/epoch_800.pth vit-b_timm.pth --layout timm
"""
import argparse

from conmim_mm.checkpoints import (LAYOUTS, export_backbone,
                                   load_checkpoint_file, save_checkpoint_file)
from conmim_mm.launch import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='ConMIM pre-training checkpoint')
    parser.add_argument('out', help='output file')
    parser.add_argument(
        '--student', action='store_true', help='export the student')
    parser.add_argument('--layout', choices=LAYOUTS, default='mmpretrain')
    parser.add_argument(
        '--img-size', type=int, help='fine-tuning input size (square)')
    parser.add_argument('--patch-size', type=int, default=16)
    args = parser.parse_args()

    checkpoint = load_checkpoint_file(args.checkpoint, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    grid = None
    if args.img_size:
        if args.img_size % args.patch_size:
            parser.error(f'--img-size {args.img_size} is not a multiple of '
                         f'--patch-size {args.patch_size}')
        grid = (args.img_size // args.patch_size, ) * 2
    exported = export_backbone(state, args.layout, args.student, grid)
    save_checkpoint_file({'state_dict': exported} if args.layout != 'timm'
                         else exported, args.out)
    source = 'student' if args.student else 'teacher'
    print(f'wrote {args.out}: {len(exported)} tensors of the {source} '
          f'backbone, {args.layout} layout')


if __name__ == '__main__':
    run_cli(main)
