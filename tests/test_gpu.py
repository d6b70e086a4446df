"""GPU-only: every backend right on the GPU, and the GPU timers' shape. Skips without a CUDA GPU;
the outcome on the H200 is recorded in docs/gpu-tests.md."""

import os

import pytest

import ropebench
from ropebench.backends import NAMES, get_backend
from ropebench.correctness import check_backend
from ropebench.workload import Workload

pytestmark = pytest.mark.gpu

SHAPES = {  # heads, kv heads, head size, rotary dim
    "seed (partial rotary)": (32, 32, 128, 32),
    "GQA, full rotary": (32, 8, 128, 128),
    "head 64": (16, 4, 64, 64),
    "head 256, rotary 64": (16, 16, 256, 64),
}


@pytest.mark.parametrize("backend", NAMES)
@pytest.mark.parametrize("style", ["neox", "gptj"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_backend_is_correct_on_gpu(backend, style, dtype, shape):
    heads, kv, head_size, rot = SHAPES[shape]
    w = Workload(batch_size=4, seq_len=128, num_heads=heads, num_kv_heads=kv, head_size=head_size, rotary_dim=rot,
                 style=style, dtype=dtype, device="cuda:0")
    b = get_backend(backend)
    reason = b.unsupported(w)
    if backend == "flashinfer" and dtype == "float32":
        assert reason and "fp32" in reason  # skipped with a reason, never run
        return
    if reason:
        pytest.skip(reason)
    check = check_backend(b, w)
    assert check.ok, check.detail


def test_graph_and_eager_timing_on_gpu():
    from ropebench.measure import measure

    w = Workload(batch_size=16, seq_len=512, num_heads=32, device="cuda:0")
    r = measure(w, "torch", samples=120)
    assert r.status == "ok" and r.correct
    k, e = r.kernel, r.eager
    assert k.method == "graph" and e.method == "eager"
    assert len(k.samples_us) + k.dropped == 120 and k.cold_l2 and k.sets >= 2
    assert k.p20_us <= k.median_us <= k.p80_us
    assert r.copy_gbps > 100 and 0 < r.pct_of_floor < 100


def test_apply_rope_checks_positions_before_launching():
    import torch

    w = Workload(batch_size=2, seq_len=8, num_heads=4, head_size=64, rotary_dim=32, device="cuda:0")
    inp = w.make_inputs()
    inp.positions[1, 3] = w.max_position + 5
    with pytest.raises(ValueError, match="positions must lie in"):
        ropebench.apply_rope(inp.positions, inp.query, inp.key, 64, inp.cos_sin_cache, True, backend="torch")
    torch.cuda.synchronize()  # no fault was queued


def test_suite_server_measures_on_gpu(tmp_path, monkeypatch):
    from ropebench.asvtools import suite

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROPEBENCH_DEVICE", raising=False)
    # pytest-xdist workers share the GPU: the guard would (rightly) call that contended.
    monkeypatch.setenv("ROPEBENCH_GUARD", "mark")
    info = suite.start_server()
    assert info["device"].startswith("cuda")
    try:
        reply = suite.ask(info, "time", "torch", dict(batch_size=4, seq_len=128, num_heads=32, head_size=128,
                                                      rotary_dim=32, style="neox", dtype="bfloat16"))
        assert len(reply["samples_s"]) >= 50
    finally:
        import shutil

        shutil.rmtree(tmp_path)  # the server leaves with its folder; else it would hold the GPU
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(info["pid"], 0)
            with open(f"/proc/{info['pid']}/stat") as f:
                if f.read().split()[2] == "Z":
                    break
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the measurement server outlived its folder")
