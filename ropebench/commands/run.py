"""``ropebench run``: vLLM's benchmark_rope.py, with its flags parsed correctly and honest timing.

Without --single it runs the seed's grid (batch x seq_len x heads) for each style asked for;
it prints a table, writes a CSV row by row, a run.json with the machine, and two plots per style.
"""

from __future__ import annotations

import json
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.grid import SEED

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}


def parse_bool(text: str) -> bool:
    """A real boolean flag (vLLM's type=bool turns "False" into True)."""
    t = str(text).strip().lower()
    if t in TRUE:
        return True
    if t in FALSE:
        return False
    raise RopeBenchError(f"expected true or false, got {text!r}")


def _bool_arg(text):
    try:
        return parse_bool(text)
    except RopeBenchError as exc:
        import argparse

        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p) -> None:
    g = p.add_argument_group("the seed's flags (vLLM benchmarks/kernels/benchmark_rope.py)")
    g.add_argument("--is-neox-style", type=_bool_arg, default=True, metavar="true|false",
                   help="NeoX (rotate half) if true, GPT-J (interleaved) if false (default true)")
    g.add_argument("--batch-size", type=int, default=16, help="with --single (default 16)")
    g.add_argument("--seq-len", type=int, default=512, help="with --single (default 512)")
    g.add_argument("--num-heads", type=int, default=32, help="with --single (default 32)")
    g.add_argument("--head-size", type=int, default=128)
    g.add_argument("--rotary-dim", type=int, default=32)
    g.add_argument("--dtype", default="bfloat16", help="bfloat16 | float16 | float32 (default bfloat16)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", help="cuda:N or cpu (default: cuda:0 if there is a GPU, else cpu)")
    g.add_argument("--save-path", default="out/rope", help="folder for CSV, plots and run.json (default out/rope)")
    e = p.add_argument_group("more")
    e.add_argument("--backends", default="torch,flashinfer,vllm", help="comma list (default all three)")
    e.add_argument("--styles", default=None, help="neox,gptj to run both styles (overrides --is-neox-style)")
    e.add_argument("--num-kv-heads", type=int, default=None, help="GQA: key heads (default: num heads)")
    e.add_argument("--max-position", type=int, default=8192)
    e.add_argument("--single", action="store_true", help="only the configuration the flags name, not the grid")
    for axis in ("batch", "seq_len", "heads"):
        values = ",".join(map(str, SEED.axis(axis).values))
        e.add_argument(f"--grid-{axis.replace('_', '-')}", default=values,
                       help=f"the grid's {axis} values (default the seed's {values})")
    e.add_argument("--samples", type=int, default=100, help="timing samples per point (default 100)")
    e.add_argument("--no-eager", action="store_true", help="skip the host-inclusive eager timing")
    e.add_argument("--vllm-op", default=None, help="folder of a kernel built by build-kernel (else auto-detect)")


