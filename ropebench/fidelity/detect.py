"""Detection power: a slow copy of vLLM's kernel against the unchanged one through real
``asv continuous``, then identical reruns; each run's verdicts read back through ropebench compare
(asv's own loaders and significance rule), not from asv's printed table."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ropebench.fidelity import slow_kernel as sk
from ropebench.fidelity.scratch import checked, scratch_repo

DETECT_SHAPES = [(4, 256, 32), (16, 512, 32), (16, 1024, 48), (64, 512, 32), (64, 1024, 48)]
TARGET_DEFAULT = 0.05
MACHINE = "fidelity"
REPO_ROOT = Path(__file__).resolve().parents[2]  # asv.conf.json and benchmarks/ (a source checkout)


def detection(vllm_src: Path, device: str, args, log) -> dict:
    work = Path(tempfile.mkdtemp(prefix="ropebench-fidelity-"))
    try:
        result = _detection(vllm_src, device, args, log, work)
    except BaseException:
        log(f"  (kept {work} for inspection)")
        raise
    shutil.rmtree(work, ignore_errors=True)
    return result


def selected_points() -> str:
    """asv's -b regex for the vLLM NeoX points at DETECT_SHAPES, built from the suite's class."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.rope import RoPE
    from ropebench.asvtools.suite import selection

    return selection(RoPE, "time_rope", [dict(backend="vllm", style="neox", batch=b, seq_len=s, heads=h)
                                         for b, s, h in DETECT_SHAPES])


def verdicts(results: Path, base: str, head: str, factor: float, machine: str = MACHINE) -> dict:
    """The flagged points (regressed or failed) and every point's head/base ratio."""
    from ropebench.asvtools.compare import compare

    cmp = compare(results, base, head, machine=machine, factor=factor)
    flagged = [f"{r.benchmark}({r.params})" for r in cmp.rows if r.status in ("regressed", "failed")]
    ratios = {f"{r.benchmark}({r.params})": round(r.ratio, 3) for r in cmp.rows if r.ratio is not None}
    return dict(flagged=len(flagged), rows=flagged, ratios=ratios)


def _detection(vllm_src: Path, device: str, args, log, work: Path) -> dict:
    from ropebench.asvtools.config import derived_conf

    kernel = sk.kernel_path(vllm_src)
    rel = kernel.relative_to(vllm_src)
    base_text = kernel.read_text()
    # Calibrate the delay to the target slowdown at the headline shape (slowdown grows with it).
    base_us = sk.build_and_time(vllm_src, device, work / "b0")
    cycles, calibration = args.slow_cycles, []
    if cycles is None:
        cycles = sk.calibrate(lambda n: sk.slow_build_time(vllm_src, rel, base_text, n, device, work) / base_us - 1,
                           args.target_slowdown, calibration, log)
    repo = scratch_repo(vllm_src, work / "repo", rel, sk.slow_copy(base_text, cycles))
    derived_conf(REPO_ROOT / "asv.conf.json", work / "asv.conf.json", repo=str(repo.path),
                 branches=["main", "slow"], env_dir=str(work / "env"), results_dir=str(work / "results"),
                 html_dir=str(work / "html"))
    points = selected_points()
    checked([sys.executable, "-m", "asv", "machine", "--yes", "--machine", MACHINE], "asv machine", cwd=work)
    runs = []
    for label, head in [("slow", repo.slow)] * args.tries + [("identical", repo.same)] * args.tries:
        t0 = time.monotonic()
        # The server ignores ROPEBENCH_VLLM_OP: under asv the op is the one asv built for the commit.
        p = subprocess.run([sys.executable, "-m", "asv", "continuous", "--factor", str(args.factor),
                            "--machine", MACHINE, "--show-stderr", "--no-only-changed", "-b", points,
                            repo.base, head], cwd=work, capture_output=True, text=True, timeout=1800)
        runs.append(dict(kind=label, exit=p.returncode, **verdicts(work / "results", repo.base, head, args.factor),
                         seconds=round(time.monotonic() - t0, 1), output_tail=p.stdout[-800:]))
        log(f"  asv continuous base {label}: exit {p.returncode}, {runs[-1]['flagged']} flagged")
    return dict(cycles=cycles, slow_copy=sk.SLOW_COPY_WORDS.format(cycles=cycles), target=args.target_slowdown,
                calibration=calibration, base_headline_us=base_us,
                factor=args.factor, shapes=[list(s) for s in DETECT_SHAPES], runs=runs)
