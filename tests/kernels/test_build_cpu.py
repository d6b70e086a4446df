"""build-kernel for real on CPU: the fixture kernels compile with the host compiler, package as a
wheel that pip installs, and the vllm backend runs them correctly against the float64 reference.

Compiles are shared: the stable CPU fixture (e7, ~5 s) is built once per session; the legacy one
(e4, ~20 s) once; a broken copy and a PASSES=2 copy once each.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from ropebench.errors import EXIT_NO_KERNEL

from .kernel_helpers import ERAS_DIR, cli, fixture_repo, throwaway_venv, unpack

pytestmark = pytest.mark.slow  # every test here compiles a kernel or uses one compiled

CHECK_SNIPPET = """
import sys
from ropebench.backends.vllm import VllmBackend
from ropebench.correctness import check_backend
from ropebench.workload import Workload
b = VllmBackend()
bad = 0
for style in ("neox", "gptj"):
    for dtype in ("float32", "bfloat16", "float16"):
        for rot in (32, 64):
            w = Workload(batch_size=2, seq_len=24, num_heads=4, head_size=64, rotary_dim=rot, style=style,
                         dtype=dtype, device="cpu", max_position=512)
            c = check_backend(b, w)
            print(style, dtype, rot, c.summary())
            bad += not c.ok
