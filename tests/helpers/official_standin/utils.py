"""Stand-in ``NativeScalerWithGradNormCount``: GradScaler (enabled on CUDA),
backward, unscale, clip, step, update."""
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
