"""The measuring loop of ``ropebench run`` and what it writes at the end (table, plots, closing lines).

Points are measured in table order, except that two calibration points (the first and a median-sized
one) go first: their cost fits the model that announces the expected duration and drives the ETA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SPREAD_WARN = 1.5  # p80/p20 above this: the machine was busy or the clock moved; said per point


@dataclass
class Outcome:
    results: list = field(default_factory=list)
    interrupted: bool = False
    monitor: str = ""


def _calibration(points, runnable: list[int]) -> list[int]:
    if len(points) <= 2 or not runnable:
        return []
    by_size = sorted(runnable, key=lambda i: points[i][0].set_bytes())
    return list(dict.fromkeys([runnable[0], by_size[len(by_size) // 2]]))


def _outcome(r) -> str:
    from ropebench.report import fmt_time

    if r.status == "ok" and r.kernel:
        k = r.kernel
        return (f"{fmt_time(k.median_us)} [{fmt_time(k.p20_us)}, {fmt_time(k.p80_us)}] "
                f"({len(k.samples_us)} samples)")
    return f"{r.status}: {r.reason}"


def spread(r) -> float | None:
    """p80/p20 of the kernel samples, or None where there is no timing."""
    k = r.kernel if r.status == "ok" else None
    if not k or not k.samples_us or not k.p20_us > 0:
        return None
    return k.p80_us / k.p20_us


def measure_points(points, out: Path, console, *, samples: int, eager: bool, cpu_seconds: float, warn,
                   quick_hint: bool) -> Outcome:
    from ropebench import report
    from ropebench.guard import monitor_for
    from ropebench.measure import cuda_fault, fill_speedups, measure
    from ropebench.progress import CostModel, GridProgress, duration

    monitor = monitor_for(points[0][0].device)
    outcome = Outcome(monitor=monitor.describe())
    runnable = [i for i, (w, b) in enumerate(points) if b.unsupported(w) is None]
    calibration = _calibration(points, runnable)
    order = calibration + [i for i in range(len(points)) if i not in calibration]
    model, done = CostModel(), {}

    def eta():
        left = [model.predict(points[i][0].set_bytes()) for i in runnable if i not in done]
        return None if any(s is None for s in left) else sum(left)

    csv_log = report.CsvLog(out / "rope.csv")
    spent = 0.0
    try:
        with GridProgress(console, len(points), eta) as progress:
            for k, i in enumerate(order):
                w, b = points[i]
                label = f"{b.name} {w.label()}"
                progress.start(label)
                r = measure(w, b, samples=samples, eager=eager, monitor=monitor, cpu_seconds=cpu_seconds)
                seconds = progress.seconds()
                spent += seconds
                if r.status != "skipped":
                    model.add(w.set_bytes(), seconds)
                done[i] = r
                csv_log.write(r)
                progress.done(label, _outcome(r))
                ratio = spread(r)
                if ratio is not None and ratio > SPREAD_WARN:
                    progress.print(f"[yellow]warning:[/yellow] {label}: p80/p20 = {ratio:.2f}, a large spread "
                                   "(another process, or a changing clock); this point's numbers are noisy")
                if calibration and k == len(calibration) - 1 and len(points) > len(calibration):
                    total = spent + (eta() or 0.0)
                    hint = " (--quick: a few points in under a minute)" if quick_hint and total > 120 else ""
                    progress.print(f"expected duration: about {duration(total)} for {len(points)} points, "
                                   f"from {len(calibration)} calibration points; the ETA corrects as it "
                                   f"goes{hint}")
                if cuda_fault(r):
                    progress.print(f"[red]{b.name} at {w.label()}: {r.reason}[/red]; the CUDA context is unusable, "
                                   "stopping here (results so far are kept)")
                    break
    except KeyboardInterrupt:
        # Keep what was measured: the table, CSV, run.json and plots cover it.
        outcome.interrupted = True
        console.print(f"[yellow]interrupted after {len(done)} of {len(points)} points[/yellow]")
    finally:
        outcome.results = [done[i] for i in sorted(done)]
        fill_speedups(outcome.results)
        csv_log.rewrite(outcome.results)
        csv_log.close()
    short = [r for r in outcome.results if r.kernel and r.kernel.method.startswith("cpu")
             and len(r.kernel.samples_us) < samples]
    if short:
        least = min(len(r.kernel.samples_us) for r in short)
        warn(f"the CPU time box ({cpu_seconds:g} s per point) cut {len(short)} of {len(outcome.results)} points "
             f"below --samples {samples} (fewest: {least}); the CSV's samples column has each count")
    return outcome


def write_reports(results, styles, base, info, out: Path, root: Path, console, *, single: bool,
                  threads: int | None) -> None:
    from ropebench import report

    cpu = base.device == "cpu"
    plots = []
    for style in styles:
        rs = [r for r in results if r.workload.style == style]
        if not rs:  # interrupted before this style began
            continue
        where = f"CPU, wall clock, {threads} thread{'s' if threads != 1 else ''}" if cpu else info["gpu"]
        title = f"RoPE {style}, head {base.head_size}, rotary {base.rotary_dim}, {base.dtype} - {where}"
        console.print(report.table(rs, title=title, clock="wall" if cpu else "kernel"))
        if any(r.status == "ok" for r in rs) and not single:
            plots.append(report.plot_latency(rs, out / f"rope-perf-{style}.png", title))
            plots.append(report.plot_floor(rs, out / f"rope-floor-{style}.png", title))
    if cpu:
        console.print(f"times are wall clock per call on the CPU ({threads} torch thread"
                      f"{'s' if threads != 1 else ''}): what a caller waits for, not a kernel time.")
    else:
        console.print("kernel time: CUDA-graph replay (launch overhead excluded), cold L2 by rotating input sets; "
                      "eager: host-inclusive.")
    console.print(f"floor: rotated q/k bytes read + written once at the measured copy bandwidth "
                  f"({info['copy_gbps'] or 0:.0f} GB/s).")
    what = f"rope.csv, run.json and {len(plots)} plots" if plots else "rope.csv and run.json"
    console.print(f"wrote {what} in {out}/ ({root / 'latest'} points at it)")
    if single:
        console.print("no plots were written: --single measures one configuration; plots need the grid")
