"""Test helper: one rank of a 2-process PortableSyncBN check (gloo)."""
import os

import torch
import torch.distributed as dist


def run(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """Normalise this rank's half of a fixed batch; save outputs and grads."""
    import conmim_mm  # noqa: F401
    from conmim_mm.models import PortableSyncBatchNorm
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.manual_seed(0)
    x = torch.randn(8, 6, 3) * 3 + 1
    weight = torch.randn(8, 6, 3)
    half = slice(4 * rank, 4 * rank + 4)
    local = x[half].clone().requires_grad_()
    bn = PortableSyncBatchNorm(6)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, 6))
        bn.bias.copy_(torch.linspace(-1, 1, 6))
    out = bn(local)
    (out * weight[half]).sum().backward()
    torch.save(dict(out=out.detach(), grad=local.grad,
                    weight_grad=bn.weight.grad, bias_grad=bn.bias.grad,
                    running_mean=bn.running_mean,
                    running_var=bn.running_var),
               os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


if __name__ == '__main__':
    # python tests/helpers/sync_bn_worker.py OUT_DIR PORT: both ranks
    import sys

    import torch.multiprocessing as mp
    mp.spawn(run, args=(2, int(sys.argv[2]), sys.argv[1]), nprocs=2)
