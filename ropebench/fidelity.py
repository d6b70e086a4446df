"""``ropebench fidelity``: how far the numbers can be trusted, measured on the GPU and written to docs/.

1. Agreement: ropebench's kernel time (events around CUDA-graph replays) against torch.profiler's
   per-kernel CUDA time (CUPTI) for the same replays, per backend, at five shapes.
2. Repeatability: five separate processes on a small, the headline and a large shape; the spread.
3. Detection power: a copy of a vLLM kernel made about 5% slower (a busy-wait per rotation pair added to a
   source copy that is never committed), built by build-kernel, against the unchanged one through
   real ``asv continuous``; then identical reruns, which must flag nothing.
4. Roofline: each backend over the seed grid in µs, GB/s and % of the floor, as a table and a plot.
This is a benchmark command, not a test: it refuses to run without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.grid import SEED
from ropebench.kernels.loader import ENV_OP_DIR, PACKAGE

AGREEMENT_SHAPES = [(1, 1, 32), (4, 128, 32), (16, 512, 32), (64, 256, 48), (64, 1024, 48)]
REPEAT_SHAPES = [(1, 64, 32), (16, 512, 32), (64, 1024, 48)]
DETECT_SHAPES = [(4, 256, 32), (16, 512, 32), (16, 1024, 48), (64, 512, 32), (64, 1024, 48)]
TARGET_DEFAULT = 0.05
GOALS = dict(cupti_pct=3.0, spread_large_pct=2.0, spread_small_pct=5.0, large_us=10.0)


def add_arguments(p) -> None:
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--backends", default="torch,flashinfer,vllm")
    p.add_argument("--out", default="docs/fidelity.md", help="report (a JSON and a PNG go beside it)")
    p.add_argument("--processes", type=int, default=5, help="separate processes for repeatability")
    p.add_argument("--vllm-src", default=None,
                   help="a vLLM checkout (or a tree with its RoPE kernel) for the detection-power test")
    p.add_argument("--slow-cycles", type=int, default=None,
                   help="the slow copy's busy-wait per rotation pair, SM cycles (default: calibrate)")
    p.add_argument("--target-slowdown", type=float, default=TARGET_DEFAULT)
    p.add_argument("--factor", type=float, default=1.03, help="asv continuous --factor for detection")
    p.add_argument("--tries", type=int, default=3, help="asv continuous runs, slow and identical each")
    p.add_argument("--parts", default="agreement,repeat,detect,roofline",
                   help="comma list of agreement, repeat, detect, roofline (detect needs --vllm-src)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # one repeatability process


def _workload(shape, device, style="neox", **extra):
    from ropebench.workload import Workload

    b, s, h = shape
    return Workload(batch_size=b, seq_len=s, num_heads=h, style=style, device=device, **SEED.fixed, **extra)


# ---- 1. agreement with CUPTI ----------------------------------------------------------------------
def agreement(backends, device, monitor) -> list[dict]:
    import torch
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    from ropebench import timing
    from ropebench.backends import get_backend
    from ropebench.measure import make_calls

    rows = []
    for name in backends:
        backend = get_backend(name)
        for shape in AGREEMENT_SHAPES:
            w = _workload(shape, device)
            if backend.unsupported(w):
                continue
            sets, _ = timing.rotating_sets(w.set_bytes(), timing.l2_bytes(device))
            calls = make_calls(backend, w, sets)
            for c in calls:
                c()
            graph, per_replay = timing.graph_for(calls)
            ours, _ = timing.replay_samples(graph, per_replay, 100, monitor)
            replays = 20
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(replays):
                    graph.replay()
                torch.cuda.synchronize()
            kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA
                       and not e.name.startswith(("Memcpy", "Memset"))]
            how = "graph replays"
            if not kernels:  # this CUPTI does not report kernels inside graphs: profile the same calls eagerly
                how = "eager calls"
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    for _ in range(replays):
                        for c in calls:
                            c()
                    torch.cuda.synchronize()
                kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA
                           and not e.name.startswith(("Memcpy", "Memset"))]
            calls_seen = replays * (per_replay if how == "graph replays" else sets)
            cupti_us = sum(e.time_range.elapsed_us() for e in kernels) / calls_seen
            ours_us = statistics.median(ours)
            rows.append(dict(backend=name, shape=list(shape), sets=sets, ours_us=ours_us, cupti_us=cupti_us,
                             calls_per_replay=per_replay, profiled=how, kernels_per_call=len(kernels) / calls_seen,
                             diff_pct=100 * (ours_us - cupti_us) / cupti_us if cupti_us else None))
            del graph, calls
            torch.cuda.empty_cache()
    return rows


# ---- 2. repeatability across processes -------------------------------------------------------------
def child(spec: str) -> int:
    """One process of the repeatability test: print medians as JSON."""
    from ropebench.guard import monitor_for
    from ropebench.measure import measure

    cfg = json.loads(spec)
    monitor = monitor_for(cfg["device"])
    out = {}
    for name in cfg["backends"]:
        for shape in REPEAT_SHAPES:
            r = measure(_workload(shape, cfg["device"]), name, eager=False, monitor=monitor)
            if r.status == "ok":
                out[f"{name} {shape[0]}x{shape[1]}x{shape[2]}"] = r.median_us
    print(json.dumps(out))
    return 0


def repeatability(backends, device, processes: int) -> dict:
    runs = []
    spec = json.dumps({"backends": backends, "device": device})
    for i in range(processes):
        p = subprocess.run([sys.executable, "-m", "ropebench", "fidelity", "--child", spec],
                           capture_output=True, text=True, timeout=900)
        if p.returncode:
            raise RopeBenchError(f"repeatability process {i} failed: {p.stderr.strip().splitlines()[-1:]}")
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    table = {}
    for key in runs[0]:
        values = [r[key] for r in runs if key in r]
        med = statistics.median(values)
        table[key] = dict(values=values, median_us=med, spread_pct=100 * (max(values) - min(values)) / med)
    return table


# ---- 3. detection power through asv continuous ------------------------------------------------------
def _kernel_path(src: Path) -> Path:
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


def _git(repo: Path, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="ropebench", GIT_AUTHOR_EMAIL="ropebench@localhost",
               GIT_COMMITTER_NAME="ropebench", GIT_COMMITTER_EMAIL="ropebench@localhost")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _checked(cmd, what: str, **kwargs) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if p.returncode:
        last = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        raise RopeBenchError(f"{what} failed: {last}")
    return p.stdout


def _build_and_time(src: Path, device: str, out: Path) -> float:
    """Build a tree's kernel and time it at the headline, in a fresh process (a new op namespace)."""
    _checked([sys.executable, "-m", "ropebench", "build-kernel", str(src), "--out", str(out)],
             f"build-kernel {src.name}")
    wheel = next(out.glob("*.whl"))
    unpacked = out / "unpacked"
    shutil.unpack_archive(str(wheel), str(unpacked), "zip")
    code = ("import json,sys; from ropebench.measure import measure; from ropebench.workload import Workload;"
            f"r=measure(Workload(batch_size=16, seq_len=512, num_heads=32, device='{device}'), 'vllm', eager=False);"
            "print(json.dumps(r.median_us))")
    stdout = _checked([sys.executable, "-c", code], f"timing {src.name}",
                      env=dict(os.environ, **{ENV_OP_DIR: str(unpacked / PACKAGE)}))
    us = float(stdout.strip().splitlines()[-1])
    if us != us:  # NaN: the point was skipped or failed
        raise RopeBenchError(f"timing {src.name} gave no number (the vllm backend did not run)")
    return us


