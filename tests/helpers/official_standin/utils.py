"""Stand-in ``NativeScalerWithGradNormCount`` (GradScaler enabled on CUDA,
backward, unscale, clip, step, update) and ``cosine_scheduler`` (the
fine-tuning lr schedule)."""
import numpy as np
import torch


class NativeScalerWithGradNormCount:

    def __init__(self):
        self._scaler = torch.amp.GradScaler(
            'cuda', enabled=torch.cuda.is_available())

    def __call__(self, loss, optimizer, clip_grad=None, parameters=None,
                 create_graph=False, update_grad=True):
        self._scaler.scale(loss).backward(create_graph=create_graph)
        self._scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(parameters, clip_grad or 1e9)
        self._scaler.step(optimizer)
        self._scaler.update()
        return norm

    def state_dict(self):
        return self._scaler.state_dict()


def cosine_scheduler(base_value, final_value, epochs, niter_per_ep,
                     warmup_epochs=0, start_warmup_value=0, warmup_steps=-1):
    """Per-iteration values: linear warm-up from ``start_warmup_value`` to
    ``base_value`` (both ends included), then a half cosine from
    ``base_value`` towards ``final_value``."""
    warmup = warmup_steps if warmup_steps > 0 else warmup_epochs * niter_per_ep
    ramp = np.linspace(start_warmup_value, base_value, warmup)
    steps = np.arange(epochs * niter_per_ep - warmup)
    cosine = final_value + 0.5 * (base_value - final_value) * (
        1 + np.cos(np.pi * steps / len(steps)))
    return np.concatenate([ramp, cosine])
