"""vLLM's forward_native algorithm in plain PyTorch: index_select, split, rotate, cat.

forward_native returns new tensors; here the rotated part is written back into q and k so that
the backend has the same in-place contract as the others (the pass-through part is not copied).
"""

from __future__ import annotations

import torch

from ropebench.backends.base import Backend


def _rotate(x, cos, sin, is_neox: bool):
    cos = cos.unsqueeze(-2).to(x.dtype)  # [T, 1, rot/2]: broadcast over heads
    sin = sin.unsqueeze(-2).to(x.dtype)
    if is_neox:
        x1, x2 = x.chunk(2, dim=-1)
    else:
        x1, x2 = x[..., ::2], x[..., 1::2]
    o1 = x1 * cos - x2 * sin
    o2 = x2 * cos + x1 * sin
    if is_neox:
        return torch.cat((o1, o2), dim=-1)
    return torch.stack((o1, o2), dim=-1).flatten(-2)


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
            x_rot.copy_(_rotate(x_rot, cos, sin, is_neox))
