"""What ``tools/train.py`` and ``tools/test.py`` do around mmengine's Runner.

The tools only parse arguments; these functions adjust the config the same way
for configs of every scope (mmpretrain, mmseg, mmdet; the Runner takes the
default scope from the config's ``default_scope``) and build the runner.
"""
import glob
import logging
import os
import os.path as osp
import sys
import zipfile
from typing import Callable, Optional

import torch
from mmengine.config import Config
from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint

from .build_errors import describe_build_error, missing_package
from .checkpoints import ATOMIC_BACKEND_ARGS, write_atomically
from .config_check import check_conmim_config
from .datasets import check_listed_files
from .errors import (CheckpointFormatError, CheckpointWriteError, ConfigError,
                     MissingPackageError, NonFiniteError,
                     UnreadableImageError, UnsafeCheckpointError)
from .quiet import quiet_logger


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge command-line overrides.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` key/value pairs.

    Returns:
        Config: The merged config.

    Raises:
        MissingPackageError: The config's ``mmseg::``/``mmdet::`` bases or
            imports need a package this environment lacks.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except ModuleNotFoundError as err:
        missing = missing_package(err, needed_by=path)
        if missing is None:
            raise
        raise missing from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def set_work_dir(cfg: Config, work_dir: Optional[str]) -> None:
    """``--work-dir`` > ``cfg.work_dir`` > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(cfg.filename))[0])


def set_launcher(cfg: Config, launcher: str) -> None:
    """Set the launcher; without CUDA, distribute with gloo on the CPU.

    mmengine initialises the process group with the config's backend (nccl by
    default) and wraps the model with ``device_ids=[LOCAL_RANK]``, both of
    which need a GPU. On a machine without CUDA the process group is started
    here with gloo and the model is wrapped without device ids (by the
    config's wrapper if it names one, else mmengine's), so
    ``tools/dist_train.sh CONFIG 2`` also runs on CPU.

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
    if launcher == 'pytorch' and not torch.distributed.is_initialized():
        # mmengine's pytorch launcher calls torch.cuda.set_device first.
        torch.distributed.init_process_group(backend='gloo')


def add_default_hooks(cfg: Config) -> None:
    """Append the hooks every run should have to ``custom_hooks`` if missing.

    The ConMIM and downstream configs list them already; this serves other
    configs run through ``tools/train.py``: :class:`SafeCheckpointHook` and
    :class:`ParamGroupSummaryHook` (the optimizer's parameter groups as one
    table) always; :class:`SkippedStepHook` (fp16 overflow skips counted, a
    run of them stops training) when the config trains with an AMP optimizer
    wrapper. A hook the config lists keeps its settings. The config's
    checkpoint hook is made to write atomically
    (:func:`write_checkpoints_atomically`).
    """
    needed = ['SafeCheckpointHook', 'ParamGroupSummaryHook']
    if 'Amp' in cfg.get('optim_wrapper', {}).get('type', ''):
        needed.append('SkippedStepHook')
    hooks = list(cfg.get('custom_hooks', None) or [])
    listed = {h.get('type') for h in hooks}
    hooks += [dict(type=name) for name in needed if name not in listed]
    cfg.custom_hooks = hooks
    write_checkpoints_atomically(cfg)


def write_checkpoints_atomically(cfg: Config) -> None:
    """Have the config's ``CheckpointHook`` write through
    :class:`~conmim_mm.checkpoints.AtomicLocalBackend` (a checkpoint is
    complete or absent), as the configs of this package set.

    Left alone: a hook with its own ``backend_args`` or
    ``file_client_args``, one saving to a URI (``out_dir='s3://...'``) and
    a config without ``default_hooks.checkpoint``.

    Args:
        cfg (Config): The config, changed in place.
    """
    hook = (cfg.get('default_hooks', None) or {}).get('checkpoint')
    if (not hook or hook.get('backend_args') is not None
            or hook.get('file_client_args') is not None
            or '://' in str(hook.get('out_dir', ''))):
        return
    hook['backend_args'] = dict(ATOMIC_BACKEND_ARGS)


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


def set_auto_scale_lr(cfg: Config, enable: bool) -> None:
    """``--auto-scale-lr``: lr x total batch / ``auto_scale_lr.base_batch_size``.

    The total batch counts gradient accumulation: processes x per-process
    batch x ``optim_wrapper.accumulative_counts``. mmengine's
    ``Runner.scale_lr`` counts the first two only, so for it the base batch
    is divided by the accumulation count (the same ratio). Applies whether
    the flag or the config (``auto_scale_lr.enable=True``) turns the scaling
    on; :func:`auto_scale_lr_line` says what was used.

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


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """``--resume``: ``'auto'`` takes the latest complete checkpoint of the
    work dir (:func:`latest_complete_checkpoint`); none starts afresh."""
    if resume == 'auto':
        cfg.load_from = latest_complete_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if not cfg.resume:
            print_log(f'no checkpoint to resume from in {cfg.work_dir}: '
                      'training from the start', logger='current')
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'checkpoint {resume} does not exist')
        with open(resume, 'rb') as f:
            is_zip = f.read(2) == b'PK'
        if is_zip and not _is_complete(resume):
            raise CheckpointFormatError(
                f'checkpoint {resume} is truncated (written when the run was '
                'killed?); resume from an earlier one or use --resume auto')
        cfg.resume = True
        cfg.load_from = resume


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config asks for (``runner_type``) or mmengine's.

    ConMIM configs are checked first (:func:`check_conmim_config`). The
    runner's logger leaves out the library notices a user cannot act on
    (:func:`conmim_mm.quiet.quiet_logger`).
    """
    if cfg.get('model', {}).get('type') == 'ConMIM':
        check_conmim_config(cfg)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
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
    """Train; on a NaN/Inf, save the last good state and say where it is;
    on a checkpoint that could not be written, name the last complete one.

    Args:
        runner (Runner): From :func:`build_runner`.
        check_files (bool): Check before the first iteration that every file
            the training set's annotation list names exists
            (:func:`check_listed_files`). Defaults to True.

    Raises:
        NonFiniteError: With the checkpoint to resume from in its message.
        CheckpointWriteError: Naming the file that could not be written (a
            full disk) and the last complete checkpoint to resume from.
        MissingFilesError: Naming the first missing files and their lines.
    """
    if check_files:
        check_listed_files(runner.train_loop.dataloader.dataset)
    if runner.cfg.get('auto_scale_lr', {}).get('enable', False):
        print_log(auto_scale_lr_line(runner), logger='current')
    try:
        runner.train()
    except NonFiniteError as err:
        where = _save_last_good_state(runner, err.weights_finite)
        raise NonFiniteError(f'{err}; {where}', err.weights_finite) from None
    except CheckpointWriteError as err:
        raise CheckpointWriteError(
            f'{err}; {_resume_point(runner.work_dir)}') from err


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
        str | None: The message of one of :data:`INPUT_ERRORS`; a missing
        mmseg/mmdet/mmcv-ops with the command that installs it
        (:func:`missing_package`); a config mistake the libraries caught
        while building the run, with its field
        (:func:`describe_build_error`); None for anything else.
    """
    if isinstance(err, INPUT_ERRORS):
        return _one_line(err)
    missing = missing_package(err)
    if missing is not None:
        return str(missing)
    return describe_build_error(err)


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
