"""Stand-in ``get_parameter_groups``: no weight decay on 1-D parameters and
the skip list."""


def get_parameter_groups(model, weight_decay=1e-5, skip_list=()):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            skip = param.ndim == 1 or name in skip_list
            (no_decay if skip else decay).append(param)
    return [dict(params=no_decay, weight_decay=0.),
            dict(params=decay, weight_decay=weight_decay)]
