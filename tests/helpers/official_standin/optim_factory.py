"""Stand-in ``optim_factory``: the official parameter groups (no weight decay
on 1-D parameters, biases and the skip list; with a layer-id function, one
group per layer and decay, carrying ``lr_scale``), the layer ids of
``LayerDecayValueAssigner`` and an AdamW ``create_optimizer``."""
import torch


def get_num_layer_for_vit(var_name, num_max_layer):
    """Stem (tokens, patch embedding) 0, block i i + 1, the rest (shared
    relative position bias, pooling norm, head) the last layer."""
    if var_name in ('cls_token', 'mask_token', 'pos_embed'):
        return 0
    if var_name.startswith('patch_embed'):
        return 0
    if var_name.startswith('blocks'):
        return int(var_name.split('.')[1]) + 1
    return num_max_layer - 1


class LayerDecayValueAssigner:

    def __init__(self, values):
        self.values = values

    def get_scale(self, layer_id):
        return self.values[layer_id]

    def get_layer_id(self, var_name):
        return get_num_layer_for_vit(var_name, len(self.values))


def get_parameter_groups(model, weight_decay=1e-5, skip_list=(),
                         get_num_layer=None, get_layer_scale=None):
    groups = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        skip = param.ndim == 1 or name.endswith('.bias') or name in skip_list
        layer_id = get_num_layer(name) if get_num_layer else None
        key = (layer_id, skip)
        if key not in groups:
            groups[key] = dict(
                params=[], weight_decay=0. if skip else weight_decay,
                lr_scale=get_layer_scale(layer_id) if get_layer_scale else 1.)
        groups[key]['params'].append(param)
    return list(groups.values())


def create_optimizer(args, model, get_num_layer=None, get_layer_scale=None,
                     filter_bias_and_bn=True, skip_list=None):
    assert args.opt.lower() == 'adamw' and filter_bias_and_bn
    skip = model.no_weight_decay() if skip_list is None else skip_list
    groups = get_parameter_groups(model, args.weight_decay, skip,
                                  get_num_layer, get_layer_scale)
    kwargs = dict(lr=args.lr, weight_decay=0.)
    if getattr(args, 'opt_eps', None) is not None:
        kwargs['eps'] = args.opt_eps
    if getattr(args, 'opt_betas', None) is not None:
        kwargs['betas'] = args.opt_betas
    return torch.optim.AdamW(groups, **kwargs)
