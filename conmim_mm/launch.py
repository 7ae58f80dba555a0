"""The command-line glue of ``tools/``: what our tools do around mmengine's
Runner that only a command line can do.

Only the tools import this module. A config is complete on its own (every
hook, wrapper and file backend of a run is in it), so mmpretrain's
``tools/train.py`` builds the same runner from it as ours. What these
functions add to a config (``--amp``, ``--auto-scale-lr``, ``--resume``, a
CPU-only distributed launch) is printed in one line and lands in the config
the runner dumps into its work dir; everything else here checks input,
words failures as one line, or keeps the log quiet.
"""
import glob
import logging
import os
import os.path as osp
import pickle
import sys
import zipfile
from typing import Callable, Optional

import torch
from mmengine.config import Config
from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner, find_latest_checkpoint

from .build_errors import (CONFIG_ERRORS, RUNNER_FIELDS, building,
                           error_message, missing_package)
from .checkpoints import (ATOMIC_BACKEND_ARGS, load_checkpoint_file,
                          unsafe_checkpoint_message, write_atomically)
from .datasets import check_listed_files
from .errors import (CheckpointFormatError, CheckpointWriteError, ConfigError,
                     MissingPackageError, NonFiniteError,
                     UnreadableImageError, UnsafeCheckpointError)
from .quiet import quiet_logger, silence_library_warnings
from .utils import build_runner, load_config

__all__ = [
    'build', 'check_checkpoint', 'enable_amp', 'load_config', 'quiet_tool',
    'run_cli', 'set_auto_scale_lr', 'set_launcher', 'set_resume',
    'set_work_dir', 'test', 'train'
]


def say(message: str) -> None:
    """Print what a tool did to the config, as one log line.

    Args:
        message (str): E.g. ``'--amp: optim_wrapper.type OptimWrapper ->
            PortableAmpOptimWrapper'``.
    """
    print_log(message, logger='current')


def quiet_tool() -> None:
    """A tool's quiet log: ignore the library warnings a user cannot act on
    (:func:`conmim_mm.quiet.silence_library_warnings`), in this process and
    the data-loader workers it forks."""
    silence_library_warnings()


def set_work_dir(cfg: Config, work_dir: Optional[str]) -> None:
    """``--work-dir`` > ``cfg.work_dir`` > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(cfg.filename))[0])


def set_launcher(cfg: Config, launcher: str) -> None:
    """Set the launcher; without CUDA, distribute with gloo on the CPU.

    mmengine initialises the process group with the config's backend (nccl
    by default) after ``torch.cuda.set_device(LOCAL_RANK)``
    (``mmengine/dist/utils.py``, ``_init_dist_pytorch``), and wraps the
    model with ``device_ids=[LOCAL_RANK]``; both need a GPU. On a machine
    without CUDA, a distributed launch sets
    ``env_cfg.dist_cfg.backend='gloo'`` and a wrapper without device ids
    (the config's wrapper if it names one, else mmengine's), says so, and
    (``pytorch`` launcher) starts the gloo process group itself, which
    mmengine then uses. So ``tools/dist_train.sh CONFIG 2`` also runs on
    CPUs. With CUDA, or without a launcher, only ``cfg.launcher`` is set.

    Args:
        cfg (Config): The config, changed in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:  # the config's wrapper (the ConMIM configs'), on the CPU
        cfg.model_wrapper_cfg.setdefault('device_ids', None)
    say(f'--launcher {launcher} without CUDA: env_cfg.dist_cfg.backend='
        f"'gloo', model_wrapper_cfg {cfg.model_wrapper_cfg.type} with "
        'device_ids=None')
    if launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')


#: ``--amp``: the mixed-precision version of each fp32 optimizer wrapper.
#: (``PortableAmpOptimWrapper``: bf16/fp16 on GPUs, fp32 on a CPU)
AMP_WRAPPERS = dict(
    OptimWrapper='PortableAmpOptimWrapper',
    CheckedOptimWrapper='CheckedAmpOptimWrapper')