def marked_rows(stdout: str, marks=("+", "!")) -> list[str]:
    """Benchmarks asv's comparison table marks as worse ('+') or newly failing ('!')."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and cells[0] in marks:
            rows.append(cells[-1])
    return rows


def table_ratios(stdout: str) -> dict:
    """Benchmark -> head/base ratio from asv's comparison table (rows it printed)."""
    out = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) >= 5:
            try:
                out[cells[-1]] = float(cells[-2].lstrip("~"))
            except ValueError:
                continue
    return out


def _slow_build_time(src: Path, rel: Path, base_text: str, cycles: int, device: str, work: Path) -> float:
    tree = work / f"slow-{cycles}"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns(".git"))
    (tree / rel).write_text(slow_copy(base_text, cycles))
    return _build_and_time(tree, device, work / f"build-{cycles}")


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


def detection(vllm_src: Path, device: str, args, log) -> dict:
    work = Path(tempfile.mkdtemp(prefix="ropebench-fidelity-"))
    try:
        result = _detection(vllm_src, device, args, log, work)
    except BaseException:
        log(f"  (kept {work} for inspection)")
        raise
    shutil.rmtree(work, ignore_errors=True)
    return result


def _detection(vllm_src: Path, device: str, args, log, work: Path) -> dict:
    import ropebench

    kernel = _kernel_path(vllm_src)
    rel = kernel.relative_to(vllm_src)
    base_text = kernel.read_text()
    # Calibrate the delay to the target slowdown at the headline shape (slowdown grows with it).
    base_us = _build_and_time(vllm_src, device, work / "b0")
    cycles, calibration = args.slow_cycles, []
    if cycles is None:
        cycles = calibrate(lambda n: _slow_build_time(vllm_src, rel, base_text, n, device, work) / base_us - 1,
                           args.target_slowdown, calibration, log)
    # A three-commit repository: base, slow kernel, and an unrelated change (same kernel).
    repo = work / "repo"
    shutil.copytree(vllm_src, repo, ignore=shutil.ignore_patterns(".git"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "NOTES.txt").write_text("an unrelated change\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "unrelated")
    same = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "slow", base)
    (repo / rel).write_text(slow_copy(base_text, cycles))
    _git(repo, "commit", "-qam", "slow")
    slow = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "main")

    conf_src = Path(ropebench.__file__).resolve().parent.parent / "asv.conf.json"
    conf = json.loads(re.sub(r"^\s*//.*$", "", conf_src.read_text(), flags=re.M))
    conf.update(repo=str(repo), branches=["main", "slow"], env_dir=str(work / "env"),
                results_dir=str(work / "results"), html_dir=str(work / "html"),
                benchmark_dir=str(conf_src.parent / "benchmarks"))
    (work / "asv.conf.json").write_text(json.dumps(conf, indent=1))
    points = "|".join(rf"RoPE.time_rope\('vllm', 'neox', {b}, {s}, {h}\)" for b, s, h in DETECT_SHAPES)
    _checked([sys.executable, "-m", "asv", "machine", "--yes", "--machine", "fidelity"], "asv machine", cwd=work)
    asv_env = {k: v for k, v in os.environ.items() if k != ENV_OP_DIR}
    runs = []
    for label, head in [("slow", slow)] * args.tries + [("identical", same)] * args.tries:
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "asv", "continuous", "--factor", str(args.factor),
                            "--machine", "fidelity", "--show-stderr", "--no-only-changed", "-b", points, base, head],
                           cwd=work, capture_output=True, text=True, timeout=1800, env=asv_env)
        flagged = marked_rows(p.stdout)
        runs.append(dict(kind=label, exit=p.returncode, flagged=len(flagged), rows=flagged,
                         ratios=table_ratios(p.stdout), seconds=round(time.monotonic() - t0, 1)))
        log(f"  asv continuous base {label}: exit {p.returncode}, {len(flagged)} flagged")
        runs[-1]["output_tail"] = p.stdout[-800:]
    return dict(cycles=cycles, slow_copy=SLOW_COPY_WORDS.format(cycles=cycles), target=args.target_slowdown,
                calibration=calibration, base_headline_us=base_us,
                factor=args.factor, shapes=[list(s) for s in DETECT_SHAPES], runs=runs)


