"""nvcc compile-and-link of a legacy and a stable fixture, without a GPU: a CUDA-enabled torch
suffices (CI runs these in the CUDA venv; see docs/kernels.md). Each build also loads the library
in the builder's child process, so a link or registration error fails the build."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from .kernel_helpers import ERAS_DIR, cli

torch = pytest.importorskip("torch")

def _nvcc() -> bool:
    import os
    import shutil

    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    return shutil.which("nvcc") is not None or os.path.exists(os.path.join(home, "bin", "nvcc"))


pytestmark = [
    pytest.mark.cuda_build,
    pytest.mark.slow,
    pytest.mark.skipif(torch.version.cuda is None,
                       reason=f"torch {torch.__version__} has no CUDA build: nvcc builds need a CUDA-enabled torch"),
    pytest.mark.skipif(not _nvcc(), reason="no CUDA toolkit (nvcc) on this machine"),
]


@pytest.mark.parametrize("era", ["e8", "e0"])  # stable (cache_t, extras); legacy (int head_size, NeoX only)
def test_fixture_compiles_links_and_registers_its_schema(era, tmp_path, cache_dir):
    proc = cli("build-kernel", ERAS_DIR / era, "--out", tmp_path, "--device", "cuda", "--arch", "9.0",
               "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr
    wheel = Path(proc.stdout.strip())
    with zipfile.ZipFile(wheel) as zf:
        info = json.loads(zf.read("ropebench_vllm_kernel/build.json"))
        zf.extractall(tmp_path / "unpacked")
    expected = json.loads(cli("kernel-info", ERAS_DIR / era).stdout)
    assert info["traits"] == expected and info["device"] == "cuda" and info["arch"] == "9.0"
    assert info["cuda"] and info["torch_cuda"] == torch.version.cuda
    if info["abi"] == "stable":
        assert "-DUSE_CUDA" in info["flags"]["cuda_cflags"] and "-std=c++20" in info["flags"]["cuda_cflags"]
    # Load it here too (no GPU needed) and read back the schema the binding registered.
    torch.ops.load_library(str(tmp_path / "unpacked" / "ropebench_vllm_kernel" / info["library"]))
    op = getattr(torch.ops, info["namespace"]).rotary_embedding
    want = torch._C.parse_schema(f"{info['namespace']}::{expected['schema']}")
    assert str(op.default._schema) == str(want)
