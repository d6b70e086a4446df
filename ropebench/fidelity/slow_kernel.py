"""The detection test's slow kernel: a copy of vLLM's kernel made slower in proportion to its work,
calibrated to a target slowdown, built by build-kernel and timed in a fresh process."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.fidelity.scratch import checked
from ropebench.kernels.loader import PACKAGE


def kernel_path(src: Path) -> Path:
    from ropebench.kernels.source import read_kernel

    return src / read_kernel(src, "cuda").kernel


SLOW_COPY_WORDS = ("each thread of the vLLM kernel spins {cycles} SM clock cycles (clock64) for every rotation "
                   "pair it will do, before its work, so the delay grows with the heads per token as a slower "
                   "inner loop's would.")


def slow_copy(source: str, cycles: int) -> str:
    """The kernel source made slower in proportion to its work: each thread busy-waits ``cycles`` SM
    cycles for every rotation pair it will do (the kernel's own loop bounds; every era's kernel has these
    parameter names). A clock64 spin, not __nanosleep: a sleeping warp costs ~9% here even at 0 ns."""
    m = re.search(r"__global__\s+void\s+rotary_embedding_kernel\s*\(", source)
    if not m:
        raise RopeBenchError("no rotary_embedding_kernel definition to slow down in this source")
    brace = source.index("{", m.end())
    inject = ("\n  // ropebench fidelity: deliberate slowdown (a local copy, never committed)\n"
              "  {\n    const int rb_pairs = (num_heads + num_kv_heads) * (rot_dim / 2);\n"
              "    const int rb_mine = (rb_pairs - (int)threadIdx.x + (int)blockDim.x - 1) / (int)blockDim.x;\n"
              f"    const long long rb_until = clock64() + (long long)rb_mine * {int(cycles)};\n"
              "    while (clock64() < rb_until) {}\n  }\n")
    return source[:brace + 1] + inject + source[brace + 1:]


def build_and_time(src: Path, device: str, out: Path) -> float:
    """Build a tree's kernel and time it at the headline, in a fresh process (a new op namespace)."""
    checked([sys.executable, "-m", "ropebench", "build-kernel", str(src), "--out", str(out)],
             f"build-kernel {src.name}")
    wheel = next(out.glob("*.whl"))
    unpacked = out / "unpacked"
    shutil.unpack_archive(str(wheel), str(unpacked), "zip")
    code = ("import json, sys; from ropebench.backends.vllm import VllmBackend; from ropebench.measure import measure;"
            "from ropebench.workload import Workload;"
            f"r = measure(Workload(batch_size=16, seq_len=512, num_heads=32, device='{device}'),"
            " VllmBackend(sys.argv[1]), eager=False); print(json.dumps(r.median_us))")
    stdout = checked([sys.executable, "-c", code, str(unpacked / PACKAGE)], f"timing {src.name}")
    us = float(stdout.strip().splitlines()[-1])
    if us != us:  # NaN: the point was skipped or failed
        raise RopeBenchError(f"timing {src.name} gave no number (the vllm backend did not run)")
    return us


def slow_build_time(src: Path, rel: Path, base_text: str, cycles: int, device: str, work: Path) -> float:
    tree = work / f"slow-{cycles}"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns(".git"))
    (tree / rel).write_text(slow_copy(base_text, cycles))
    return build_and_time(tree, device, work / f"build-{cycles}")


def calibrate(slowdown_at, target: float, history: list, log, first: int = 100, steps: int = 8) -> int:
    """The delay (cycles per pair) giving about ``target`` slowdown. The response need not be linear (a
    short delay can hide behind other blocks' memory traffic, then show), so: grow 4x until past the
    target, then bisect; stop within [0.7, 1.5] x target. Each step is one build and one timing."""
    lo, hi, amount = 0, None, first
    for _ in range(steps):
        got = slowdown_at(amount)
        history.append(dict(cycles=amount, slowdown=got))
        log(f"  calibration: {amount} cycles per pair -> {100 * got:+.1f}% at the headline")
        if 0.7 * target <= got <= 1.5 * target:
            return amount
        if got < target:
            lo = amount
            amount = amount * 4 if hi is None else (lo + hi) // 2
        else:
            hi = amount
            amount = (lo + hi) // 2
        if any(h["cycles"] == amount for h in history):  # the bisection has closed: no new probe left
            break
    return min(history, key=lambda h: abs(h["slowdown"] - target))["cycles"]
