"""How much slower the e7 CPU fixture runs with ROPEBENCH_FIXTURE_PASSES=2 (the knob the asv end-to-end
tests use to make a regression). A benchmark, not a test: it prints the ratio with date and machine.

    .venv/bin/python scripts/bench_fixture_passes.py    # expect about 2x (less when memory-bound)
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "kernels"))
from kernel_helpers import ERAS_DIR, fixture_repo  # noqa: E402

TIMING = """
import sys, time, torch
from ropebench.kernels.loader import read_build
op = read_build(sys.argv[1])
torch.manual_seed(0)
T, H, D, R = 512, 8, 128, 32  # bf16, seed-like rotary 32 of 128
pos = torch.randint(0, 1024, (T,))
q = torch.randn(T, H * D, dtype=torch.bfloat16); k = torch.randn(T, H * D, dtype=torch.bfloat16)
cache = torch.randn(1024, R, dtype=torch.bfloat16)
best = float("inf")
for _ in range(30):
    t = time.perf_counter(); op(pos, q, k, D, cache, True); best = min(best, time.perf_counter() - t)
print(best)
"""


def built(checkout: Path, tmp: Path) -> Path:
    out = tmp / (checkout.name + "-out")
    wheel = subprocess.run([sys.executable, "-m", "ropebench", "build-kernel", str(checkout), "--out", str(out),
                            "--device", "cpu"], check=True, capture_output=True, text=True).stdout.strip()
    op_dir = tmp / (checkout.name + "-op")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(op_dir)
    return next(p.parent for p in op_dir.rglob("build.json"))


def best_seconds(op_dir: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", TIMING, str(op_dir)], check=True, capture_output=True, text=True,
                         env=env).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        slow_repo = tmp / "passes2"
        fixture_repo.copy_era("e7", slow_repo, passes=2)
        fast, slow = built(ERAS_DIR / "e7", tmp), built(slow_repo, tmp)
        ratio = best_seconds(slow) / best_seconds(fast)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {platform.node()} "
          f"({os.cpu_count()} cores, {platform.processor() or platform.machine()}): "
          f"PASSES=2 / PASSES=1 best-of-30 time ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
