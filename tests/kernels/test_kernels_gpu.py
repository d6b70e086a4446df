"""On a real GPU: build every era's CUDA fixture for the local arch and prove it right through the
vllm backend against the float64 reference (E0: NeoX only; E4+: also without a key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .kernel_helpers import ERAS_DIR, cli, unpack

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CHECK = """
import sys
from ropebench.backends.vllm import VllmBackend
from ropebench.correctness import check_backend
from ropebench.workload import Workload
b = VllmBackend()
styles = ("neox", "gptj") if b.op()[0].has_is_neox else ("neox",)
bad = 0
for style in styles:
    for dtype in ("bfloat16", "float16", "float32"):
        for heads, kv, hs, rot in ((32, 32, 128, 32), (8, 2, 64, 64), (4, 4, 80, 32)):
            w = Workload(batch_size=4, seq_len=33, num_heads=heads, num_kv_heads=kv, head_size=hs,
                         rotary_dim=rot, style=style, dtype=dtype, device="cuda")
            c = check_backend(b, w)
            print(style, dtype, heads, kv, hs, rot, c.summary())
            bad += not c.ok
sys.exit(1 if bad else 0)
"""


@pytest.mark.parametrize("era", ["e0", "e1", "e2", "e3", "e4", "e6", "e7", "e8"])
def test_era_kernel_is_correct_on_gpu(era, tmp_path, cache_dir):
    proc = cli("build-kernel", ERAS_DIR / era, "--out", tmp_path / "out", "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr
    op_dir = unpack(Path(proc.stdout.strip()), tmp_path / "unpacked")
    assert json.loads((op_dir / "build.json").read_text())["device"] == "cuda"
    env = {**os.environ, "ROPEBENCH_VLLM_OP": str(op_dir)}
    check = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
