"""`ropebench run` as a user runs it: bad input gives exit 2 and one line; the CPU grid writes its files."""

import csv
import json

import pytest
import torch

import ropebench
from ropebench.result import CSV_COLUMNS
from ropebench.workload import Workload

HAS_GPU = torch.cuda.is_available()

BAD = [
    (["--rotary-dim", "33"], "rotary_dim must be even"),
    (["--rotary-dim", "0"], "rotary_dim must be a positive integer"),
    (["--rotary-dim", "256"], "must not exceed head_size"),
    (["--num-heads", "32", "--num-kv-heads", "5"], "divisible by num_kv_heads"),
    (["--dtype", "int8"], "unknown dtype"),
    (["--batch-size", "-4"], "batch_size must be a positive integer"),
    (["--head-size", "-128"], "head_size must be a positive integer"),
    (["--is-neox-style", "maybe"], "expected true or false"),
    (["--backends", "no-such-backend"], "unknown backend"),
    (["--grid-batch", "1,x"], "comma-separated integers"),
    (["--device", "npu:0"], "unknown device"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_is_one_line_and_exit_2(cli_main, args, message):
    p = cli_main("run", "--single", "--device", "cpu", *args) if "--device" not in args else cli_main("run", *args)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(HAS_GPU, reason="checks the message on a machine without a GPU")
def test_cuda_device_without_gpu(cli_main):
    p = cli_main("run", "--device", "cuda:0", "--single")
    assert p.returncode == 2 and "no usable CUDA GPU" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_unknown_command_and_flag(cli_main):
    for args in (["frobnicate"], ["run", "--no-such-flag"]):
        p = cli_main(*args)
        assert p.returncode == 2 and "Traceback" not in p.stderr


@pytest.mark.parametrize("positions,message", [(8192, r"positions must lie in \[0, 8192\)"),
                                               (-1, r"positions must lie in")])
def test_apply_rope_rejects_positions_outside_the_cache(positions, message):
    w = Workload(batch_size=1, seq_len=4, num_heads=2, head_size=64, rotary_dim=32, dtype="float32")
    inp = w.make_inputs()
    inp.positions[0, 1] = positions
    with pytest.raises(ValueError, match=message) as err:
        ropebench.apply_rope(inp.positions, inp.query, inp.key, 64, inp.cos_sin_cache, True)
    assert "\n" not in str(err.value)


def test_apply_rope_rejects_inconsistent_shapes():
    w = Workload(batch_size=2, seq_len=4, num_heads=2, head_size=64, rotary_dim=32, dtype="float32")
    inp = w.make_inputs()
    with pytest.raises(ValueError, match="does not match positions"):
        ropebench.apply_rope(inp.positions[:1], inp.query, inp.key, 64, inp.cos_sin_cache, True)
    with pytest.raises(ValueError, match="not a multiple of head_size"):
        ropebench.apply_rope(inp.positions, inp.query, inp.key, 48, inp.cos_sin_cache, True)
    with pytest.raises(ValueError, match="must not exceed head_size"):
        ropebench.apply_rope(inp.positions, inp.query, inp.key, 16, inp.cos_sin_cache, True)


def test_run_cpu_grid_writes_csv_and_plots(cli, tmp_path):
    out = tmp_path / "out"
    p = cli("run", "--device", "cpu", "--styles", "neox,gptj", "--grid-batch", "1,2", "--grid-seq-len", "16",
            "--grid-heads", "4,8", "--samples", "20", "--save-path", out)
    assert p.returncode == 0, p.stderr
    # (e) backends that cannot run are listed with their reasons
    assert "skipped backend flashinfer: runs on cuda only" in p.stdout.replace("\n", " ")
    assert "skipped backend vllm" in p.stdout
    out = out / "latest"
    rows = list(csv.DictReader((out / "rope.csv").open()))
    assert list(rows[0]) == CSV_COLUMNS
    assert len(rows) == 2 * 2 * 2  # styles x batch x heads, torch only
    for r in rows:
        assert r["backend"] == "torch" and r["status"] == "ok" and r["correct"] == "True"
        assert float(r["p20_us"]) <= float(r["median_us"]) <= float(r["p80_us"])
        assert float(r["gbps"]) > 0 and float(r["pct_of_floor"]) > 0 and r["speedup_vs_torch"] == "1.000"
        # Floor bytes: rotated part (32 of 128) of q and k (2 x heads), bf16, read and written, 16 tokens per
        # batch: 2 x 16 x 2 x 32 x 2 = 4096 bytes per batch and head.
        b, h = int(r["batch_size"]), int(r["num_heads"])
        assert int(r["floor_bytes"]) == 4096 * b * h
        # The CSV's columns agree with each other: floor time is those bytes at the copy bandwidth, the
        # percentage is floor time over measured time, GB/s the bytes over measured time (printed rounded).
        nbytes, median, copy = 4096 * b * h, float(r["median_us"]), float(r["copy_gbps"])
        assert float(r["floor_us"]) == pytest.approx(nbytes / (copy * 1e3), rel=1e-2, abs=6e-4)
        assert float(r["pct_of_floor"]) == pytest.approx(100 * nbytes / (copy * 1e3) / median, rel=1e-2, abs=0.06)
        assert float(r["gbps"]) == pytest.approx(nbytes / (median * 1e3), rel=1e-2, abs=0.06)
    meta = json.loads((out / "run.json").read_text())
    assert meta["machine"]["torch"] == torch.__version__
    import matplotlib.image as mpimg

    for style in ("neox", "gptj"):
        for kind in ("perf", "floor"):
            img = mpimg.imread(out / f"rope-{kind}-{style}.png")
            assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 0.01


def test_is_neox_style_false_means_gptj(cli, tmp_path):
    p = cli("run", "--device", "cpu", "--single", "--is-neox-style", "False", "--batch-size", "1", "--seq-len",
            "8", "--num-heads", "2", "--samples", "5", "--save-path", tmp_path)
    assert p.returncode == 0, p.stderr
    row = next(csv.DictReader((tmp_path / "latest" / "rope.csv").open()))
    assert row["style"] == "gptj"


@pytest.mark.skipif(HAS_GPU, reason="checks the refusal on a machine without a GPU")
def test_fidelity_refuses_without_gpu(cli_main):
    p = cli_main("fidelity")
    assert p.returncode == 2
    assert "fidelity measures a GPU and this machine has none" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["run", "--device", "cpu", "--single", "--save-path", "{file}"], "is a file"),
    (["machine", "--file", "{missing}/x.json"], "No such file or directory"),
    (["merge", "{file}", "{tmp}"], "not a file"),
    (["run", "--device", "cpu", "--single", "--styles", ","], "--styles is empty"),
])
def test_bad_paths_are_one_line_and_exit_2(cli_main, tmp_path, args, message):
    file = tmp_path / "a-file"
    file.write_text("x")
    args = [a.format(file=file, missing=tmp_path / "missing", tmp=tmp_path) for a in args]
    p = cli_main(*args)
    assert p.returncode == 2 and message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_failing_backend_is_a_result_not_a_crash(monkeypatch):
    from ropebench.backends.torch_native import TorchBackend
    from ropebench.measure import cuda_fault, measure

    class Faulty(TorchBackend):
        def apply(self, *args):
            raise RuntimeError("CUDA error: misaligned address\nmore lines")

    w = Workload(batch_size=1, seq_len=4, num_heads=2, head_size=64, rotary_dim=32)
    r = measure(w, Faulty(), samples=5)
    assert r.status == "error" and r.reason == "RuntimeError: CUDA error: misaligned address"
    assert cuda_fault(r)


def test_apply_rope_checks_what_the_backend_takes():
    w = Workload(batch_size=1, seq_len=4, num_heads=2, head_size=64, rotary_dim=32, dtype="float32")
    inp = w.make_inputs()
    from ropebench.backends import get_backend

    assert "float32 cos_sin_cache" in get_backend("flashinfer").input_problem(inp.positions, inp.query,
                                                                              inp.cos_sin_cache.half())
    assert "does not take float32" in get_backend("flashinfer").input_problem(inp.positions, inp.query,
                                                                              inp.cos_sin_cache)
    assert "int64 positions" in get_backend("vllm").input_problem(inp.positions.int(), inp.query, inp.cos_sin_cache)
    assert get_backend("torch").input_problem(inp.positions, inp.query, inp.cos_sin_cache) is None
