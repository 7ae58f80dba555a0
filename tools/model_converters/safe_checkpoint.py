"""Rewrite a checkpoint written by plain mmengine so it loads weights-only.

mmengine 0.10.7 pickles its MessageHub (HistoryBuffer objects, numpy values)
into runner checkpoints, which torch >= 2.6 refuses to load by default.
Checkpoints written through conmim_mm's tools are already plain; use this once
for checkpoints from elsewhere (e.g. mmpretrain's own tools/train.py).

Example:
    .venv/bin/python tools/model_converters/safe_checkpoint.py old.pth new.pth
"""
import argparse

from conmim_mm.checkpoints import convert_mmengine_checkpoint
from conmim_mm.launch import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint written by mmengine')
    parser.add_argument('dst', help='output checkpoint (plain data)')
    args = parser.parse_args()
    checkpoint = convert_mmengine_checkpoint(args.src, args.dst)
    print(f'wrote {args.dst} ({", ".join(sorted(checkpoint))})')


if __name__ == '__main__':
    run_cli(main)