# ---- 4. roofline over the seed grid -----------------------------------------------------------------
def roofline(backends, device, monitor, out_png: Path):
    from ropebench import report
    from ropebench.measure import fill_speedups, measure
    from ropebench.workload import Workload, seed_grid

    results = [measure(w, b, eager=False, monitor=monitor)
               for w in seed_grid(Workload(device=device, **SEED.fixed), *SEED.values("batch", "seq_len", "heads"))
               for b in backends]
    fill_speedups(results)
    report.plot_floor(results, out_png, "RoPE NeoX, head 128, rotary 32, bf16: % of the copy-bandwidth floor")
    return results


# ---- the report ---------------------------------------------------------------------------------------
PARTS = {"agreement": "agreement", "repeat": "repeatability", "detect": "detection", "roofline": "roofline"}
NOTES_MARK = "<!-- Written by hand: kept when ropebench fidelity rewrites this file. -->"


def earlier_report(path: Path, info: dict) -> dict:
    """The parts of an earlier report on the same GPU model, kept when only some parts are re-run
    (each part carries the date it was measured); a report from another GPU is not mixed in."""
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text())
    except ValueError:
        raise RopeBenchError(f"{path} is not a fidelity report (bad JSON); move it away or pick another --out") \
            from None
    if old.get("machine", {}).get("gpu") != info.get("gpu"):
        return {}
    date = old.get("machine", {}).get("date", "unknown date")
    keep = {key: old[key] for key in (*PARTS.values(), "backends") if key in old}
    keep["measured"] = {part: old.get("measured", {}).get(part, date)
                        for part, key in PARTS.items() if key in old}
    return keep


