"""Convert official ConMIM pre-training checkpoints to a conmim_mm checkpoint.

The official code saves the student as ``checkpoint-N.pth`` and the momentum
teacher as ``checkpoint_copy-N.pth``. The output's ``state_dict`` loads
strictly into the model of ``configs/conmim/vit-*.py`` (student and teacher;
the teacher is the student when no teacher file is given, as at the start of
a run). Weights only: the official optimizer state is not converted.

Example:
    .venv/bin/python tools/model_converters/official2conmim.py \
        checkpoint-799.pth --teacher checkpoint_copy-799.pth conmim_vit-b.pth
"""
import argparse

from conmim_mm.checkpoints import (load_checkpoint_file,
                                   official_model_state, official_to_conmim,
                                   save_checkpoint_file)
from conmim_mm.launch import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('student', help='official checkpoint-N.pth')
    parser.add_argument(
        '--teacher', help='official checkpoint_copy-N.pth (momentum copy)')
    parser.add_argument('out', help='output conmim_mm checkpoint')
    args = parser.parse_args()

    student = load_checkpoint_file(args.student, map_location='cpu')
    meta = {'source': args.student}
    if isinstance(student, dict) and 'epoch' in student:
        meta['official_epoch'] = int(student['epoch'])
    teacher = None
    if args.teacher:
        teacher = official_model_state(
            load_checkpoint_file(args.teacher, map_location='cpu'),
            args.teacher)
        meta['teacher_source'] = args.teacher
    state = official_to_conmim(
        official_model_state(student, args.student), teacher)
    save_checkpoint_file({'state_dict': state, 'meta': meta}, args.out)
    print(f'wrote {args.out}: {len(state)} tensors '
          f'(teacher from {args.teacher or "the student"})')


if __name__ == '__main__':
    run_cli(main)