print(b.describe())
sys.exit(1 if bad else 0)
"""


def build(checkout, out, cache, *extra, env=None):
    return cli("build-kernel", checkout, "--out", out, "--device", "cpu", "--cache-dir", cache, *extra, env=env)


@pytest.fixture(scope="session")
def stable_cpu(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("out-e7")
    t0 = time.monotonic()
    proc = build(ERAS_DIR / "e7", out, cache_dir)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip()), time.monotonic() - t0, proc


def run_check(op_dir=None, python=None):
    env = dict(os.environ)
    env.pop("ROPEBENCH_VLLM_OP", None)
    if op_dir:
        env["ROPEBENCH_VLLM_OP"] = str(op_dir)
    return subprocess.run([python or sys.executable, "-c", CHECK_SNIPPET], capture_output=True, text=True,
                          env=env, timeout=300)


def test_wheel_is_complete_and_alone_in_out(stable_cpu):
    wheel, _, proc = stable_cpu
    assert wheel.name.startswith("ropebench_vllm_kernel-0.1.0+") and wheel.suffix == ".whl"
    assert [p.name for p in wheel.parent.iterdir()] == [wheel.name]  # nothing half-built beside it
    assert "compiler log:" in proc.stderr
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = json.loads(zf.read("ropebench_vllm_kernel/build.json"))
        record = zf.read(next(n for n in names if n.endswith("RECORD"))).decode()
        for line in record.splitlines():
            path, digest, size = line.rsplit(",", 2)
            if digest:
                data = zf.read(path)
                want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert digest == want and int(size) == len(data), path
    for key in ("namespace", "library", "op", "device", "traits", "commit", "abi", "flags", "torch", "cuda",
                "arch", "source_hash"):
        assert key in info, key
    assert info["device"] == "cpu" and info["abi"] == "stable" and info["op"] == "rotary_embedding"
    assert info["namespace"] == "rb_" + info["source_hash"][:10]
    assert f"ropebench_vllm_kernel/{info['library']}" in names
    assert info["traits"]["kernel"] == "csrc/libtorch_stable/cpu/pos_encoding.cpp"
    assert "-DTORCH_TARGET_VERSION=0x020B000000000000ULL" in info["flags"]["cflags"]
    assert info["commit"] is None  # the fixture folder is not the top of a git work tree


def test_stable_cpu_kernel_is_correct_through_the_vllm_backend(stable_cpu, tmp_path):
    op_dir = unpack(stable_cpu[0], tmp_path)
    proc = run_check(op_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "built kernel (stable ABI" in proc.stdout


def test_wheel_pip_installs_and_is_found_without_env(stable_cpu, tmp_path):
    py = throwaway_venv(tmp_path / "venv")
    pip = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(stable_cpu[0])],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    proc = run_check(python=str(py))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    un = subprocess.run([str(py), "-m", "pip", "uninstall", "-y", "ropebench-vllm-kernel"],
                        capture_output=True, text=True)
    assert un.returncode == 0, un.stderr


def test_rebuild_is_served_from_cache_and_records_the_commit(stable_cpu, tmp_path, cache_dir):
    repo = tmp_path / "vllm"
    shas = fixture_repo.make_fixture_repo(repo, [("e7", 1)])
    t0 = time.monotonic()
    proc = build(repo, tmp_path / "out", cache_dir)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert "from cache" in proc.stderr
    assert took < stable_cpu[1] + 5  # no compile
    with zipfile.ZipFile(proc.stdout.strip()) as zf:
        info = json.loads(zf.read("ropebench_vllm_kernel/build.json"))
        lib = zf.read(f"ropebench_vllm_kernel/{info['library']}")
    assert info["commit"] == shas[0] and info["dirty"] is False
    with zipfile.ZipFile(stable_cpu[0]) as zf:
        assert zf.read(f"ropebench_vllm_kernel/{info['library']}") == lib


def test_cache_dir_from_env(stable_cpu, tmp_path, cache_dir):
    # The env var names the cache; an empty cache there means a real compile would be needed, so
    # point it at the session cache and expect a hit.
    proc = cli("build-kernel", ERAS_DIR / "e7", "--out", tmp_path, "--device", "cpu",
               env={"ROPEBENCH_CACHE": str(cache_dir)})
    assert proc.returncode == 0 and "from cache" in proc.stderr, proc.stderr


def test_compile_error_is_one_line_with_a_log_and_leaves_nothing(tmp_path, cache_dir):
    shutil.copytree(ERAS_DIR / "e7", tmp_path / "v")
    kernel = tmp_path / "v" / "csrc/libtorch_stable/cpu/pos_encoding.cpp"
    kernel.write_text(kernel.read_text().replace("const int64_t half = rot_dim / 2;",
                                                 "const int64_t half = rot_dim / 2 +;"))
    out = tmp_path / "out"
    proc = build(tmp_path / "v", out, cache_dir)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "error" in lines[0] and "full compiler log: " in lines[0]
    log = Path(lines[0].split("full compiler log: ")[1].rstrip(")"))
    assert log.is_file() and "pos_encoding.cpp" in log.read_text()
    assert not out.exists() or not any(out.iterdir())


def test_out_that_is_a_file_is_one_line(stable_cpu, tmp_path, cache_dir):
    (tmp_path / "f").write_text("x")
    proc = build(ERAS_DIR / "e7", tmp_path / "f", cache_dir)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_missing_kernel_exits_no_kernel_and_leaves_nothing(tmp_path, cache_dir):
    (tmp_path / "v" / "csrc").mkdir(parents=True)
    proc = build(tmp_path / "v", tmp_path / "out", cache_dir)
    assert proc.returncode == EXIT_NO_KERNEL and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cuda_without_a_cuda_torch_or_arch_is_a_clear_error(tmp_path):
    import torch

    proc = cli("build-kernel", ERAS_DIR / "e8", "--out", tmp_path, "--device", "cuda",
               env={"TORCH_CUDA_ARCH_LIST": ""})
    if torch.version.cuda is None:
        assert proc.returncode == 2 and "no CUDA build" in proc.stderr
    elif not torch.cuda.is_available():
        assert proc.returncode == 2 and "--arch" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = cli("build-kernel", ERAS_DIR / "e8", "--out", tmp_path, "--device", "cuda", "--arch", "ninety")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.slow  # a ~20 s compile: the fast suite keeps the stable one
def test_legacy_cpu_kernel_builds_and_is_correct(tmp_path, cache_dir):
    proc = build(ERAS_DIR / "e4", tmp_path / "out", cache_dir)
    assert proc.returncode == 0, proc.stderr
    op_dir = unpack(Path(proc.stdout.strip()), tmp_path / "unpacked")
    assert json.loads((op_dir / "build.json").read_text())["abi"] == "legacy"
    check = run_check(op_dir)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow  # a second compile of e7
def test_passes_2_is_correct(stable_cpu, tmp_path, cache_dir):
    """The knob the asv end-to-end tests use to make a regression: same output, more work (how much
    slower it runs is measured by scripts/bench_fixture_passes.py, not asserted here)."""
    repo = tmp_path / "v"
    fixture_repo.copy_era("e7", repo, passes=2)
    assert "#define ROPEBENCH_FIXTURE_PASSES 2" in (repo / fixture_repo.PASSES_FILE["e7"]).read_text()
    proc = build(repo, tmp_path / "out", cache_dir)
    assert proc.returncode == 0, proc.stderr
    slow = unpack(Path(proc.stdout.strip()), tmp_path / "slow")
    assert json.loads((slow / "build.json").read_text())["source_hash"] != json.loads(
        (unpack(stable_cpu[0], tmp_path / "fast") / "build.json").read_text())["source_hash"]
    check = run_check(slow)
    assert check.returncode == 0, check.stdout + check.stderr
