"""What the tests share besides fixtures: the repository's paths, running a
tool as a user does, the tiny ConMIM of a published config, the fake dense
(ADE20K / COCO) data and the train-then-test round of a downstream config.

The fixtures built from these live in ``tests/conftest.py``; tests import
the plain names from here (``tests/helpers`` is on pytest's ``pythonpath``
and on every tool's ``PYTHONPATH``).
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
HELPERS = osp.join(ROOT, 'tests', 'helpers')
#: the demo (configs/conmim/demo_vit-tiny.py)
DEMO = osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py')
#: the demo's model, deterministic, 12 iterations of batch 4 with the fault
#: injection hook (tests/data/configs/demo_faults.py)
FAULTS = osp.join(CONFIGS, 'demo_faults.py')
#: the options of the shared reference run (conftest.py's
#: ``reference_run``) that a run compared with it must use too: one process
#: with two data-loader workers
REFERENCE_OPTIONS = ['train_dataloader.num_workers=2']
#: iterations of the reference run
REFERENCE_ITERS = 12


def has_full_stack() -> bool:
    """Whether mmseg, mmdet and mmcv's compiled ops are installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ('mmseg', 'mmdet', 'mmcv._ext'))


def data_options(folder: str) -> List[str]:
    """``--cfg-options`` that point the tiny config's loaders at ``folder``."""
    return [
        f'train_dataloader.dataset.data_root={folder}',
        f'test_dataloader.dataset.data_root={folder}'
    ]


#: torch's threads in a tool a test runs, unless OMP_NUM_THREADS is set:
#: one, as torchrun gives each process of a distributed run. The tests' models
#: are tiny: two threads make a run no faster (the shortened demo: 37 s on 2
#: threads, 32 s on 1, measured) for two thirds more CPU time, which the
#: other runs of the suite need.
TOOL_THREADS = '1'


def start_tool(args: List[str], **env: str) -> subprocess.Popen:
    """Start a command from the repository root with this interpreter's env
    (``.py`` tools run with this interpreter; the repository and
    tests/helpers on ``PYTHONPATH``; :data:`TOOL_THREADS`); its output is
    piped as text."""
    environ = dict(os.environ, **env)
    environ.setdefault('OMP_NUM_THREADS', TOOL_THREADS)
    paths = [ROOT, HELPERS, environ.get('PYTHONPATH', '')]
    environ['PYTHONPATH'] = os.pathsep.join(p for p in paths if p)
    if args[0].endswith('.py'):
        args = [sys.executable] + args
    else:
        environ['PYTHON'] = sys.executable
    return subprocess.Popen(
        args, cwd=ROOT, env=environ, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def finish_tool(proc: subprocess.Popen,
                timeout: int = 600) -> subprocess.CompletedProcess:
    """Wait for a command of :func:`start_tool`; killed after ``timeout``
    seconds (``subprocess.TimeoutExpired``)."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout,
                                       stderr)


def run_tool(args: List[str], timeout: int = 600,
             **env: str) -> subprocess.CompletedProcess:
    """Run a command from the repository root with this interpreter's env
    (see :func:`start_tool`)."""
    return finish_tool(start_tool(args, **env), timeout)


def dist_train(config: str, work_dir, *options: str, args: Sequence[str] = (),
               **env: str) -> subprocess.CompletedProcess:
    """``tools/dist_train.sh config 2 --work-dir work_dir [args]
    [--cfg-options options]``: two CPU processes (gloo) on a random port."""
    command, port = dist_train_command(config, work_dir, *options, args=args)
    return run_tool(command, **port, **env)


def dist_train_command(config: str, work_dir, *options: str,
                       args: Sequence[str] = ()) -> tuple:
    """The arguments and environment (a random ``PORT``) of
    :func:`dist_train`."""
    import random
    cfg_options = ['--cfg-options', *options] if options else []
    return (['tools/dist_train.sh', config, '2', '--work-dir', str(work_dir),
             *args, *cfg_options], {'PORT': str(random.randint(20000, 40000))})


def run_script(args: List[str]) -> subprocess.CompletedProcess:
    """Run a Python tool of the repository as :func:`run_tool` does, but in
    this process, sparing a new interpreter's imports (~6 s on 2 cores).

    The script runs as ``__main__`` (``runpy``) with ``sys.argv`` set, from
    the repository root with its folder first on ``sys.path``; its output is
    captured; ``SystemExit`` becomes the return code (a message goes to
    stderr with code 1) and an uncaught exception a traceback on stderr
    with code 1, as the interpreter does. Warning filters, ``sys.argv``,
    ``sys.path`` and the working directory are restored afterwards. For
    tools that do their work and keep no other state (the checkpoint
    converters, argument and input errors): a test suite runs each tool at
    least once with :func:`run_tool`.
    """
    import contextlib
    import io
    import runpy
    import traceback
    import warnings
    script = osp.join(ROOT, args[0])
    out, err = io.StringIO(), io.StringIO()
    argv, path, cwd = sys.argv, list(sys.path), os.getcwd()
    code = 0
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        sys.argv = [script, *args[1:]]
        sys.path[:0] = [osp.dirname(script), ROOT, HELPERS]
        os.chdir(ROOT)
        try:
            runpy.run_path(script, run_name='__main__')
        except SystemExit as exit_:
            if isinstance(exit_.code, int) or exit_.code is None:
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except Exception:  # noqa: BLE001 (reported as the interpreter does)
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = argv
            sys.path[:] = path
            os.chdir(cwd)
    return subprocess.CompletedProcess(args, code, out.getvalue(),
                                       err.getvalue())


def ok(result: subprocess.CompletedProcess) -> str:
    """The output of a run that must have succeeded (its tail if not)."""
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


def train_command(config: str, work_dir, *options: str,
                  args: Sequence[str] = ()) -> list:
    """``tools/train.py config --work-dir work_dir [args] [--cfg-options
    options]``, for :func:`run_tool` or :func:`start_tool`."""
    cfg_options = ['--cfg-options', *options] if options else []
    return ['tools/train.py', config, '--work-dir', str(work_dir), *args,
            *cfg_options]


def mmpretrain_train_script() -> str:
    """mmpretrain's own tools/train.py (the copy installed with it)."""
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                    'train.py')


