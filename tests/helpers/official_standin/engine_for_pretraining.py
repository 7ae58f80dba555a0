"""Stand-in ``train_one_epoch``: teacher forward, student forward, patch
InfoNCE over masked positions, scaled backward and step, momentum update."""
import torch
import torch.nn.functional as F


def train_one_epoch(model, data_loader, optimizer, device, epoch, loss_scaler,
                    momentum_schedule, model_copy, model_copy_without_ddp,
                    temp, max_norm=0, start_steps=None, **kwargs):
    model.train()
    for step, (batch, _) in enumerate(data_loader):
        samples, samples_aug, mask = (t.to(device) for t in batch)
        mask = mask.flatten(1).bool()
        with torch.no_grad():
            keys = model_copy(samples_aug, torch.zeros_like(mask))
        queries = model(samples, mask)
        keys, queries = F.normalize(keys, dim=-1), F.normalize(queries, dim=-1)
        logits = (queries @ keys.transpose(1, 2) / temp)[mask]
        labels = torch.arange(mask.shape[1], device=device).expand_as(mask)
        loss = F.cross_entropy(logits, labels[mask])
        optimizer.zero_grad()
        loss_scaler(loss, optimizer, clip_grad=max_norm,
                    parameters=model.parameters())
        m = momentum_schedule[start_steps + step]
        with torch.no_grad():
            for student, teacher in zip(model.module.parameters(),
                                        model_copy_without_ddp.parameters()):
                teacher.mul_(m).add_(student.detach(), alpha=1 - m)
        torch.cuda.synchronize()