def kept_notes(out: Path) -> str:
    """The hand-written analysis below NOTES_MARK in an existing report."""
    if not out.exists():
        return ""
    text = out.read_text()
    return text[text.index(NOTES_MARK):] if NOTES_MARK in text else ""


def run(args) -> int:
    if args.child:
        return child(args.child)
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        raise RopeBenchError(f"unknown --parts {','.join(sorted(parts - set(PARTS)))} "
                             f"(choose from {','.join(PARTS)})")
    if "detect" in parts and args.vllm_src and not Path(args.vllm_src).is_dir():
        raise RopeBenchError(f"--vllm-src {args.vllm_src} is not a directory")
    from ropebench.workload import check_device

    try:
        check_device(args.device)
    except RopeBenchError:
        raise RopeBenchError("ropebench fidelity measures a GPU and this machine has none "
                             f"({args.device} unavailable)") from None
    from ropebench import system
    from ropebench.backends import get_backend, parse_backends
    from ropebench.guard import monitor_for

    def log(msg):
        print(msg, flush=True)

    device = args.device
    names = [n for n in parse_backends(args.backends) if get_backend(n).available("cuda")[0]]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    info = system.describe(device)
    monitor = monitor_for(device)
    log(f"fidelity on {system.one_line(info)}; backends {', '.join(names)}")
    if "detect" in parts and not args.vllm_src:
        parts.discard("detect")
        log("detection power skipped: it needs --vllm-src (a vLLM tree with its RoPE kernel)")
    report = earlier_report(out.with_suffix(".json"), info)
    kept = sorted(set(report.get("measured", {})) - parts)
    if kept:
        log(f"keeping the earlier {', '.join(kept)} of {out.with_suffix('.json')}")
    report.update(machine=info, goals=GOALS)
    if parts - {"detect"}:  # the backends of the parts measured now (detection times only the vLLM copy)
        report["backends"] = names
    if "agreement" in parts:
        log("agreement with CUPTI ...")
        report["agreement"] = agreement(names, device, monitor)
    if "repeat" in parts:
        log(f"repeatability over {args.processes} processes ...")
        report["repeatability"] = repeatability(names, device, args.processes)
    if "detect" in parts:
        log("detection power through asv continuous ...")
        report["detection"] = detection(Path(args.vllm_src), device, args, log)
    if "roofline" in parts:
        log("roofline over the seed grid ...")
        results = roofline(names, device, monitor, out.with_name(out.stem + "-roofline.png"))
        report["roofline"] = [r.row() for r in results]
    report.setdefault("measured", {}).update({part: info["date"] for part in parts})
    notes = kept_notes(out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    out.write_text(render(report, out, notes))
    log(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def _fmt_pct(x):
    return "-" if x is None else f"{x:+.1f}%"


def render(rep: dict, out: Path, notes: str = "") -> str:
    m = rep["machine"]
    dates = rep.get("measured", {})
    when = m["date"]
    if len(set(dates.values())) > 1:  # parts re-run at different times
        when = "parts measured " + "; ".join(f"{part} {dates[part]}" for part in PARTS if part in dates)
    lines = [
        "# Measurement fidelity",
        "",
        f"Produced by `ropebench fidelity` on {m['gpu']} (driver {m['driver']}, CUDA {m['cuda']}), "
        f"torch {m['torch']}, python {m['python']}; {when}. Raw numbers: `{out.with_suffix('.json').name}`.",
        "",
        "Goals: kernel time within 3% of CUPTI for kernels of at least 10 µs; process-to-process spread at "
        "most 2% (>= 10 µs) and 5% (below); a 5% regression flagged every time; no false positive.",
        "",
    ]
    if "agreement" in rep:
        lines += ["## 1. Agreement with CUPTI (torch.profiler)", "",
                  "ropebench: median of 100 event-timed graph replays, per call (a replay goes round the "
                  "rotating input sets until it spans at least 0.5 ms). CUPTI: the sum of the profiled "
                  "kernels' durations in 20 replays of the same graph, per call. The difference is what "
                  "lies between kernels inside a replay: the graph's start and its node-to-node steps.", "",
                  "| backend | shape (b x s x heads) | kernels/call | ropebench µs | CUPTI µs | diff | goal |",
                  "|---|---|---|---|---|---|---|"]
        for r in rep["agreement"]:
            if r["diff_pct"] is None:
                lines.append(f"| {r['backend']} | {'x'.join(map(str, r['shape']))} | - | {r['ours_us']:.2f} | "
                             "no kernels seen | - | - |")
                continue
            large = r["cupti_us"] >= GOALS["large_us"]
            ok = "met" if large and abs(r["diff_pct"]) <= GOALS["cupti_pct"] else ("n/a (< 10 µs)" if not large
                                                                                  else "missed")
            lines.append(f"| {r['backend']} | {'x'.join(map(str, r['shape']))} | {r['kernels_per_call']:.0f} | "
                         f"{r['ours_us']:.2f} | {r['cupti_us']:.2f} | {_fmt_pct(r['diff_pct'])} | {ok} |")
        lines.append("")
    if "repeatability" in rep:
        lines += ["## 2. Repeatability: separate processes", "",
                  "| backend and shape | medians (µs) | spread (max-min)/median | goal |", "|---|---|---|---|"]
        for key, v in rep["repeatability"].items():
            limit = GOALS["spread_large_pct"] if v["median_us"] >= GOALS["large_us"] else GOALS["spread_small_pct"]
            lines.append(f"| {key} | {', '.join(f'{x:.2f}' for x in v['values'])} | {v['spread_pct']:.2f}% | "
                         f"{'met' if v['spread_pct'] <= limit else 'missed'} (<= {limit:.0f}%) |")
        lines.append("")
    det = rep.get("detection")
    if det and "runs" in det:
        slow = [r for r in det["runs"] if r["kind"] == "slow"]
        same = [r for r in det["runs"] if r["kind"] == "identical"]
        key, unit = _delay(det)
        lines += ["## 3. Detection power through `asv continuous`", "",
                  f"Slow copy: {det.get('slow_copy', f'a delay of {det[key]} {unit}')} Calibration at the "
                  "headline shape (base "
                  f"{det['base_headline_us']:.2f} µs): "
                  + ", ".join(f"{c[key]} {unit} -> {100 * c['slowdown']:+.1f}%" for c in det["calibration"])
                  + f". Factor {det['factor']}: above the measured process-to-process spread of kernels of at "
                  "least 10 µs, below the 5% to detect.",
                  "", "| run | exit | flagged points |", "|---|---|---|"]
        for r in det["runs"]:
            lines.append(f"| base vs {r['kind']} | {r['exit']} | {r['flagged']} |")
        lines += ["", f"Detected in {sum(r['exit'] == 1 for r in slow)}/{len(slow)} tries; false positives in "
                      f"{sum(r['exit'] != 0 for r in same)}/{len(same)} identical reruns.", ""]
        if slow and slow[0].get("ratios"):
            names = sorted(slow[0]["ratios"])
            lines += ["Ratios head/base per point, as asv printed them:", "",
                      "| point | " + " | ".join(f"slow {i + 1}" for i in range(len(slow)))
                      + " | " + " | ".join(f"identical {i + 1}" for i in range(len(same))) + " |",
                      "|---|" + "---|" * (len(slow) + len(same))]
            for n in names:
                cells = [str(r["ratios"].get(n, "-")) for r in slow + same]
                lines.append(f"| `{n.split('time_rope')[-1]}` | " + " | ".join(cells) + " |")
            lines.append("")
    if "roofline" in rep:
        lines += ["## 4. Roofline over the seed grid (NeoX, bf16, head 128, rotary 32)", "",
                  f"![% of floor]({out.stem}-roofline.png)", "",
                  "| shape | backend | kernel µs | GB/s (floor bytes) | % of floor |", "|---|---|---|---|---|"]
        for r in rep["roofline"]:
            if r["status"] == "ok":
                lines.append(f"| {r['batch_size']}x{r['seq_len']}x{r['num_heads']} | {r['backend']} | "
                             f"{r['median_us']} | {r['gbps']} | {r['pct_of_floor']} |")
        lines.append("")
    lines += goals_table(rep)
    if notes:
        lines += [notes.rstrip()]
    else:
        lines += [NOTES_MARK, ""]
    return "\n".join(lines) + "\n"


def _delay(det: dict) -> tuple[str, str]:
    """The slow copy's delay key and unit (cycles; reports before the clock64 spin used ns)."""
    return ("cycles", "cycles") if "cycles" in det else ("ns", "ns")


def goals_table(rep: dict) -> list[str]:
    """Each goal against what this report measured; misses named."""
    rows = []
    if rep.get("agreement"):
        large = [r for r in rep["agreement"] if r["diff_pct"] is not None and r["cupti_us"] >= GOALS["large_us"]]
        miss = [r for r in large if abs(r["diff_pct"]) > GOALS["cupti_pct"]]
        rows.append(("kernel time within 3% of CUPTI, kernels >= 10 µs",
                     f"met for {len(large) - len(miss)} of {len(large)} points"
                     + ("" if not miss else "; missed: " + ", ".join(
                         f"{r['backend']} {'x'.join(map(str, r['shape']))} {_fmt_pct(r['diff_pct'])}" for r in miss))))
    if rep.get("repeatability"):
        def limit(v):
            return GOALS["spread_large_pct"] if v["median_us"] >= GOALS["large_us"] else GOALS["spread_small_pct"]
        rep_rows = rep["repeatability"]
        miss = [k for k, v in rep_rows.items() if v["spread_pct"] > limit(v)]
        spreads = [v["spread_pct"] for v in rep_rows.values()]
        rows.append(("process-to-process spread <= 2% (>= 10 µs), <= 5% below",
                     f"met for {len(rep_rows) - len(miss)} of {len(rep_rows)}; "
                     f"spreads {min(spreads):.2f}-{max(spreads):.2f}%"
                     + (f"; missed: {', '.join(miss)}" if miss else "")))
    det = rep.get("detection") or {}
    if det.get("runs"):
        slow = [r for r in det["runs"] if r["kind"] == "slow"]
        same = [r for r in det["runs"] if r["kind"] == "identical"]
        ratios = [x for r in slow for x in r["ratios"].values()]
        key, _ = _delay(det)
        got = next((c["slowdown"] for c in det.get("calibration", []) if c[key] == det[key]), None)
        target = det.get("target", TARGET_DEFAULT)
        sized = got is not None and 0.7 * target <= got <= 1.5 * target
        hits = sum(r["exit"] == 1 and r["flagged"] == len(r["ratios"]) for r in slow)
        verdict = "met" if hits == len(slow) and sized else ("not shown at this size" if hits == len(slow)
                                                             else "missed")
        size = f"slow copy {100 * got:+.1f}% at the headline by ropebench's own timing; " if got is not None else ""
        rows.append((f"a {100 * target:.0f}% regression detected in every try",
                     f"{verdict}: every point flagged in {hits} of {len(slow)} tries; {size}asv ratios "
                     + (f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "not printed")))
        same_ratios = [x for r in same for x in r["ratios"].values()]
        fp = sum(r["exit"] != 0 or r["flagged"] for r in same)
        rows.append(("no false positive", f"{'met' if not fp else 'missed'}: {fp} of {len(same)} identical "
                     "reruns flagged anything" + (f"; ratios {min(same_ratios):.2f}-{max(same_ratios):.2f}"
                                                  if same_ratios else "")))
    if not rows:
        return []
    return ["## Against the goals", "", "| goal | outcome |", "|---|---|"] + [f"| {g} | {o} |" for g, o in rows] + [""]