def enable_amp(cfg: Config) -> None:
    """``--amp``: train with automatic mixed precision.

    An fp32 wrapper becomes its mixed-precision version (:data:`AMP_WRAPPERS`,
    with a dynamic loss scale unless the config sets one); a config that
    already trains with ``AmpOptimWrapper``, ``PortableAmpOptimWrapper`` or
    ``CheckedAmpOptimWrapper`` is kept as it is.

    Args:
        cfg (Config): The config, changed in place.

    Raises:
        ConfigError: For any other ``optim_wrapper.type``.
    """
    optim_wrapper = cfg.optim_wrapper
    kind = optim_wrapper.get('type', 'OptimWrapper')
    if kind in set(AMP_WRAPPERS.values()) | {'AmpOptimWrapper'}:
        return
    if kind not in AMP_WRAPPERS:
        raise ConfigError(
            f'--amp needs optim_wrapper.type {" or ".join(AMP_WRAPPERS)}, '
            f'got {kind}')
    optim_wrapper.type = AMP_WRAPPERS[kind]
    optim_wrapper.setdefault('loss_scale', 'dynamic')
    say(f'--amp: optim_wrapper.type {kind} -> {optim_wrapper.type}, '
        f'loss_scale={optim_wrapper.loss_scale!r}')


def set_auto_scale_lr(cfg: Config, enable: bool) -> None:
    """``--auto-scale-lr``: lr x total batch / ``auto_scale_lr.base_batch_size``.

    The total batch counts gradient accumulation: processes x per-process
    batch x ``optim_wrapper.accumulative_counts``. mmengine's
    ``Runner.scale_lr`` counts the first two only, so for it the base batch
    is divided by the accumulation count (the same ratio), and the line
    printed says so. Applies whether the flag or the config
    (``auto_scale_lr.enable=True``) turns the scaling on;
    :func:`auto_scale_lr_line` says what was used.

    Args:
        cfg (Config): The training config, changed in place.
        enable (bool): Whether ``--auto-scale-lr`` was given.

    Raises:
        ConfigError: If the scaling is on without ``base_batch_size``.
    """
    scaling = cfg.get('auto_scale_lr', None) or {}
    if not (enable or scaling.get('enable', False)):
        return
    if 'base_batch_size' not in scaling:
        raise ConfigError('--auto-scale-lr needs `auto_scale_lr = dict('
                          'base_batch_size=N)` in the config')
    counts = cfg.get('optim_wrapper', {}).get('accumulative_counts', 1)
    cfg.auto_scale_lr = dict(
        scaling, enable=True,
        base_batch_size=scaling['base_batch_size'] / counts)
    change = '' if counts == 1 else (
        f', base_batch_size {scaling["base_batch_size"]} -> '
        f'{cfg.auto_scale_lr["base_batch_size"]:g} for mmengine, which does '
        f'not count the {counts} accumulated batches')
    say(f'auto_scale_lr: enable=True{change}')


def auto_scale_lr_line(runner: Runner) -> str:
    """How the lr was scaled: the total batch, its parts and the lr.

    Args:
        runner (Runner): Built from a config :func:`set_auto_scale_lr`
            turned the scaling on for.

    Returns:
        str: E.g. ``auto_scale_lr: total batch 2 processes x 256 x 4
        accumulated = 2048 (base_batch_size 2048): lr 0.0015 x 1 =
        0.0015``.
    """
    cfg = runner.cfg
    counts = cfg.optim_wrapper.get('accumulative_counts', 1)
    per_process = cfg.train_dataloader.batch_size
    total = runner.world_size * per_process * counts
    base = cfg.auto_scale_lr.base_batch_size * counts
    ratio = total / base
    lr = cfg.optim_wrapper.optimizer.lr
    return (f'auto_scale_lr: total batch {runner.world_size} processes x '
            f'{per_process} x {counts} accumulated = {total} '
            f'(base_batch_size {base:g}): lr {lr:g} x {ratio:g} = '
            f'{lr * ratio:g}')


def _is_complete(path: str) -> bool:
    """Whether ``path`` is a whole torch checkpoint (a zip whose central
    directory, written last, is there)."""
    try:
        with zipfile.ZipFile(path):
            return True
    except (OSError, zipfile.BadZipFile):
        return False


