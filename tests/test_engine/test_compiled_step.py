"""torch.compile of a ConMIM train_step through our optimizer wrappers:
the forward (preprocessing, teacher, student, loss) is one graph, compiled
once for batch after batch; update_params (backward, scaler, optimizer step,
NaN/Inf checks) stays out of it and keeps working."""
import collections
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from conftest import build_conmim, tiny_conmim_cfg, train_mode
from conmim_mm.engine.optimizers import portable_amp_optim_wrapper
from conmim_mm.errors import NonFiniteError

DEPTH = 2
# our three wrappers, in the three precisions a CPU can train in
WRAPPERS = {
    'CheckedOptimWrapper fp32': dict(type='CheckedOptimWrapper'),
    'CheckedAmpOptimWrapper bf16': dict(
        type='CheckedAmpOptimWrapper', cpu_autocast=True, dtype='bfloat16'),
    'PortableAmpOptimWrapper fp16': dict(
        type='PortableAmpOptimWrapper', cpu_autocast=True, dtype='float16',
        loss_scale=dict(init_scale=64.)),
}


class GraphRecorder:
    """A ``torch.compile`` backend that records the graphs dynamo captures
    (the called functions of each) and runs them as they are."""

    def __init__(self) -> None:
        self.graphs = []

    def __call__(self, graph_module, example_inputs):
        self.graphs.append(collections.Counter(
            getattr(node.target, '__name__', str(node.target))
            for node in graph_module.graph.nodes
            if node.op in ('call_function', 'call_method')))
        return graph_module.forward


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    """The CPU behaviour, also on a machine with a GPU."""
    monkeypatch.setattr(portable_amp_optim_wrapper, 'has_accelerator',
                        lambda: False)


def _model_and_wrapper(wrapper_cfg: dict):
    cfg = tiny_conmim_cfg('vit-b_800e.py', depth=DEPTH, img_size=64)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = train_mode(build_conmim(cfg))
    optim = dict(cfg.optim_wrapper)
    optim.pop('loss_scale')
    return model, build_optim_wrapper(model, dict(optim, **wrapper_cfg))


def _batch(seed: int) -> dict:
    """Two uint8 views of 4 images and their masks, with the metainfo a
    real pipeline packs (a new path and flip for every image)."""
    generator = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8,
                           generator=generator) for _ in range(2)]
    samples = []
    for i in range(4):
        sample = DataSample(metainfo=dict(
            img_path=f'batch{seed}/{i}.JPEG', flip=bool((seed + i) % 2)))
        sample.set_mask(torch.rand(4, 4, generator=generator) < 0.75)
        samples.append(sample)
    return dict(inputs=views, data_samples=samples)


@pytest.mark.parametrize('name', list(WRAPPERS))
def test_forward_compiles_once_and_trains_as_eager(name):
    eager_model, eager_wrapper = _model_and_wrapper(WRAPPERS[name])
    model, wrapper = _model_and_wrapper(WRAPPERS[name])
    recorder = GraphRecorder()
    model.train_step = torch.compile(model.train_step, backend=recorder)
    for seed in range(3):
        expected = eager_model.train_step(_batch(seed), eager_wrapper)
        got = model.train_step(_batch(seed), wrapper)
        assert got['loss'].item() == pytest.approx(
            expected['loss'].item(), rel=1e-6), (name, seed)
    for (key, value), reference in zip(model.state_dict().items(),
                                       eager_model.state_dict().values()):
        assert torch.allclose(value, reference, rtol=0, atol=1e-6), key

    # one graph for three batches: no recompilation, no graph break before
    # update_params; it holds the attention of every block of the teacher
    # and the student and the loss, nothing of the optimizer
    assert len(recorder.graphs) == 1
    ops = recorder.graphs[0]
    assert ops['scaled_dot_product_attention'] == 2 * DEPTH
    assert ops['cross_entropy'] == 1
    assert not [op for op in ops if 'adam' in op or 'foreach' in op]
    # the student did train, through the wrapper's (eager) step
    assert not torch.equal(model.backbone.layers[0].attn.qkv.weight,
                           model.teacher.backbone.layers[0].attn.qkv.weight)


def test_non_finite_loss_still_stops_a_compiled_step():
    model, wrapper = _model_and_wrapper(WRAPPERS['CheckedOptimWrapper fp32'])
    recorder = GraphRecorder()
    model.train_step = torch.compile(model.train_step, backend=recorder)
    model.train_step(_batch(0), wrapper)
    before = copy.deepcopy(model.state_dict())
    # a zero std in the preprocessor: Inf inputs, NaN loss, same graph
    model.data_preprocessor.std.zero_()
    with pytest.raises(NonFiniteError, match='non-finite loss'):
        model.train_step(_batch(1), wrapper)
    assert len(recorder.graphs) == 1
    for key, value in model.state_dict().items():
        # weights and BatchNorm statistics as before the failed iteration
        assert torch.equal(value, before[key]), key
