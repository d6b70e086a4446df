"""vLLM's forward_native algorithm in plain PyTorch: index_select, split, rotate, cat.

forward_native returns new tensors; here the rotated part is written back into q and k so that
the backend has the same in-place contract as the others (the pass-through part is not copied).
"""

from __future__ import annotations

import torch

from ropebench.backends.base import Backend


def _rotated(x, cos, sin, is_neox: bool):
    """A rotated copy of x [tokens, heads, rot]; cos and sin are [tokens, rot/2]."""
    c = cos[:, None, :].to(x.dtype)
    s = sin[:, None, :].to(x.dtype)
    if is_neox:  # pairs (i, i + rot/2)
        first, second = x.split(x.shape[-1] // 2, dim=-1)
    else:  # pairs (2i, 2i+1)
        first, second = x.unflatten(-1, (-1, 2)).unbind(-1)
    new_first = first * c - second * s
    new_second = second * c + first * s
    if is_neox:
        return torch.cat([new_first, new_second], dim=-1)
    return torch.stack([new_first, new_second], dim=-1).reshape(x.shape)


class TorchBackend(Backend):
    name = "torch"
    label = "PyTorch (vLLM forward_native)"
    device_types = ("cuda", "cpu")

    def available(self, device_type: str = "cuda") -> tuple[bool, str]:
        return True, ""

    def apply(self, positions, query, key, head_size, cos_sin_cache, is_neox):
        pos = positions.reshape(-1)
        num_tokens = pos.numel()
        rot = cos_sin_cache.shape[-1]
        cos, sin = cos_sin_cache.index_select(0, pos).chunk(2, dim=-1)
        for x in (query, key):
            if x is None:
                continue
            x_rot = x.view(num_tokens, -1, head_size)[..., :rot]
            x_rot.copy_(_rotated(x_rot, cos, sin, is_neox))
