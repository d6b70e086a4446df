"""The float64 reference against a second formulation: complex multiplication."""

import pytest
import torch

from ropebench.reference import rope_reference
from ropebench.workload import Workload


def complex_rope(positions, x, head_size, cache, is_neox):
    """RoPE as z * e^{i theta}: pair (a, b) is the complex number a + ib."""
    rot = cache.shape[1]
    pos = positions.reshape(-1)
    theta = torch.atan2(cache[pos, rot // 2:], cache[pos, : rot // 2])[:, None, :]
    y = x.double().reshape(pos.numel(), -1, head_size).clone()
    part = y[..., :rot]
    if is_neox:
        z = torch.complex(part[..., : rot // 2], part[..., rot // 2:])
    else:
        z = torch.complex(part[..., 0::2], part[..., 1::2])
    z = z * torch.polar(torch.ones_like(theta), theta)
    if is_neox:
        part[..., : rot // 2], part[..., rot // 2:] = z.real, z.imag
    else:
        part[..., 0::2], part[..., 1::2] = z.real, z.imag
    return y.reshape(x.shape)


@pytest.mark.parametrize("style", ["neox", "gptj"])
@pytest.mark.parametrize("heads,kv,head_size,rot", [(8, 8, 128, 32), (8, 2, 64, 64), (4, 1, 96, 24)])
@pytest.mark.parametrize("flat", [False, True])
def test_reference_equals_complex_formulation(style, heads, kv, head_size, rot, flat):
    w = Workload(batch_size=3, seq_len=17, num_heads=heads, num_kv_heads=kv, head_size=head_size,
                 rotary_dim=rot, style=style, dtype="float32", flat_positions=flat)
    inp = w.make_inputs()
    q, k = rope_reference(inp.positions, inp.query, inp.key, head_size, inp.cos_sin_cache_f64, w.is_neox)
    cq = complex_rope(inp.positions, inp.query, head_size, inp.cos_sin_cache_f64, w.is_neox)
    ck = complex_rope(inp.positions, inp.key, head_size, inp.cos_sin_cache_f64, w.is_neox)
    assert q.shape == inp.query.shape and k.shape == inp.key.shape
    assert torch.allclose(q, cq, rtol=0, atol=1e-12)
    assert torch.allclose(k, ck, rtol=0, atol=1e-12)
    # The pass-through part is the input, exactly.
    assert torch.equal(q.reshape(-1, head_size)[:, rot:], inp.query.double().reshape(-1, head_size)[:, rot:])


def test_styles_differ_and_rotation_keeps_norm():
    w = Workload(batch_size=2, seq_len=8, num_heads=4, head_size=64, rotary_dim=64, dtype="float32")
    inp = w.make_inputs()
    neox, _ = rope_reference(inp.positions, inp.query, None, 64, inp.cos_sin_cache_f64, True)
    gptj, _ = rope_reference(inp.positions, inp.query, None, 64, inp.cos_sin_cache_f64, False)
    assert not torch.allclose(neox, gptj)
    norm = inp.query.double().reshape(-1, 64).norm(dim=-1)
    assert torch.allclose(neox.reshape(-1, 64).norm(dim=-1), norm, atol=1e-9)


def test_position_zero_is_identity():
    w = Workload(batch_size=1, seq_len=4, num_heads=2, head_size=32, rotary_dim=16, dtype="float32")
    inp = w.make_inputs()
    zeros = torch.zeros_like(inp.positions)
    q, _ = rope_reference(zeros, inp.query, None, 32, inp.cos_sin_cache_f64, True)
    assert torch.allclose(q, inp.query.double(), atol=1e-12)


def test_reference_follows_querys_device_whatever_the_cache_and_positions_are_on():
    """Bug caught: the cache or the positions left on their own device (``.to(device)`` dropped, or device taken
    as None): on a GPU the reference then mixes devices. "meta" stands in for the GPU: shapes and devices only."""
    q = torch.zeros(5, 2 * 8, device="meta")
    out, none = rope_reference(torch.arange(5), q, None, 8, torch.zeros(10, 4), is_neox=True)
    assert none is None
    assert out.device.type == "meta" and out.dtype == torch.float64 and out.shape == q.shape
