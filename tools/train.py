"""Train a model from a config of any scope (mmpretrain, mmseg, mmdet).

Builds the runner mmpretrain's ``tools/train.py`` (or ``mim train``) builds
from the same config and flags. What it adds is what only a command line
can do, each said in one log line: ``--resume auto`` skips a truncated
checkpoint, ``--auto-scale-lr`` counts gradient accumulation, distributed
runs on CPUs use gloo, config mistakes and bad input are one ``error:`` line,
a NaN/Inf saves the last good state, annotation lists are checked before
the first iteration, and the log leaves out library notices.

Example:
    .venv/bin/python tools/train.py configs/conmim/vit-b_800e.py
"""
import argparse
import warnings

# First, before OpenMMLab is imported: mmcv-lite (the default level) warns at
# import that it has no compiled deformable attention, which no config here
# uses. The tool's other filters: quiet_tool() (conmim_mm.quiet).
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)

from mmengine.config import Config, DictAction  # noqa: E402

from conmim_mm.config_check import check_pretrained_checkpoint  # noqa: E402
from conmim_mm.launch import (  # noqa: E402
    build, check_checkpoint, enable_amp, load_config, quiet_tool, run_cli,
    set_auto_scale_lr, set_launcher, set_resume, set_work_dir, train)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a path, from the '
        'latest complete checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision training (for configs with an fp32 optimizer '
        'wrapper; the ConMIM configs use it already)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by total batch / auto_scale_lr.base_batch_size '
        '(total batch = processes x per-process batch x '
        'optim_wrapper.accumulative_counts)')
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
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of every failure instead of one error line '
        '(as does CONMIM_DEBUG=1)')
    return parser.parse_args()


def config_from_args(args: argparse.Namespace) -> Config:
    """The config to run: the file, ``--cfg-options`` and what the flags
    add (each said in one line).

    Args:
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        Config: The config the runner is built from (and dumps).
    """
    cfg = load_config(args.config, args.cfg_options)
    set_work_dir(cfg, args.work_dir)
    set_launcher(cfg, args.launcher)
    if args.amp:
        enable_amp(cfg)
    set_auto_scale_lr(cfg, args.auto_scale_lr)
    set_resume(cfg, args.resume)
    return cfg


def main(args: argparse.Namespace) -> None:
    cfg = config_from_args(args)
    check_checkpoint(cfg.get('load_from'))
    check_pretrained_checkpoint(cfg)
    train(build(cfg), cfg.get('check_listed_files', True))


if __name__ == '__main__':
    quiet_tool()
    args = parse_args()
    run_cli(lambda: main(args), args.debug)
