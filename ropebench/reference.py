"""float64 RoPE, written from the definition and independent of every backend.

Each head's first rotary_dim elements hold rotary_dim/2 pairs (a_i, b_i); pair i turns by the angle
whose cos and sin sit at cache[pos, i] and cache[pos, rotary_dim/2 + i]:
    a' = a cos - b sin,    b' = b cos + a sin.
NeoX ("rotate half") pairs element i with i + rotary_dim/2; GPT-J pairs 2i with 2i+1.
Elements past rotary_dim pass through.
"""

from __future__ import annotations


def pair_indices(rotary_dim: int, is_neox: bool):
    """(first, second) element indices of each rotated pair within a head."""
    import torch

    half = rotary_dim // 2
    i = torch.arange(half)
    return (i, i + half) if is_neox else (2 * i, 2 * i + 1)


def rope_reference(positions, query, key, head_size: int, cos_sin_cache, is_neox: bool):
    """Rotated copies of query and key in float64, on query's device (key may be None).

    positions: [T] or [B, S]; query/key: [..., heads * head_size]; cos_sin_cache: [max_pos, rot].
    """
    import torch

    # The cache keeps its dtype: a * cos with float64 a promotes a float32/16 cache exactly, so every product is
    # the float64 one. Index tensors may stay on the CPU (torch indexes a tensor on any device with them), but
    # positions come to query's device, for a CPU query given positions on a GPU.
    cache = cos_sin_cache.detach().to(query.device)
    _, rot = cache.shape
    pos = positions.detach().to(query.device).reshape(-1)
    cos = cache[pos, : rot // 2][:, None, :]  # [T, 1, rot/2], broadcast over heads
    sin = cache[pos, rot // 2 :][:, None, :]
    first, second = pair_indices(rot, is_neox)

    def rotate(x):
        if x is None:
            return None
        shape = x.shape
        y = x.detach().to(torch.float64).reshape(pos.numel(), -1, head_size).clone()
        a, b = y[..., first], y[..., second]
        y[..., first] = a * cos - b * sin
        y[..., second] = b * cos + a * sin
        return y.reshape(shape)

    return rotate(query), rotate(key)
