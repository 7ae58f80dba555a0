"""Convert a conmim_mm ConMIM checkpoint to the official code's two files.

Writes ``OUT_DIR/checkpoint.pth`` (student) and ``OUT_DIR/checkpoint_copy.pth``
(momentum teacher), each ``{'model': state_dict}`` in the official BEiT key
layout, with the official model's unused ``lm_head`` as zeros so the official
code loads them strictly.

Example:
    .venv/bin/python tools/model_converters/conmim2official.py \
        work_dirs/vit-b_800e/epoch_800.pth official/
"""
import argparse
import os
import os.path as osp

from conmim_mm.checkpoints import (conmim_to_official, load_checkpoint_file,
                                   save_checkpoint_file)
from conmim_mm.launch import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='conmim_mm checkpoint')
    parser.add_argument('out_dir', help='output folder')
    args = parser.parse_args()

    checkpoint = load_checkpoint_file(args.checkpoint, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    student, teacher = conmim_to_official(state)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, network in (('checkpoint.pth', student),
                          ('checkpoint_copy.pth', teacher)):
        path = osp.join(args.out_dir, name)
        save_checkpoint_file({'model': network}, path)
        print(f'wrote {path}: {len(network)} tensors')


if __name__ == '__main__':
    run_cli(main)