def _int_list(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise RopeBenchError(f"{flag} takes comma-separated integers, got {text!r}") from None
    if not values:
        raise RopeBenchError(f"{flag} is empty")
    return values


def _device(text: str) -> str:
    from ropebench.workload import check_device, normalize_device

    if text == "auto":
        import torch

        return "cuda:0" if torch.cuda.is_available() else "cpu"
    device = normalize_device(text)
    check_device(device)
    return device


def run(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ropebench import report, system
    from ropebench.backends import create, parse_backends
    from ropebench.guard import monitor_for
    from ropebench.measure import cuda_fault, fill_speedups, measure
    from ropebench.workload import Workload, canonical_style, seed_grid

    console = Console()
    if not console.is_terminal:  # files and CI logs: wide enough that the table does not wrap
        console = Console(width=150)
    if args.samples < 1:
        raise RopeBenchError("--samples must be at least 1")
    backends = parse_backends(args.backends)
    styles = ([canonical_style(s) for s in args.styles.split(",") if s.strip()] if args.styles is not None
              else ["neox" if args.is_neox_style else "gptj"])
    if not styles:
        raise RopeBenchError("--styles is empty; give neox, gptj or neox,gptj")
    device = _device(args.device)
    base = Workload(batch_size=args.batch_size, seq_len=args.seq_len, num_heads=args.num_heads,
                    num_kv_heads=args.num_kv_heads, head_size=args.head_size, rotary_dim=args.rotary_dim,
                    dtype=args.dtype, max_position=args.max_position, seed=args.seed, device=device)
    info = system.describe(device)
    console.print(f"[bold]ropebench run[/bold] on {system.one_line(info)}")

    # Say up front which backends cannot run at all, and why; they are left out of the grid.
    runnable = []
    for name in backends:
        b = create(name, **({"op_dir": args.vllm_op} if name == "vllm" else {}))
        why = b.unavailable(device)
        if why:
            console.print(f"  [yellow]skipped backend {name}[/yellow]: {why}")
            continue
        runnable.append(b)
        if name == "vllm":
            console.print(f"  vllm: {b.describe()}")
    if not runnable:
        raise RopeBenchError(f"none of the backends {', '.join(backends)} can run on {device}")
    backends = runnable

    grid = (_int_list(args.grid_batch, "--grid-batch"), _int_list(args.grid_seq_len, "--grid-seq-len"),
            _int_list(args.grid_heads, "--grid-heads"))
    out = Path(args.save_path)
    points = []
    for style in styles:
        shapes = [base.replace(style=style)] if args.single else seed_grid(
            base.replace(style=style), batch=grid[0], seq_len=grid[1], heads=grid[2])
        points += [(w, b) for w in shapes for b in backends]  # Backend instances, built with their options
    csv_log = report.CsvLog(out / "rope.csv")
    monitor = monitor_for(device)
    results = []
    interrupted = False
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("timing", total=len(points))
            for w, b in points:
                progress.update(task, description=f"{b.name:10s} {w.label()}")
                r = measure(w, b, samples=args.samples, eager=not args.no_eager, monitor=monitor)
                results.append(r)
                csv_log.write(r)
                progress.advance(task)
                if cuda_fault(r):
                    console.print(f"[red]{b.name} at {w.label()}: {r.reason}[/red]; the CUDA context is unusable, "
                                  "stopping here (results so far are kept)")
                    break
    except KeyboardInterrupt:
        # Keep what was measured: the table, CSV, run.json and plots below cover it.
        interrupted = True
        console.print(f"[yellow]interrupted after {len(results)} of {len(points)} points[/yellow]")
    finally:
        fill_speedups(results)
        csv_log.rewrite(results)
        csv_log.close()
    info["copy_gbps"] = next((r.copy_gbps for r in results if r.copy_gbps), None)
    info["monitor"] = monitor.describe()
    (out / "run.json").write_text(json.dumps({"machine": info, "args": vars(args), "points": len(points),
                                              "measured": len(results), "interrupted": interrupted},
                                             indent=1, default=str))

    for style in styles:
        rs = [r for r in results if r.workload.style == style]
        title = (f"RoPE {style}, head {base.head_size}, rotary {base.rotary_dim}, {base.dtype} - "
                 f"{info['gpu'] or 'CPU'}")
        console.print(report.table(rs, title=title))
        if any(r.status == "ok" for r in rs) and not args.single:
            report.plot_latency(rs, out / f"rope-perf-{style}.png", title)
            report.plot_floor(rs, out / f"rope-floor-{style}.png", title)
    method = ("CUDA-graph replay (launch overhead excluded), cold L2 by rotating input sets; eager: host-inclusive"
              if device != "cpu" else "wall clock per call")
    console.print(f"kernel time: {method}. floor: rotated q/k bytes read + written once at the measured copy "
                  f"bandwidth ({info['copy_gbps'] or 0:.0f} GB/s).")
    console.print(f"wrote {out / 'rope.csv'}, {out / 'run.json'} and plots in {out}/")
    if interrupted:
        return 130
    bad = [r for r in results if r.status in ("incorrect", "error")]
    return 1 if bad else 0
