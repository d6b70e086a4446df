"""Property tests: the float64 reference and the torch backend (on the CPU) against RoPE written
another way, as complex multiplication: pair (a, b) is z = a + ib, and position p turns pair i by
e^{i p theta_i}, theta_i = base^(-2i / rotary_dim). The pairs are taken by slicing (NeoX: the two
halves of the rotary part; GPT-J: even and odd elements), not by ropebench's pair_indices.

Bugs caught: a style's pairs swapped or mis-indexed, the sin sign flipped, the cache's halves swapped,
GQA's key heads rotated with the query's count, partial rotary touching the pass-through part, a
backend's arithmetic off by more than a few roundings of its dtype.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ropebench.backends.torch_native import TorchBackend
from ropebench.reference import rope_reference
from ropebench.workload import Workload

# Unit roundoff of each dtype, written out: bf16 has 8 significand bits, fp16 11, fp32 24.
ROUNDOFF = {"bfloat16": 2.0**-8, "float16": 2.0**-11, "float32": 2.0**-24}


def complex_rope(positions, x, head_size, rotary_dim, base, neox):
    """x: float64 array [tokens, heads * head_size]; the rotated copy, from the definition."""
    y = x.reshape(x.shape[0], -1, head_size).copy()
    half = rotary_dim // 2
    re, im = (slice(0, half), slice(half, rotary_dim)) if neox else (slice(0, rotary_dim, 2),
                                                                      slice(1, rotary_dim, 2))
    theta = base ** (-2.0 * np.arange(half) / rotary_dim)
    turn = np.exp(1j * positions[:, None] * theta[None, :])[:, None, :]  # [tokens, 1 (all heads), half]
    z = (y[..., re] + 1j * y[..., im]) * turn
    y[..., re], y[..., im] = z.real, z.imag
    return y.reshape(x.shape)


@st.composite
def workloads(draw, dtypes=("bfloat16", "float16", "float32")):
    kv = draw(st.integers(1, 3))
    head_size = draw(st.sampled_from([2, 8, 16, 64, 128]))
    return Workload(
        batch_size=draw(st.integers(1, 3)), seq_len=draw(st.integers(1, 6)),
        num_heads=kv * draw(st.integers(1, 3)), num_kv_heads=kv, head_size=head_size,
        rotary_dim=2 * draw(st.integers(1, head_size // 2)), style=draw(st.sampled_from(["neox", "gptj"])),
        dtype=draw(st.sampled_from(dtypes)), max_position=draw(st.sampled_from([1, 7, 4096])),
        base=draw(st.sampled_from([10000.0, 500000.0])), seed=draw(st.integers(0, 1000)),
        flat_positions=draw(st.booleans()))


def _flat(t):
    return t.reshape(t.shape[0] if t.dim() == 2 else t.shape[0] * t.shape[1], -1).double().numpy()


@settings(max_examples=40, deadline=None)
@given(workloads())
def test_reference_is_complex_multiplication(w):
    inp = w.make_inputs()
    pos = inp.positions.reshape(-1).double().numpy()
    ref_q, ref_k = rope_reference(inp.positions, inp.query, inp.key, w.head_size, inp.cos_sin_cache_f64, w.is_neox)
    for x, ref in ((inp.query, ref_q), (inp.key, ref_k)):
        want = complex_rope(pos, _flat(x), w.head_size, w.rotary_dim, w.base, w.is_neox)
        np.testing.assert_allclose(_flat(ref), want, rtol=0, atol=1e-9 * (1 + np.abs(want).max()))
        assert ref.dtype == torch.float64 and ref.shape == x.shape


@settings(max_examples=40, deadline=None)
@given(workloads())
def test_torch_backend_on_cpu_is_complex_multiplication(w):
    inp = w.make_inputs()
    before_q, before_k = inp.query.clone(), inp.key.clone()
    TorchBackend().prepare(w, inp)()
    pos = inp.positions.reshape(-1).double().numpy()
    d, rot, u = w.head_size, w.rotary_dim, ROUNDOFF[w.dtype]
    for x0, x1 in ((before_q, inp.query), (before_k, inp.key)):
        a0, a1 = _flat(x0), _flat(x1)
        want = complex_rope(pos, a0, d, rot, w.base, w.is_neox).reshape(len(pos), -1, d)
        got, orig = a1.reshape(len(pos), -1, d), a0.reshape(len(pos), -1, d)
        # A few roundings (cache entry, two products, their sum, the output), each within u of the
        # pair's size |a| + |b| <= 2 max|x| of the head: 8 u of that is a generous bound.
        scale = np.abs(orig[..., :rot]).max(axis=-1, keepdims=True) * 2
        assert np.all(np.abs(got[..., :rot] - want[..., :rot]) <= 8 * u * scale + 1e-30)
        # Past rotary_dim: untouched, bit for bit.
        assert torch.equal(x1.reshape(len(pos), -1, d)[..., rot:], x0.reshape(len(pos), -1, d)[..., rot:])
