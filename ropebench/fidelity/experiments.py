"""The fidelity experiments that time on the GPU: agreement with CUPTI, repeatability across
processes, and the roofline over vLLM's grid."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.grid import SEED

AGREEMENT_SHAPES = [(1, 1, 32), (4, 128, 32), (16, 512, 32), (64, 256, 48), (64, 1024, 48)]
REPEAT_SHAPES = [(1, 64, 32), (16, 512, 32), (64, 1024, 48)]


def workload(shape, device, style="neox", **extra):
    from ropebench.workload import Workload

    b, s, h = shape
    return Workload(batch_size=b, seq_len=s, num_heads=h, style=style, device=device, **SEED.fixed, **extra)


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
            w = workload(shape, device)
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


def child(spec: str) -> int:
    """One process of the repeatability test: print medians as JSON."""
    from ropebench.guard import monitor_for
    from ropebench.measure import measure

    cfg = json.loads(spec)
    monitor = monitor_for(cfg["device"])
    out = {}
    for name in cfg["backends"]:
        for shape in REPEAT_SHAPES:
            r = measure(workload(shape, cfg["device"]), name, eager=False, monitor=monitor)
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
