"""Write the official ConMIM reference values for tests/test_parity.py.

Runs one training iteration of the *official* code on CPU in fp32
(``tests/helpers/parity.official_step``: the model, data, mask and optimizer
settings are described there) and saves the initial weights (official key
names), the inputs, the mask, the loss, the student gradients and the
weights after the step and the teacher update. The official code is not part
of this project: check it out anywhere and point this script at it (timm 1.x
must be importable):

    git clone https://github.com/TencentARC/ConMIM /tmp/ConMIM
    PYTHONPATH=tests/helpers:tools/analysis_tools .venv/bin/python \
        tests/data/parity/make_official_reference.py \
        /tmp/ConMIM tests/data/parity/official_reference.pth
"""
import sys

import torch

from official_code import import_official_code
from parity import official_step


def main(official_root: str, out: str) -> None:
    reference = official_step(import_official_code(official_root))
    torch.save(reference, out)
    print(f'official loss {reference["loss"].item():.6f} -> {out}')


if __name__ == '__main__':
    main(*sys.argv[1:3])