def latest_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume auto`` continues from.

    The one ``last_checkpoint`` names, as in mmengine; if that file is
    missing or empty (a kill while mmengine rewrote it) or names a
    checkpoint that is missing or truncated, the newest complete
    ``iter_*.pth`` / ``epoch_*.pth`` of ``work_dir`` instead, with a warning.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: A checkpoint path, or None if there is none.
    """
    named = find_latest_checkpoint(work_dir) if osp.isdir(work_dir) else None
    if named and _is_complete(named):
        return named
    found = glob.glob(osp.join(work_dir, 'iter_*.pth')) + glob.glob(
        osp.join(work_dir, 'epoch_*.pth'))
    for path in sorted(found, key=osp.getmtime, reverse=True):
        if _is_complete(path):
            print_log(
                f'{osp.join(work_dir, "last_checkpoint")} names '
                f'{named or "nothing"}, which is not a complete checkpoint; '
                f'resuming from the newest complete one, {path}',
                logger='current', level=logging.WARNING)
            return path
    return None


def check_checkpoint(path: Optional[str]) -> None:
    """Refuse a checkpoint that is missing, truncated or not plain data.

    Reads only the file's index (weights-only, memory-mapped), so that the
    run does not fail later inside mmengine with a traceback.

    Args:
        path (str, optional): A checkpoint file (``load_from``); None or a
            URL is left to mmengine.

    Raises:
        FileNotFoundError: If it does not exist.
        CheckpointFormatError: If it is a truncated zip (a killed save).
        UnsafeCheckpointError: Naming the type a weights-only load refuses.
    """
    if not path or '://' in path:
        return
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    with open(path, 'rb') as f:
        is_zip = f.read(2) == b'PK'
    if not is_zip:
        return  # a legacy or empty file: mmengine says what is wrong
    if not _is_complete(path):
        raise CheckpointFormatError(
            f'checkpoint {path} is truncated (written when the run was '
            'killed?); resume from an earlier one or use --resume auto')
    load_checkpoint_file(path, map_location='cpu', mmap=True)


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """``--resume``: ``'auto'`` takes the latest complete checkpoint of the
    work dir (:func:`latest_complete_checkpoint`); none starts afresh.

    Sets ``cfg.resume`` and ``cfg.load_from`` as mmpretrain's
    ``tools/train.py`` does for a path, and says which checkpoint it is.

    Args:
        cfg (Config): The training config, changed in place.
        resume (str, optional): ``'auto'``, a checkpoint path or None.
    """
    if resume == 'auto':
        cfg.load_from = latest_complete_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if not cfg.resume:
            say(f'--resume: no checkpoint in {cfg.work_dir}: training from '
                'the start')
            return
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    else:
        return
    say(f'--resume: resume=True, load_from={cfg.load_from}')


def build(cfg: Config) -> Runner:
    """Build the config's runner (:func:`conmim_mm.utils.build_runner`),
    config mistakes as one line; its logger leaves out the library notices
    a user cannot act on (:func:`conmim_mm.quiet.quiet_logger`).

    Args:
        cfg (Config): The complete config.

    Returns:
        Runner: The runner.
    """
    with building('building the runner', RUNNER_FIELDS):
        runner = build_runner(cfg)
    quiet_logger(runner.logger)
    return runner


def _resume_point(work_dir: str) -> str:
    """Name the checkpoint ``--resume`` would continue from."""
    latest = latest_complete_checkpoint(work_dir)
    if latest is None:
        return 'no complete checkpoint was saved before it'
    return (f'the last complete checkpoint is {latest}; continue from it '
            'with --resume')


def _save_last_good_state(runner: Runner, weights_finite: bool) -> str:
    """Make sure the last good state is on disk; say where it is.

    With finite weights (the failing iteration changed nothing) the state
    after the ``runner.iter`` completed iterations is saved as
    ``iter_<N>.pth`` and named in ``last_checkpoint`` unless the latest
    checkpoint already holds it; otherwise the latest checkpoint is named.
    If that file cannot be written (a full disk), the sentence says so and
    names the last complete checkpoint.
    """
    latest = find_latest_checkpoint(runner.work_dir) or None
    done = runner.iter
    filename = f'iter_{done}.pth'
    path = osp.join(runner.work_dir, filename)
    if not weights_finite or done == 0:
        if latest is None:
            return 'no checkpoint was saved before it'
        return f'the last good checkpoint is {latest}'
    if latest is None or osp.basename(latest) != filename:
        try:
            runner.save_checkpoint(
                runner.work_dir, filename, by_epoch=False,
                meta=dict(epoch=runner.epoch, iter=done),
                backend_args=ATOMIC_BACKEND_ARGS)
            if is_main_process():
                write_atomically(path.encode(),
                                 osp.join(runner.work_dir, 'last_checkpoint'))
        except CheckpointWriteError as err:
            return f'{err}; {_resume_point(runner.work_dir)}'
    return (f'the state after iteration {done} is saved in {path}; '
            'continue from it with --resume')


def train(runner: Runner, check_files: bool = True) -> None:
    """Train; config mistakes as one line; on a NaN/Inf, save the last good
    state and say where it is; on a checkpoint that could not be written,
    name the last complete one.

    The loop, its data loader and the optimizer wrapper are built first
    through the runner's public API, in the order ``Runner.train`` builds
    them, so that a config mistake in them names its fields.

    Args:
        runner (Runner): From :func:`build`.
        check_files (bool): Check before the first iteration that every file
            the training set's annotation list names exists
            (:func:`check_listed_files`). Defaults to True.

    Raises:
        ConfigError: A config mistake, with its fields.
        NonFiniteError: With the checkpoint to resume from in its message.
        CheckpointWriteError: Naming the file that could not be written (a
            full disk) and the last complete checkpoint to resume from.
        MissingFilesError: Naming the first missing files and their lines.
    """
    with building('train_cfg, train_dataloader'):
        loop = runner.train_loop
    with building('optim_wrapper'):
        runner.optim_wrapper = runner.build_optim_wrapper(
            runner.optim_wrapper)
    if check_files:
        check_listed_files(loop.dataloader.dataset)
    if runner.cfg.get('auto_scale_lr', {}).get('enable', False):
        print_log(auto_scale_lr_line(runner), logger='current')
    schedulers = runner.param_schedulers
    try:
        runner.train()
    except NonFiniteError as err:
        where = _save_last_good_state(runner, err.weights_finite)
        raise NonFiniteError(f'{err}; {where}', err.weights_finite) from None
    except CheckpointWriteError as err:
        raise CheckpointWriteError(
            f'{err}; {_resume_point(runner.work_dir)}') from err
    except CONFIG_ERRORS as err:
        if (schedulers is None or runner.param_schedulers is not schedulers
                or isinstance(err, ConfigError)):
            raise
        # Runner.train() builds them after scaling the lr: not before
        raise ConfigError(
            f'{error_message(err)} (param_scheduler)') from err


def test(runner: Runner) -> None:
    """Test; config mistakes in the test loop as one line.

    Args:
        runner (Runner): From :func:`build`, with ``load_from`` set.

    Raises:
        ConfigError: A config mistake, with its fields.
    """
    with building('test_cfg, test_dataloader, test_evaluator'):
        runner.test_loop  # noqa: B018  (the property builds it)
    runner.test()


def _one_line(err: Exception) -> str:
    """The message of ``err``, without a data-loader worker's traceback.

    PyTorch re-raises a worker's exception with the worker's traceback as
    the message; its last line is ``<type>: <message>``.
    """
    lines = str(err).strip().splitlines()
    if len(lines) > 1 and lines[0].startswith('Caught '):
        return lines[-1].partition(': ')[2] or lines[-1]
    return ' '.join(lines)


#: Our errors for bad input (and a checkpoint that could not be written):
#: printed as one line by :func:`run_cli`.
INPUT_ERRORS = (FileNotFoundError, UnsafeCheckpointError,
                CheckpointFormatError, CheckpointWriteError, ConfigError,
                MissingPackageError, UnreadableImageError, NonFiniteError)


def expected_failure(err: BaseException) -> Optional[str]:
    """The one line for a failure caused by the input, or None for a bug.

    Args:
        err (BaseException): What a tool raised.

    Returns:
        str | None: The message of one of :data:`INPUT_ERRORS`; a
        checkpoint a weights-only ``torch.load`` refused (inside mmengine),
        with the type it holds and the converter to run; a missing
        mmseg/mmdet/mmcv-ops with the command that installs it
        (:func:`missing_package`); None for anything else.
    """
    if isinstance(err, INPUT_ERRORS):
        return _one_line(err)
    if isinstance(err, pickle.UnpicklingError):
        return unsafe_checkpoint_message(err)
    missing = missing_package(err)
    return None if missing is None else str(missing)


def run_cli(main: Callable[[], None], debug: bool = False) -> None:
    """Run a tool's ``main``; expected failures print one line, exit 1.

    A missing file or package, a checkpoint that is refused or has the wrong
    layout, a config field with a value it may not take (ours, or one
    mmengine, mmpretrain, mmseg or mmdet rejects while building the run),
    an unreadable image, a checkpoint that could not be written (a full
    disk) or a NaN/Inf in training is reported as
    ``error: ...`` without a stack trace (prefixed with the rank in
    distributed runs; :func:`expected_failure`). Anything else keeps its
    traceback.

    Args:
        main (Callable[[], None]): The tool.
        debug (bool): Let every failure raise with its traceback (so does
            the environment variable ``CONMIM_DEBUG=1``). Defaults to False.
    """
    debug = debug or os.environ.get('CONMIM_DEBUG') == '1'
    try:
        main()
        if torch.distributed.is_initialized():
            # every rank done before any closes its connections: a gloo
            # rank that tears down while a peer still holds its end can
            # abort ("terminate called without an active exception")
            torch.distributed.barrier()
    except Exception as err:
        message = None if debug else expected_failure(err)
        if message is None:
            raise
        rank = f'[rank {get_rank()}] ' if get_world_size() > 1 else ''
        print(f'{rank}error: {message}', file=sys.stderr)
        sys.exit(1)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
