"""Convert an official ConMIM fine-tuned classifier for mmpretrain.

Reads a checkpoint of the official ``run_class_finetuning.py`` (one of the
four released ImageNet-1K models, ``model`` or ``module`` key), weights only,
and writes ``{'state_dict', 'meta'}`` that loads strictly into the classifier
of ``configs/downstream/imagenet/vit-{s,b,l}_ft-100e.py`` (the size is read
from the tensors and printed with its config). ``--img-size`` resizes the
relative position tables (torch, bicubic) for another input size; pass the
same size to the config (``model.backbone.img_size``). The reverse is
``mmpretrain2official_ft.py``.

Example:
    .venv/bin/python tools/model_converters/official_ft2mmpretrain.py \
        conmim_vit-b_800e_ft.pth vit-base-p16_conmim-800e-pre_in1k.pth
"""
import argparse

from conmim_mm.checkpoints import (load_official_finetune,
                                   official_finetune_arch,
                                   official_ft_to_mmpretrain,
                                   save_checkpoint_file)
from conmim_mm.launch import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('official', help='official fine-tuned checkpoint')
    parser.add_argument('out', help='output mmpretrain checkpoint')
    parser.add_argument(
        '--img-size', type=int,
        help='input size of the target classifier (default: the '
        "checkpoint's, 224 for the released models)")
    args = parser.parse_args()

    official = load_official_finetune(args.official)
    arch = official_finetune_arch(official)
    state = official_ft_to_mmpretrain(official, args.img_size)
    img_size = args.img_size or arch.img_size
    meta = dict(source=args.official, arch=arch._asdict(), img_size=img_size)
    save_checkpoint_file({'state_dict': state, 'meta': meta}, args.out)
    print(f'wrote {args.out}: {len(state)} tensors; {arch.describe()}')
    if img_size != arch.img_size:
        print(f'relative position tables resized to {img_size}x{img_size}')
    if arch.config:
        print(f'config: {arch.config}' + (
            f' --cfg-options model.backbone.img_size={img_size}'
            if img_size != 224 else ''))


if __name__ == '__main__':
    run_cli(main)
