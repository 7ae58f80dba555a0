"""Evaluate a checkpoint with a config of any scope (mmpretrain, mmseg, mmdet).

Example:
    .venv/bin/python tools/test.py CONFIG work_dirs/x/iter_1000.pth
"""
import argparse
import warnings

# First, before OpenMMLab is imported: mmcv-lite (the default level) warns at
# import that it has no compiled deformable attention, which no config here
# uses. The tool's other filters: quiet_tool() (conmim_mm.quiet).
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)

from mmengine.config import DictAction  # noqa: E402

from conmim_mm.launch import (  # noqa: E402
    build, check_checkpoint, load_config, quiet_tool, run_cli, set_launcher,
    set_work_dir, test)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (xxx=yyy)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of every failure instead of one error line '
        '(as does CONMIM_DEBUG=1)')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    check_checkpoint(args.checkpoint)
    cfg = load_config(args.config, args.cfg_options)
    set_work_dir(cfg, args.work_dir)
    set_launcher(cfg, args.launcher)
    cfg.load_from = args.checkpoint
    test(build(cfg))


if __name__ == '__main__':
    quiet_tool()
    args = parse_args()
    run_cli(lambda: main(args), args.debug)
