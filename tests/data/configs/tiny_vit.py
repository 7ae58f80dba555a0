# A 4-block ViT of width 32: the backbone arch of the downstream tool tests'
# tiny configs (ft_*_tiny.py, linear_imagenet_tiny.py), which list this file
# as a base and merge it into model.backbone.arch.
tiny_vit_arch = dict(
    embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=128)