def package_train_script(scope: Optional[str]) -> str:
    """Our tools/train.py (``scope`` None), else the OpenMMLab package's own
    (as installed), which adds no hooks and adapts no optimizer wrapper."""
    if scope is None:
        return 'tools/train.py'
    package = __import__(scope)
    return osp.join(osp.dirname(package.__file__), '.mim', 'tools',
                    'train.py')


def tiny_conmim_cfg(config: str, width: int = 32, depth: int = 2,
                    img_size: int = 224, projector: int = 128,
                    out: int = 32):
    """A published pre-training config with a tiny ViT and projector."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'conmim', config))
    cfg.model.backbone.arch = dict(
        embed_dims=width, num_layers=depth, num_heads=2,
        feedforward_channels=4 * width)
    cfg.model.backbone.img_size = img_size
    cfg.model.neck.update(
        in_channels=width, hid_channels=projector, out_channels=out)
    return cfg


def build_conmim(cfg):
    """Build and initialise the ConMIM model of ``cfg``."""
    import conmim_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def seeded_conmim(config: str = 'vit-b_800e.py', **sizes):
    """``build_conmim(tiny_conmim_cfg(config, **sizes))`` with the weights
    of ``torch.manual_seed(0)``, leaving the caller's random state alone:
    the same weights wherever it is built (conftest.py's tiny_conmim, a
    background run's data)."""
    import torch
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build_conmim(tiny_conmim_cfg(config, **sizes))


def train_mode(model):
    """``model.train()``, with the test as the declared teacher updater
    (``ConMIM.loss`` refuses to train without one)."""
    model.train()
    model.follow_student_with('the test')
    return model


def set_iteration(cur_iter: int, max_iters: int) -> None:
    """Put ``iter`` / ``max_iters`` into the current MessageHub."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', cur_iter)
    hub.update_info('max_iters', max_iters)


def pretrained_conmim():
    """A raw ConMIM pre-training checkpoint of a tiny ViT (4 blocks of 32
    as in tests/data/configs/tiny_vit.py, 64x64 inputs: 4x4 patches) whose
    teacher differs from the student (and whose shared relative position
    table is not zero), and the model it holds: ``(model, path)``, made
    once per session (weights from ``torch.manual_seed(0)``; the caller's
    random state is left alone). Nothing may change the model."""
    if 'pretrained' not in _MADE:
        import torch
        model = seeded_conmim('vit-b_800e.py', depth=4, img_size=64)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for param in model.teacher.parameters():
                param.add_(0.01 * torch.randn(param.shape,
                                              generator=generator))
            table = model.teacher.backbone.rel_pos_bias.\
                relative_position_bias_table
            table.copy_(torch.randn(table.shape, generator=generator))
        path = BACKGROUND.work_dir('pretrained_conmim') / 'conmim.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
        _MADE['pretrained'] = (model, str(path))
    return _MADE['pretrained']


def assert_rois_pool_their_boxes(detector) -> None:
    """A two-stage detector pools each box from its own image's feature maps:
    its box and mask RoI extractors return torchvision's RoIAlign of the
    boxes (``aligned=True``) on those maps.

    Args:
        detector: An mmdet two-stage detector for 64 x 64 inputs
            (``extract_feat``, a ``roi_head`` with ``bbox_roi_extractor`` and
            ``mask_roi_extractor``).
    """
    import torch
    from torchvision.ops import roi_align
    torch.manual_seed(0)
    detector.eval()
    images = torch.randn(2, 3, 64, 64)
    # (image, x1, y1, x2, y2): boxes of both images, different places
    rois = torch.tensor([[0., 4, 6, 30, 40], [1, 10, 12, 50, 44],
                         [1, 0, 0, 20, 20], [0, 33, 21, 61, 59]])
    with torch.no_grad():
        maps = detector.extract_feat(images)
        for extractor in (detector.roi_head.bbox_roi_extractor,
                          detector.roi_head.mask_roi_extractor):
            pooled = extractor(maps[:extractor.num_inputs], rois)
            levels = extractor.map_roi_levels(rois, extractor.num_inputs)
            for roi, level, got in zip(rois, levels.tolist(), pooled):
                expected = roi_align(
                    maps[level], roi[None],
                    extractor.roi_layers[level].output_size,
                    1 / extractor.featmap_strides[level], aligned=True)
                assert torch.allclose(got, expected[0], atol=1e-5), (
                    f'RoI {roi.tolist()} (level {level}): max difference '
                    f'{float((got - expected[0]).abs().max()):.3g}')


def dense_data():
    """The folder of :func:`write_dense_data`, written once per session."""
    if 'dense' not in _MADE:
        root = BACKGROUND.work_dir('dense_data')
        write_dense_data(root)
        _MADE['dense'] = root
    return _MADE['dense']


#: what pretrained_conmim() and dense_data() made
_MADE = {}


def write_dense_data(root) -> None:
    """Fake ADE20K and COCO data in one folder (a ``pathlib.Path``).

    - ADE20K layout: ``images/{training,validation}/{0,1}.jpg`` (96x128,
      dark left half, bright right half) and their label maps under
      ``annotations/`` (1 left, 2 right: classes 0 and 1 after mmseg's
      reduce-zero-label);
    - COCO: ``img/{0..3}.png`` (48x64, one white box each) and ``ann.json``
      with the boxes and their outlines as polygon masks, classes ``square``
      and ``disc``.
    """
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for split in ('training', 'validation'):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'annotations' / split).mkdir(parents=True)
        for i in range(2):
            label = np.ones((96, 128), np.uint8)
            label[:, 64:] = 2
            image = rng.integers(0, 100, (96, 128, 3)).astype(np.uint8)
            image[label == 2] += 150
            cv2.imwrite(str(root / 'images' / split / f'{i}.jpg'), image)
            cv2.imwrite(str(root / 'annotations' / split / f'{i}.png'), label)
    (root / 'img').mkdir()
    images, annotations = [], []
    for i in range(4):
        image = np.zeros((48, 64, 3), np.uint8)
        x, y, w, h = 8 + 6 * i, 10, 24, 20
        image[y:y + h, x:x + w] = 255
        cv2.imwrite(str(root / 'img' / f'{i}.png'), image)
        images.append(dict(id=i, file_name=f'{i}.png', width=64, height=48))
        polygon = [x, y, x + w, y, x + w, y + h, x, y + h]
        annotations.append(
            dict(id=i, image_id=i, category_id=i % 2, bbox=[x, y, w, h],
                 area=w * h, iscrowd=0, segmentation=[polygon]))
    categories = [dict(id=0, name='square'), dict(id=1, name='disc')]
    (root / 'ann.json').write_text(json.dumps(
        dict(info={}, images=images, annotations=annotations,
             categories=categories)))


# ------------------------------------------------------------ background runs
class BackgroundRuns:
    """Tool runs that tests read, started before the tests need them.

    A tool spends its first seconds importing torch and OpenMMLab on one
    core while pytest waits for it, so the second core of a small machine
    is idle most of the time. The runs declared with :func:`background_run`
    that the collected tests use start, one at a time in the order the
    tests first need them, in a background thread as soon as the tests are
    collected (conftest.py); a test that needs a run nobody started yet
    runs it itself. Their work dirs are temporary folders, removed at the
    end of the session but for the runs a failed test read.
    """

    def __init__(self) -> None:
        import threading
        self.commands = {}  # name -> (command(work_dir), requires)
        self.states = {}  # name -> 'queued' | 'running' | 'done'
        self.results = {}  # name -> SimpleNamespace(work_dir, result, log)
        self.changed = threading.Condition()
        self.prepared = {}  # name -> (work_dir, args, env)
        self.running = None  # the background thread's process
        self.stopped = False
        self.root = None
        self.keep = set()  # the runs whose work dirs stay

    def work_dir(self, name: str):
        """The work dir of the run ``name`` (made on the first call)."""
        import pathlib
        import tempfile
        if self.root is None:
            self.root = pathlib.Path(tempfile.mkdtemp(prefix='conmim-runs-'))
        work_dir = self.root / name
        work_dir.mkdir(exist_ok=True)
        return work_dir

    def _prepare(self, name: str) -> None:
        """The run's command (called in pytest's main thread: a command may
        write the run's data), after those of the runs it needs."""
        if name in self.prepared:
            return
        command, requires = self.commands[name]
        for required in requires:
            self._prepare(required)
        work_dir = self.work_dir(name)
        self.prepared[name] = (work_dir, *command(work_dir))

    def _run(self, name: str, in_background: bool) -> None:
        import traceback
        from types import SimpleNamespace
        work_dir, args, env = self.prepared[name]
        try:
            for required in self.commands[name][1]:
                self.result(required)
            proc = start_tool(args, **env)
            if in_background:
                self.running = proc
                if self.stopped:  # the session ended while it started
                    proc.kill()
            result = finish_tool(proc)
        except Exception:  # noqa: BLE001 (the fixture reports it)
            result = subprocess.CompletedProcess(args, -1, '',
                                                 traceback.format_exc())
        finally:
            if in_background:
                self.running = None
        run = SimpleNamespace(work_dir=work_dir, result=result,
                              log=result.stdout + result.stderr)
        with self.changed:
            self.results[name] = run
            self.states[name] = 'done'
            self.changed.notify_all()

    def _take(self, name: str) -> bool:
        """Mark a run nobody started as running; whether it was free."""
        with self.changed:
            free = self.states.get(name, 'queued') == 'queued'
            if free:
                self.states[name] = 'running'
            return free

    def start(self, names: Sequence[str]) -> None:
        """Queue the runs ``names`` (with those they need, before them) in
        this order, and start the background thread."""
        import threading
        queue = []

        def add(name):
            for required in self.commands[name][1]:
                add(required)
            if name not in queue:
                queue.append(name)

        for name in names:
            add(name)
        for name in queue:
            self._prepare(name)
        with self.changed:
            for name in queue:
                self.states.setdefault(name, 'queued')

        def work():
            for name in queue:
                if self.stopped:
                    return
                if self._take(name):
                    self._run(name, in_background=True)

        threading.Thread(target=work, daemon=True,
                         name='background runs').start()

    def result(self, name: str):
        """The run ``name``: waited for, or run now if nobody started it."""
        if self._take(name):
            self._prepare(name)
            self._run(name, in_background=False)
        with self.changed:
            self.changed.wait_for(lambda: self.states[name] == 'done')
            return self.results[name]

    def stop(self) -> None:
        """End of the session: kill a run still going (and its processes);
        remove the work dirs but those of the runs in :attr:`keep`."""
        import shutil
        import signal
        self.stopped = True
        proc = self.running
        if proc is not None and proc.poll() is None:
            from faults import descendants
            for pid in descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.root is None:
            return
        for folder in self.root.iterdir():
            if folder.name not in self.keep:
                shutil.rmtree(folder, ignore_errors=True)
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


#: the session's background runs (conftest.py starts and stops them)
BACKGROUND = BackgroundRuns()


def background_run(*requires: str, succeeds: bool = True):
    """Declare a tool run that tests read, to run in the background.

    The decorated ``command(work_dir)`` returns the run's ``(args, env)``
    for :func:`start_tool`; it is called in pytest's main thread (it may
    write the run's data there) and only describes the run. Its name, unique
    in the suite, becomes a session-scoped fixture (of its module, or of
    every test when declared in conftest.py) giving ``.work_dir``,
    ``.result`` (the ``subprocess.CompletedProcess``) and ``.log`` (stdout
    and stderr) of the finished run, which must have succeeded unless
    ``succeeds`` is False (a run meant to fail, which its test checks).
    ``requires`` names the runs that must end before this one starts (their
    work dirs: ``BACKGROUND.work_dir(name)``). See :class:`BackgroundRuns`.
    """
    import pytest

    def declare(command):
        name = command.__name__
        # (first declaration wins: conftest.py may be imported twice)
        BACKGROUND.commands.setdefault(name, (command, requires))

        @pytest.fixture(scope='session', name=name)
        def fixture():
            run = BACKGROUND.result(name)
            if succeeds:
                ok(run.result)
            return run

        fixture.__doc__ = command.__doc__
        return fixture

    return declare
