"""How fast `ropebench plan` walks a long history: a synthetic vLLM-shaped repository of --commits
commits (default 20,000) made with `git fast-import` in seconds, with --changes kernel changes
(kernel edits, closure-header edits, two era moves) among edits of other kernels in csrc/ (a quarter
of the commits, as vLLM's csrc/ churns), Python files and docs. It times the `ropebench plan` command
over the whole range, checks that it selected exactly the injected changes, and writes the figures with
the machine and date to --json (default docs/plan-benchmark.json).

    .venv/bin/python scripts/bench_plan.py [--commits 20000] [--changes 40] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ERAS = ROOT / "tests" / "fixtures" / "vllm_eras"
GOAL_S = 60.0


def era_files(era: str) -> dict[str, bytes]:
    base = ERAS / era
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted((base / "csrc").rglob("*")) if p.is_file()}


def _data(b: bytes) -> bytes:
    return b"data %d\n" % len(b) + b + b"\n"


def fast_import_stream(n_commits: int, n_changes: int, seed: int = 1):
    """The fast-import stream and the 1-based marks of the commits whose kernel key changes."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    # A tree of vLLM's order of size: 400 files in csrc/, 1500 elsewhere.
    for i in range(400):
        files[f"csrc/kernels/k{i:03d}.cu"] = b"// other kernel %d\n__global__ void k%d() {}\n" % (i, i)
    for i in range(1500):
        files[f"vllm/mod{i // 100}/f{i:04d}.py"] = b"x = %d\n" % i
    files.update(era_files("e3"))
    era_at = sorted(rng.sample(range(n_commits // 10, n_commits - 1), n_changes))
    moves = {era_at[len(era_at) // 3]: "e4", era_at[2 * len(era_at) // 3]: "e8"}
    era = "e3"
    changed = []
    out = [b"reset refs/heads/main\n"]
    for c in range(1, n_commits + 1):
        edits: dict[str, bytes | None] = {}
        if c == 1:
            edits = dict(files)
        elif c - 1 in moves:  # an era move: csrc/ replaced by the next era's kernel files
            old = era_files(era)
            era = moves[c - 1]
            new = era_files(era)
            edits = {**{k: None for k in old if k not in new}, **new}
            changed.append(c)
        elif c - 1 in era_at:
            kernel = "csrc/pos_encoding_kernels.cu"
            target = kernel if rng.random() < 0.7 else "csrc/dispatch_utils.h"
            edits = {target: files[target] + b"// change at commit %d\n" % c}
            changed.append(c)
        elif rng.random() < 0.25:
            k = f"csrc/kernels/k{rng.randrange(400):03d}.cu"
            edits = {k: files[k] + b"// edit %d\n" % c}
        elif rng.random() < 0.9:
            k = f"vllm/mod{rng.randrange(15)}/f{rng.randrange(1500):04d}.py"
            edits = {k: b"x = %d\n" % c}
        else:
            edits = {"README.md": b"readme %d\n" % c}
        out.append(b"commit refs/heads/main\nmark :%d\n" % c)
        out.append(b"committer bench <bench@ropebench.invalid> %d +0000\n" % (1_600_000_000 + 60 * c))
        out.append(_data(b"commit %d" % c))
        if c > 1:
            out.append(b"from :%d\n" % (c - 1))
        for path, content in edits.items():
            if content is None:
                out.append(b"D %s\n" % path.encode())
                files.pop(path, None)
            else:
                out.append(b"M 100644 inline %s\n" % path.encode() + _data(content))
                files[path] = content
        out.append(b"\n")
    return b"".join(out), changed


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "git": git}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--keep", help="build the repository here and keep it")
    ap.add_argument("--json", default=str(ROOT / "docs" / "plan-benchmark.json"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        repo = Path(args.keep or Path(tmp) / "vllm")
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        t0 = time.monotonic()
        stream, changed = fast_import_stream(args.commits, args.changes)
        subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=stream, check=True)
        build_s = time.monotonic() - t0
        print(f"history: {args.commits} commits, {len(changed)} kernel changes, built in {build_s:.1f} s",
              file=sys.stderr)
        hashfile = Path(tmp) / "plan.txt"
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "ropebench", "plan", str(repo), "main", "--out", str(hashfile)],
                              capture_output=True, text=True)
        plan_s = time.monotonic() - t0
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return 1
        summary = json.loads(proc.stdout)
        marks = subprocess.run(["git", "-C", str(repo), "rev-list", "--reverse", "main"], capture_output=True,
                               text=True, check=True).stdout.split()
        want = {marks[c - 1] for c in changed} | {marks[0]}  # the first commit brings the kernel
        got = {e["commit"] for e in summary["selected"] if "kernel-changed" in e["reasons"]}
    record = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
        "commits": summary["commits_walked"], "kernel_changes_injected": len(want),
        "kernel_changes_selected": len(got), "selection_exact": got == want,
        "selected": summary["selected_count"], "plan_seconds_wall": round(plan_s, 2),
        "plan_seconds_walk": summary["seconds"], "history_build_seconds": round(build_s, 2),
        "goal_seconds": GOAL_S, "goal_met": plan_s < GOAL_S,
    }
    Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0 if record["selection_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
