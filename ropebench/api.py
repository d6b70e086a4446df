"""``apply_rope``: one call, vLLM's op convention, any backend, every input checked first.

The checks run before any kernel, so bad shapes or positions past the cache give a ValueError
with a clear message instead of an out-of-bounds launch.
"""

from __future__ import annotations

from ropebench.backends import get_backend
from ropebench.errors import RopeBenchError


def _check(positions, query, key, head_size, cos_sin_cache):
    import torch

    if not isinstance(head_size, int) or isinstance(head_size, bool) or head_size <= 0:
        raise RopeBenchError(f"head_size must be a positive integer, got {head_size!r}")
    if positions.dtype not in (torch.int64, torch.int32):
        raise RopeBenchError(f"positions must be int64 or int32, got {positions.dtype}")
    if positions.dim() not in (1, 2):
        raise RopeBenchError(f"positions must be [num_tokens] or [batch, seq_len], got {tuple(positions.shape)}")
    if cos_sin_cache.dim() != 2:
        raise RopeBenchError(f"cos_sin_cache must be [max_position, rotary_dim], got {tuple(cos_sin_cache.shape)}")
    max_pos, rot = cos_sin_cache.shape
    if rot % 2 or rot == 0:
        raise RopeBenchError(f"rotary_dim (cos_sin_cache.shape[1]) must be even and positive, got {rot}")
    if rot > head_size:
        raise RopeBenchError(f"rotary_dim ({rot}) must not exceed head_size ({head_size})")
    tokens = tuple(positions.shape)
    for name, x in (("query", query), ("key", key)):
        if x is None:
            continue
        if not x.dtype.is_floating_point:
            raise RopeBenchError(f"{name} must be a floating tensor, got {x.dtype}")
        if x.device != positions.device or cos_sin_cache.device != positions.device:
            raise RopeBenchError(f"{name}, positions and cos_sin_cache must be on one device")
        lead, last = tuple(x.shape[:-1]), x.shape[-1]
        if lead != tokens and not (x.dim() == 2 and x.shape[0] == positions.numel()):
            raise RopeBenchError(f"{name} shape {tuple(x.shape)} does not match positions {tokens}")
        if last % head_size:
            raise RopeBenchError(f"{name}'s last dimension ({last}) is not a multiple of head_size ({head_size})")
    if key is not None and key.dtype != query.dtype:
        raise RopeBenchError(f"query ({query.dtype}) and key ({key.dtype}) must have one dtype")
    if positions.numel():
        lo, hi = int(positions.min()), int(positions.max())
        if lo < 0 or hi >= max_pos:
            raise RopeBenchError(
                f"positions must lie in [0, {max_pos}) (the cache's rows); found [{lo}, {hi}]")


def apply_rope(positions, query, key, head_size: int, cos_sin_cache, is_neox: bool,
               backend: str = "torch") -> None:
    """Rotate ``query`` and ``key`` (``key`` may be None) in place, as vLLM's rotary_embedding op.

    positions: int64 [num_tokens] or [batch, seq_len]; query: [..., num_heads*head_size];
    key: [..., num_kv_heads*head_size]; cos_sin_cache: [max_position, rotary_dim], cos | sin.
    Raises ValueError (RopeBenchError) with a one-line message on inconsistent input.
    """
    _check(positions, query, key, head_size, cos_sin_cache)
    b = get_backend(backend)
    reason = b.unavailable(str(query.device))
    if reason:
        raise RopeBenchError(f"backend {backend} cannot run here: {reason}")
    problem = b.input_problem(positions, query, cos_sin_cache)
    if problem:
        raise RopeBenchError(problem)
    b.apply(positions, query, key, head_size, cos_sin_cache, bool(is_neox))
