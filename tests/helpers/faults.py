"""Test helpers for faults: a hook that injects them into a training run
(imported by the configs through ``custom_imports``), a full disk, and the
functions the tests use to kill a run and to compare its checkpoints."""
import errno
import os
import signal
import stat
import subprocess
import sys
import time
from typing import Callable, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def disk_full(write: Callable[[int, bytes], int]) -> Callable:
    """``os.write`` on a full disk.

    Args:
        write (Callable): The real ``os.write``.

    Returns:
        Callable: An ``os.write`` that writes half of the bytes meant for a
        regular file, then fails with ``ENOSPC``; pipes and sockets (data
        loader workers, logs to a terminal) still work.
    """

    def full(fd: int, data: bytes) -> int:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return write(fd, data)
        write(fd, memoryview(data)[:len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return full


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Slow a run down, make one iteration produce NaN/Inf, fill the disk.

    Args:
        sleep (float): Seconds to sleep after every iteration (room to kill
            the process mid-run).
        nan_loss_at (int, optional): 1-based iteration whose student
            features (hence loss) are NaN; the weights stay finite.
        inf_grad_at (int, optional): 1-based iteration whose gradient of the
            first student weight is Inf (the optimizer step then writes
            non-finite values into the student).
        disk_full_at (int, optional): 1-based iteration at whose end (before
            its checkpoint is saved) the disk becomes full for
            ``os.write`` (:func:`disk_full`).
    """

    priority = 'VERY_HIGH'

    def __init__(self, sleep: float = 0.0, nan_loss_at: Optional[int] = None,
                 inf_grad_at: Optional[int] = None,
                 disk_full_at: Optional[int] = None) -> None:
        self.sleep = sleep
        self.nan_loss_at = nan_loss_at
        self.inf_grad_at = inf_grad_at
        self.disk_full_at = disk_full_at
        self._handles = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        iteration = runner.iter + 1
        if iteration == self.nan_loss_at:
            self._handles.append(model.backbone.register_forward_hook(
                lambda module, args, out: tuple(o * float('nan')
                                                for o in out)))
        if iteration == self.inf_grad_at:
            weight = next(model.backbone.parameters())
            self._handles.append(
                weight.register_hook(lambda grad: grad + float('inf')))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if runner.iter + 1 == self.disk_full_at:
            os.write = disk_full(os.write)
        time.sleep(self.sleep)


def descendants(pid: int) -> List[int]:
    """``pid`` and every process below it (from /proc).

    Args:
        pid (int): The root process.

    Returns:
        list[int]: ``pid`` first, then its descendants.
    """
    children = {}
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def run_and_kill(command: List[str], root: str, work_dir, after: str,
                 **env: str) -> None:
    """Start ``command``; SIGKILL it and all its descendants (torchrun's
    workers run in their own sessions) once ``after`` is the last checkpoint
    (mid-run: the caller makes the run sleep after every iteration).

    Args:
        command (list[str]): A ``.py`` tool (run with this interpreter) or a
            shell script, with its arguments.
        root (str): The repository root (working directory, PYTHONPATH).
        work_dir (pathlib.Path): The run's work dir.
        after (str): File name of the checkpoint to wait for.
        **env (str): Extra environment variables.
    """
    environ = dict(os.environ, **env)
    # as common.start_tool: the run it is compared with had one thread
    environ.setdefault('OMP_NUM_THREADS', '1')
    environ['PYTHONPATH'] = os.pathsep.join(
        [root, os.path.dirname(os.path.abspath(__file__))])
    environ['PYTHON'] = sys.executable
    if command[0].endswith('.py'):
        command = [sys.executable] + command
    proc = subprocess.Popen(command, cwd=root, env=environ,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    marker = work_dir / 'last_checkpoint'
    deadline = time.monotonic() + 300
    try:
        while not (marker.exists() and
                   marker.read_text().endswith(after)):
            assert proc.poll() is None, 'the run ended before the kill'
            assert time.monotonic() < deadline, 'no checkpoint in time'
            time.sleep(0.05)
    finally:
        for pid in descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def assert_same_state(path, reference, atol: float = 1e-6) -> None:
    """Weights (student, teacher, BN buffers) and AdamW state match.

    Args:
        path: A runner checkpoint.
        reference: The checkpoint it should equal.
        atol (float): Largest absolute difference allowed.
    """
    from conmim_mm.checkpoints import load_checkpoint_file
    got = load_checkpoint_file(str(path))
    ref = load_checkpoint_file(str(reference))
    assert got['meta']['iter'] == ref['meta']['iter']
    assert got['state_dict'].keys() == ref['state_dict'].keys()
    for key, value in ref['state_dict'].items():
        diff = (got['state_dict'][key].double() - value.double()).abs()
        assert diff.max().item() <= atol, key
    for index, state in ref['optimizer']['state'].items():
        for name, value in state.items():
            diff = (got['optimizer']['state'][index][name].double() -
                    value.double()).abs()
            assert diff.max().item() <= atol, (index, name)


def parameter_keys(state: dict) -> List[str]:
    """Keys of a state dict that are not BatchNorm statistics.

    Args:
        state (dict): A model state dict.

    Returns:
        list[str]: The keys of its parameters.
    """
    return [k for k in state
            if 'running_' not in k and 'num_batches_tracked' not in k]


def all_finite(state: dict) -> bool:
    """Whether every floating-point tensor of ``state`` is finite.

    Args:
        state (dict): A model state dict.

    Returns:
        bool: True without NaN/Inf.
    """
    return all(bool(torch.isfinite(v).all()) for v in state.values()
               if v.is_floating_point())
