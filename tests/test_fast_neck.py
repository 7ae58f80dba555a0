"""``FastNonLinearNeck`` computes what mmpretrain's ``NonLinearNeck`` does,
with the ReLU backward written into the gradient it receives."""
import torch

from conftest import tiny_conmim_cfg


def build_neck(neck_type: str) -> torch.nn.Module:
    """The pre-training config's projector (tiny widths) as ``neck_type``."""
    import conmim_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = tiny_conmim_cfg('vit-s_300e.py').model.neck
    assert cfg.type == 'FastNonLinearNeck'
    cfg.type = neck_type
    torch.manual_seed(0)
    neck = MODELS.build(cfg)
    neck.init_weights()
    return neck.train()


def test_projector_equals_nonlinear_neck_forward_and_backward():
    fast, stock = build_neck('FastNonLinearNeck'), build_neck('NonLinearNeck')
    assert type(fast.relu).__name__ == 'InPlaceReLU'
    assert fast.state_dict().keys() == stock.state_dict().keys()
    for key, value in stock.state_dict().items():
        assert torch.equal(fast.state_dict()[key], value), key
    tokens = torch.randn(50, 32)
    grad = torch.randn(50, 32)
    results = []
    for neck in (fast, stock):
        x = tokens.clone().requires_grad_()
        out = neck((x, ))[0]
        out.backward(grad)
        results.append([out, x.grad] +
                        [p.grad for p in neck.parameters()] +
                        list(neck.buffers()))
    for mine, theirs in zip(*results):
        assert torch.equal(mine, theirs)
    # without gradients (the teacher) it is a plain in-place ReLU
    with torch.no_grad():
        assert torch.equal(fast((tokens, ))[0], stock((tokens, ))[0])


def test_relu_backward_writes_into_the_incoming_gradient():
    from conmim_mm.models.fast_neck import InPlaceReLU
    x = torch.randn(6, 5, requires_grad=True)
    out = InPlaceReLU()(x * 1)  # a non-leaf, as after BatchNorm
    grad = torch.randn(6, 5)
    expected = grad * (x > 0)
    (result, ) = torch.autograd.grad(out, x, grad)
    assert torch.equal(result, expected)
    assert torch.equal(grad, expected)  # overwritten: no new tensor


def test_relu_backward_of_an_expanded_gradient_is_a_new_tensor():
    from conmim_mm.models.fast_neck import InPlaceReLU
    x = torch.randn(6, 5, requires_grad=True)
    out = InPlaceReLU()(x * 1)
    (result, ) = torch.autograd.grad(out.sum(), x)  # grad: ones, expanded
    assert torch.equal(result, (x > 0).float())
