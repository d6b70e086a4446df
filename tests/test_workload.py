"""Workload validation, inputs made as vLLM makes them, and the byte model."""

import math

import pytest
import torch

from ropebench.errors import RopeBenchError
from ropebench.grid import SEED
from ropebench.workload import Workload, check_device, cos_sin_cache, seed_grid


@pytest.mark.parametrize("kwargs,message", [
    (dict(rotary_dim=33), "rotary_dim must be even"),
    (dict(rotary_dim=0), "rotary_dim must be a positive integer"),
    (dict(rotary_dim=256, head_size=128), "must not exceed head_size"),
    (dict(num_heads=32, num_kv_heads=5), "divisible by num_kv_heads"),
    (dict(dtype="int8"), "unknown dtype"),
    (dict(batch_size=-1), "batch_size must be a positive integer"),
    (dict(seq_len=0), "seq_len must be a positive integer"),
    (dict(style="llama"), "unknown RoPE style"),
    (dict(device="tpu"), "unknown device"),
    (dict(device="gpu:10"), "unknown device 'gpu:10'"),  # a digit in the index's place is not enough
    (dict(device="cuda:"), "unknown device"),
    (dict(device="cuda:x"), "unknown device"),
    (dict(dtype="int8"), "choose one of bfloat16, float16, float32$"),
    (dict(batch_size=2.0), "batch_size must be a positive integer, got 2.0"),
    (dict(num_heads=True), "num_heads must be a positive integer, got True"),
    (dict(base=1.0), "base must be a number greater than 1, got 1.0"),
    (dict(base="1e4"), "base must be a number greater than 1"),
])
def test_invalid_workloads_say_why(kwargs, message):
    with pytest.raises(RopeBenchError, match=message):
        Workload(**kwargs)


def test_inputs_follow_vllm_layout():
    w = Workload(batch_size=3, seq_len=7, num_heads=8, num_kv_heads=2, head_size=64, rotary_dim=32,
                 max_position=100, dtype="float16")
    inp = w.make_inputs()
    assert inp.positions.shape == (3, 7) and inp.positions.dtype == torch.int64
    assert int(inp.positions.min()) >= 0 and int(inp.positions.max()) < 100
    assert inp.query.shape == (3, 7, 8 * 64) and inp.key.shape == (3, 7, 2 * 64)
    assert inp.query.dtype == torch.float16 and inp.cos_sin_cache.shape == (100, 32)
    assert inp.key.dtype == torch.float16 and inp.cos_sin_cache.dtype == torch.float16
    flat = w.replace(flat_positions=True).make_inputs()
    assert flat.positions.shape == (21,) and flat.query.shape == (21, 512)


def test_cos_sin_cache_halves_and_frequencies():
    """Bugs caught: cos and sin halves swapped, frequencies from the wrong exponent (i/rot, not 2i/rot).

    rotary_dim 8, base 10000: the frequencies are 10000^(-0/8, -2/8, -4/8, -6/8) = 1, 0.1, 0.01, 0.001,
    so row 3 holds cos(3), cos(0.3), cos(0.03), cos(0.003) then the sines."""
    cache = cos_sin_cache(16, 8, base=10000.0)
    assert cache.shape == (16, 8) and cache.dtype == torch.float64
    angles = [3.0, 0.3, 0.03, 0.003]
    assert cache[3].tolist() == pytest.approx([math.cos(a) for a in angles] + [math.sin(a) for a in angles],
                                              rel=1e-12, abs=1e-15)
    assert cache[0].tolist() == [1.0] * 4 + [0.0] * 4  # position 0 does not turn


def test_byte_model():
    """Bug caught: bytes from whole heads, or read only. Rotated part of q and k, read and written:
    2 x (16 x 512 tokens) x (32 + 32 heads) x 32 elements x 2 bytes = 67,108,864."""
    w = Workload(batch_size=16, seq_len=512, num_heads=32, head_size=128, rotary_dim=32, dtype="bfloat16")
    assert w.floor_bytes() == 67_108_864
    assert w.full_head_bytes() == 268_435_456  # 128 of 128 columns: 4x
    # GQA, full rotary: 2 x 8192 x (32 + 8) x 128 x 2 = 167,772,160, and the floor is the whole head
    gqa = w.replace(num_kv_heads=8, rotary_dim=128)
    assert gqa.floor_bytes() == gqa.full_head_bytes() == 167_772_160
    # One input set: per token 8 bytes of position + 64 heads x 128 x 2 bytes = 16,392; x 8192 tokens
    assert w.set_bytes() == 134_283_264


def test_seed_grid_is_the_seed():
    grid = seed_grid(Workload(), *SEED.values("batch", "seq_len", "heads"))
    assert len(grid) == 40
    assert {(w.batch_size, w.seq_len, w.num_heads) for w in grid} == {
        (b, s, h) for b in (1, 4, 16, 64) for s in (64, 128, 256, 512, 1024) for h in (32, 48)}
    assert all(w.num_kv_heads == w.num_heads for w in grid)


