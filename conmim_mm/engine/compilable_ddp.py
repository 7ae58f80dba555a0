"""mmengine's DDP wrapper with a training step that ``torch.compile`` can
take apart explicitly."""
import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CompilableDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose ``train_step`` is never traced
    as one frame by ``torch.compile``; the functions it calls are.

    mmengine's ``compile=True`` compiles the wrapper's ``train_step``. In
    one process that is one graph for the forward pass (see
    ``conmim_mm.engine.optimizers.compiled_step``); under DDP it cannot be:
    DDP's own forward (its reducer and logger) is not traceable, and it runs
    inside mmengine's ``optim_context``, a context manager dynamo cannot
    resume after a graph break, so dynamo would give up on the whole frame
    after trying. Here the frame is skipped from the start
    (``torch.compiler.disable(recursive=False)``) and dynamo compiles what it
    calls, frame by frame: the data preprocessor, the model's forward pass
    inside DDP's forward (split at DDP's gradient buckets by dynamo's
    DDPOptimizer, so the all-reduce still overlaps the backward pass) and
    the loss parsing; ``update_params`` stays out, as in one process.
    Without ``compile`` the wrapper is ``MMDistributedDataParallel``.

    Args:
        **kwargs: ``MMDistributedDataParallel`` arguments.
    """

    train_step = torch.compiler.disable(
        MMDistributedDataParallel.train_step, recursive=False)
