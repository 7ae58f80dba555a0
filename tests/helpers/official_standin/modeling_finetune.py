"""Stand-in ``VisionTransformer`` of the official fine-tuning code: its
parameter names and forward (per-block relative position bias tables with
BEiT's index, q/v biases, layer scale ``gamma_1``/``gamma_2``, mean pooling
into ``fc_norm``, ``head`` initialised at ``init_scale``), written anew."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _relative_index(grid):
    """(h*w + 1, h*w + 1) index into the table: patch pairs by offset, then
    one row each for [CLS] -> patch, patch -> [CLS] and [CLS] -> [CLS]."""
    height, width = grid
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width),
                                indexing='ij')
    rows, cols = rows.flatten(), cols.flatten()
    offsets = ((rows[:, None] - rows[None] + height - 1) * (2 * width - 1) +
               cols[:, None] - cols[None] + width - 1)
    size = (2 * height - 1) * (2 * width - 1)
    index = torch.empty((height * width + 1, ) * 2, dtype=torch.long)
    index[1:, 1:] = offsets
    index[0, :] = size
    index[:, 0] = size + 1
    index[0, 0] = size + 2
    return index


class Attention(nn.Module):

    def __init__(self, dim, num_heads, grid):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        size = (2 * grid[0] - 1) * (2 * grid[1] - 1) + 3
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(size, num_heads))
        self.register_buffer('relative_position_index',
                             _relative_index(grid))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        batch, tokens, dim = x.shape
        bias = torch.cat(
            [self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        q, k, v = F.linear(x, self.qkv.weight, bias).view(
            batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        position = self.relative_position_bias_table[
            self.relative_position_index].permute(2, 0, 1)
        weights = (q * q.shape[-1]**-0.5) @ k.transpose(-2, -1) + position
        out = weights.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class Block(nn.Module):

    def __init__(self, dim, num_heads, mlp_ratio, norm_layer, init_values,
                 grid):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, grid)
        self.norm2 = norm_layer(dim)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.mlp.fc2 = nn.Linear(int(dim * mlp_ratio), dim)
        self.gamma_1 = nn.Parameter(torch.full((dim, ), float(init_values)))
        self.gamma_2 = nn.Parameter(torch.full((dim, ), float(init_values)))

    def forward(self, x):
        x = x + self.gamma_1 * self.attn(self.norm1(x))
        hidden = F.gelu(self.mlp.fc1(self.norm2(x)))
        return x + self.gamma_2 * self.mlp.fc2(hidden)


class VisionTransformer(nn.Module):
    """The official classifier as ``run_class_finetuning.py`` builds it
    (relative position bias per block, no absolute position embedding,
    mean pooling, layer scale); other settings are not modelled."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3,
                 num_classes=1000, embed_dim=768, depth=12, num_heads=12,
                 mlp_ratio=4., qkv_bias=True, norm_layer=nn.LayerNorm,
                 init_values=0.1, use_abs_pos_emb=False,
                 use_rel_pos_bias=True, use_mean_pooling=True,
                 init_scale=0.001, drop_path_rate=0.):
        super().__init__()
        assert qkv_bias and use_rel_pos_bias and use_mean_pooling
        assert init_values and not use_abs_pos_emb
        grid = (img_size // patch_size, img_size // patch_size)
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_chans, embed_dim, patch_size,
                                          patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, norm_layer, init_values,
                  grid) for _ in range(depth))
        self.fc_norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        with torch.no_grad():
            for depth_id, block in enumerate(self.blocks, 1):
                block.attn.proj.weight /= (2.0 * depth_id)**0.5
                block.mlp.fc2.weight /= (2.0 * depth_id)**0.5
            self.head.weight *= init_scale
            self.head.bias *= init_scale

    def get_num_layers(self):
        return len(self.blocks)

    def no_weight_decay(self):
        return {'pos_embed', 'cls_token'}

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1)
        for block in self.blocks:
            x = block(x)
        return self.head(self.fc_norm(x[:, 1:].mean(1)))
