"""Stand-in ``VisionTransformerForMaskedImageModeling``: patch embedding,
mask token, ``torch.nn.TransformerEncoderLayer`` blocks and the projector."""
import torch
import torch.nn as nn


class VisionTransformerForMaskedImageModeling(nn.Module):

    def __init__(self, img_size=224, patch_size=16, embed_dim=768, depth=12,
                 num_heads=12, mlp_ratio=4., qkv_bias=True, dim=256,
                 mlp_dim=4096, norm_layer=nn.LayerNorm, init_values=None,
                 use_abs_pos_emb=False, use_shared_rel_pos_bias=True,
                 use_mlp_projectors=True):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, embed_dim, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                embed_dim, num_heads, int(embed_dim * mlp_ratio),
                dropout=0., activation='gelu', batch_first=True,
                norm_first=True) for _ in range(depth))
        self.norm = norm_layer(embed_dim)
        self.projectors = nn.Sequential(
            nn.Linear(embed_dim, mlp_dim, bias=False),
            nn.BatchNorm1d(mlp_dim), nn.ReLU(inplace=True),
            nn.Linear(mlp_dim, dim, bias=False),
            nn.BatchNorm1d(dim, affine=False))

    def no_weight_decay(self):
        return {'cls_token', 'mask_token'}

    def forward(self, x, bool_masked_pos, return_all_tokens=True,
                only_return_before_head=True, use_mlp_projectors=True):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        w = bool_masked_pos.unsqueeze(-1).type_as(x)
        x = x * (1 - w) + self.mask_token * w
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), 1)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        batch, length, channels = x.shape
        x = self.projectors(x.reshape(batch * length, channels))
        return x.reshape(batch, length, -1)[:, 1:]
