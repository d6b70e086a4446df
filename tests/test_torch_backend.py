"""The torch backend (vLLM's forward_native algorithm) against the float64 reference."""

import itertools

import pytest
import torch

import ropebench
from ropebench.backends import get_backend
from ropebench.correctness import check_backend
from ropebench.workload import Workload

CASES = list(itertools.product(
    ["neox", "gptj"],
    [(8, 8, 128, 32), (8, 8, 128, 128), (8, 2, 64, 64), (6, 3, 80, 32)],  # partial, full, GQA, head 80
    ["bfloat16", "float16", "float32"],
    [False, True],  # positions [batch, seq] or [num_tokens]
))


@pytest.mark.parametrize("style,shape,dtype,flat", CASES)
def test_torch_backend_matches_reference(style, shape, dtype, flat):
    heads, kv, head_size, rot = shape
    w = Workload(batch_size=2, seq_len=9, num_heads=heads, num_kv_heads=kv, head_size=head_size, rotary_dim=rot,
                 style=style, dtype=dtype, flat_positions=flat)
    check = check_backend(get_backend("torch"), w)
    assert check.ok, check.detail
    assert check.changed_passthrough == 0 and check.bad_rotated == 0


def test_apply_rope_public_api_rotates_in_place_and_key_may_be_none():
    w = Workload(batch_size=2, seq_len=5, num_heads=4, head_size=64, rotary_dim=32, dtype="float32")
    inp = w.make_inputs()
    q = inp.query.clone()
    ropebench.apply_rope(inp.positions, q, None, 64, inp.cos_sin_cache, True)
    from ropebench.reference import rope_reference

    ref, _ = rope_reference(inp.positions, inp.query, None, 64, inp.cos_sin_cache_f64, True)
    assert torch.allclose(q.double(), ref, atol=1e-5)