def test_seed_grid_keeps_gqa_kv_heads_or_says_why_not():
    grid = seed_grid(Workload(num_heads=32, num_kv_heads=8), batch=(1,), seq_len=(64,), heads=(32, 48))
    assert {w.num_kv_heads for w in grid} == {8}
    with pytest.raises(RopeBenchError, match="divisible by num_kv_heads"):
        seed_grid(Workload(num_heads=48, num_kv_heads=12), batch=(1,), seq_len=(64,), heads=(32, 48))


def test_grid_spec_drives_the_asv_params_and_the_workloads():
    """Bug caught: an asv class whose params drift from the declared grid, or an axis that sets the
    wrong Workload field (e.g. heads landing in num_kv_heads)."""
    import sys

    from ropebench.grid import ACCURACY, MODEL_GRID

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from benchmarks.accuracy import RoPEAccuracy
    from benchmarks.models import RoPEModels
    from benchmarks.rope import RoPE

    for cls, grid in ((RoPE, SEED), (RoPEModels, MODEL_GRID), (RoPEAccuracy, ACCURACY)):
        assert cls.param_names == grid.param_names and cls.params == grid.params
    point = dict(backend="torch", style="gptj", batch=4, seq_len=128, heads=48)
    w = Workload(**SEED.workload_fields(point))
    assert (w.batch_size, w.seq_len, w.num_heads, w.num_kv_heads, w.style) == (4, 128, 48, 48, "gptj")
    assert len(list(SEED.with_values(batch=(1, 2)).points())) == len(list(SEED.points())) // 2


def test_label_names_every_axis_and_gqa_only_when_kv_heads_differ():
    """Bug caught: a label that drops or misspells an axis (or shows GQA for MHA): the progress line and
    the CUDA-fault message name the wrong point."""
    mha = Workload(batch_size=2, seq_len=8, num_heads=8, head_size=64, rotary_dim=32, style="gptj", dtype="fp16")
    assert mha.label() == "2x8 8h d64 r32 gptj float16"
    assert mha.replace(num_kv_heads=2).label() == "2x8 8/2kvh d64 r32 gptj float16"


def test_spellings_people_type_become_the_canonical_names():
    """Bug caught: an alias checked but not stored (the canonical value set on the wrong attribute), or the
    hyphen of "GPT-J" kept: later lookups (DTYPE_TABLE, is_neox, torch.device) see the raw spelling."""
    w = Workload(dtype="BF16", style="GPT-J", device="CUDA")
    assert (w.dtype, w.style, w.device) == ("bfloat16", "gptj", "cuda:0")
    assert Workload(style="Neo-X").is_neox and Workload(base=1.5).base == 1.5
    assert w.replace(dtype="fp16", num_kv_heads=8).dtype == "float16"
    assert w.replace(num_heads=64, num_kv_heads=8).num_heads == 64


def test_inputs_are_reproducible_and_the_offset_draws_others():
    """Bug caught: a draw that ignores the workload's generator (global RNG): the same workload would time
    and check different inputs from one run to the next."""
    w = Workload(batch_size=2, seq_len=8, num_heads=4, num_kv_heads=2, head_size=32, rotary_dim=16)
    a, b, other = w.make_inputs(), w.make_inputs(), w.make_inputs(seed_offset=3)
    torch.manual_seed(12345)  # the global RNG must not matter
    c = w.make_inputs()
    for x in ("positions", "query", "key"):
        assert torch.equal(getattr(a, x), getattr(b, x)) and torch.equal(getattr(a, x), getattr(c, x))
        assert not torch.equal(getattr(a, x), getattr(other, x))


def test_clone_copies_q_k_positions_and_keeps_both_caches():
    """Bug caught: a clone that drops the float64 cache (the reference's) or fails for key=None (q-only)."""
    inp = Workload(batch_size=1, seq_len=4, num_heads=2, head_size=16, rotary_dim=8).make_inputs()
    c = inp.clone()
    assert c.cos_sin_cache_f64 is inp.cos_sin_cache_f64 and c.cos_sin_cache is inp.cos_sin_cache
    assert torch.equal(c.query, inp.query) and c.query.data_ptr() != inp.query.data_ptr()
    inp.key = None
    assert inp.clone().key is None


def test_cos_sin_cache_defaults_to_vllms_base():
    """Bug caught: a default base other than vLLM's 10000, for callers that leave it out."""
    assert torch.equal(cos_sin_cache(16, 8), cos_sin_cache(16, 8, 10000.0))
    assert not torch.equal(cos_sin_cache(16, 8), cos_sin_cache(16, 8, 500000.0))


def test_a_cuda_index_past_the_devices_is_one_line(monkeypatch):
    """Bug caught: the device index misread, or the last device's index accepted one past it. torch.cuda's
    two answers are faked: one GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("cuda:0")
    check_device("cuda")
    with pytest.raises(RopeBenchError, match=r"^device cuda:1 does not exist: this machine has 1 CUDA device\(s\)$"):
        check_device("cuda:1")
