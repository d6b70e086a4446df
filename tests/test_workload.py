"""Workload validation, inputs made as vLLM makes them, and the byte model."""

import pytest
import torch

from ropebench.errors import RopeBenchError
from ropebench.grid import SEED
from ropebench.workload import Workload, cos_sin_cache, seed_grid


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
    flat = w.replace(flat_positions=True).make_inputs()
    assert flat.positions.shape == (21,) and flat.query.shape == (21, 512)


def test_cos_sin_cache_halves_and_frequencies():
    cache = cos_sin_cache(16, 8, base=10000.0)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, 8, 2, dtype=torch.float64) / 8))
    pos = torch.arange(16, dtype=torch.float64)[:, None]
    assert torch.allclose(cache[:, :4], torch.cos(pos * inv_freq))
    assert torch.allclose(cache[:, 4:], torch.sin(pos * inv_freq))


def test_byte_model():
    w = Workload(batch_size=16, seq_len=512, num_heads=32, head_size=128, rotary_dim=32, dtype="bfloat16")
    # rotated part of q and k (32+32 heads x 32 elements x 2 bytes), read and written, per token
    assert w.floor_bytes() == 2 * 16 * 512 * 64 * 32 * 2
    assert w.full_head_bytes() == 4 * w.floor_bytes()
    gqa = w.replace(num_kv_heads=8, rotary_dim=128)
    assert gqa.floor_bytes() == gqa.full_head_bytes() == 2 * 16 * 512 * 40 * 128 * 2


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
