"""``ropebench run``: vLLM's benchmark_rope.py, with its flags parsed correctly and honest timing.

Without --single it runs the seed's grid (ropebench.grid.SEED) for each style asked for; it prints a
table, writes a CSV row by row, a run.json with the machine, and two plots per style, all into a new
timestamped folder under --save-path (``latest`` points at the newest), so no earlier run is touched.
Every input is checked before any point is measured; progress shows in a terminal and in a log.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os

from ropebench import preflight
from ropebench.backends import NAMES as BACKEND_NAMES
from ropebench.errors import RopeBenchError
from ropebench.grid import SEED
from ropebench.timing import SAMPLES

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}
# The grid's shape axes (every SEED axis but backend and style, which have --backends and --styles).
SHAPE_AXES = tuple(a for a in SEED.axes if a.name not in ("backend", "style"))
# --quick: small, headline-sized and long-sequence points of one head count; under a minute on 2 CPU cores.
QUICK = {"batch": (1, 16), "seq_len": (64, 512), "heads": (32,)}
QUICK_SAMPLES, QUICK_CPU_SECONDS, CPU_SECONDS = 30, 0.5, 2.0


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
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p) -> None:
    g = p.add_argument_group("the seed's flags (vLLM benchmarks/kernels/benchmark_rope.py)")
    g.add_argument("--is-neox-style", type=_bool_arg, default=True, metavar="true|false",
                   help="NeoX (rotate half) if true, GPT-J (interleaved) if false (default true)")
    g.add_argument("--batch-size", type=int, default=16, help="with --single (default 16)")
    g.add_argument("--seq-len", type=int, default=512, help="with --single (default 512)")
    g.add_argument("--num-heads", type=int, default=32, help="with --single (default 32)")
    g.add_argument("--head-size", type=int, default=SEED.fixed["head_size"])
    g.add_argument("--rotary-dim", type=int, default=SEED.fixed["rotary_dim"])
    g.add_argument("--dtype", default=SEED.fixed["dtype"], help="bfloat16 | float16 | float32 (default bfloat16)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", help="cuda:N or cpu (default: cuda:0 if there is a GPU, else cpu)")
    g.add_argument("--save-path", default="out/rope",
                   help="each run writes a new folder SAVE_PATH/<date-time>/ with the CSV, plots and run.json; "
                        "SAVE_PATH/latest points at the newest (default out/rope)")
    e = p.add_argument_group("more")
    e.add_argument("--backends", default=",".join(BACKEND_NAMES),
                   help=f"comma list (default all: {','.join(BACKEND_NAMES)})")
    e.add_argument("--styles", default=None, help="neox,gptj to run both styles (overrides --is-neox-style)")
    e.add_argument("--num-kv-heads", type=int, default=None, help="GQA: key heads (default: num heads)")
    e.add_argument("--max-position", type=int, default=8192)
    e.add_argument("--single", action="store_true", help="only the configuration the flags name, not the grid")
    e.add_argument("--quick", action="store_true",
                   help=f"a few representative points ({_grid_text(QUICK)}), {QUICK_SAMPLES} samples: "
                        "under a minute on a CPU")
    for axis in SHAPE_AXES:
        e.add_argument(f"--grid-{axis.name.replace('_', '-')}", default=None, metavar="V,V,...",
                       help=f"the grid's {axis.name} values (default the seed's {_join(axis.values)})")
    e.add_argument("--samples", type=int, default=None,
                   help=f"timing samples per point (default {SAMPLES}; {QUICK_SAMPLES} with --quick; on the CPU "
                        f"each point is time-boxed to {CPU_SECONDS:g} s)")
    e.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default 1 on the CPU: more threads on a shared or small machine "
                        "make times erratic; the GPU path leaves torch's default)")
    e.add_argument("--no-eager", action="store_true", help="skip the host-inclusive eager timing")
    e.add_argument("--vllm-op", default=None, help="folder of a kernel built by build-kernel (else auto-detect)")


def _join(values) -> str:
    return ",".join(map(str, values))


def _grid_text(values: dict) -> str:
    return " x ".join(f"{name} {_join(v)}" for name, v in values.items())


def _axis_values(text: str, axis, flag: str) -> tuple:
    kind = type(axis.values[0])
    try:
        values = [kind(v.strip()) for v in str(text).split(",") if v.strip()]
    except ValueError:
        what = "integers" if kind is int else f"{kind.__name__} values"
        raise RopeBenchError(f"{flag} takes comma-separated {what}, got {text!r}") from None
    if not values:
        raise RopeBenchError(f"{flag} is empty")
    return tuple(preflight.unique(values, flag))


def _device(text: str) -> str:
    from ropebench.workload import check_device, normalize_device

    if text == "auto":
        import torch

        return "cuda:0" if torch.cuda.is_available() else "cpu"
    device = normalize_device(text)
    check_device(device)
    return device


def _styles(args) -> list[str]:
    from ropebench.workload import canonical_style

    if args.styles is None:
        return ["neox" if args.is_neox_style else "gptj"]
    styles = [canonical_style(s) for s in args.styles.split(",") if s.strip()]
    if not styles:
        raise RopeBenchError("--styles is empty; give neox, gptj or neox,gptj")
    return preflight.unique(styles, "--styles")


def plan(args, base, backends: list[str], styles: list[str]) -> list[tuple]:
    """Every (workload, backend) the run will measure, in table order: style, shape, backend."""
    values = {}
    for axis in SHAPE_AXES:
        flag = f"--grid-{axis.name.replace('_', '-')}"
        text = getattr(args, flag[2:].replace("-", "_"))
        if text is not None:
            values[axis.name] = _axis_values(text, axis, flag)  # checked with --single too: a typo is a typo
        elif args.quick and axis.name in QUICK:
            values[axis.name] = QUICK[axis.name]
    if args.single:
        return [(base.replace(style=s), b) for s in styles for b in backends]
    grid = SEED.with_values(backend=tuple(backends), style=tuple(styles), **values)
    # Style outermost and backend innermost (the table's order); --head-size etc. replace SEED.fixed.
    order = ("style", *(a.name for a in SHAPE_AXES), "backend")
    grid = dataclasses.replace(grid, axes=tuple(grid.axis(n) for n in order), fixed={})
    gqa = base.num_kv_heads != base.num_heads
    points = []
    for point in grid.points():
        fields = grid.workload_fields(point)
        if not gqa and "num_heads" in fields:  # MHA like the seed: key heads follow the heads
            fields["num_kv_heads"] = fields["num_heads"]
        points.append((base.replace(**fields), point["backend"]))
    return points


def _runnable(names, device, console, vllm_op=None) -> list:
    """The backends that can run here, built with their options; the others are said, with why, and left out."""
    from ropebench.backends import create

    runnable = []
    for name in names:
        b = create(name, **({"op_dir": vllm_op} if name == "vllm" else {}))
        why = b.unavailable(device)
        if why:
            console.print(f"  [yellow]skipped backend {name}[/yellow]: {why}")
            continue
        runnable.append(b)
        console.print(f"  {name}: {b.describe()}")
    if not runnable:
        raise RopeBenchError(f"none of the backends {', '.join(names)} can run on {device}")
    return runnable


def _threads(args, device: str, warn) -> int | None:
    import torch

    threads = args.threads if args.threads is not None else (1 if device == "cpu" else None)
    if threads is None:
        return None
    if threads < 1:
        raise RopeBenchError(f"--threads must be at least 1 (got {threads})")
    if threads > (os.cpu_count() or 1):
        warn(f"--threads {threads} is more than this machine's {os.cpu_count()} cores; times will be erratic")
    torch.set_num_threads(threads)
    return threads


def run(args) -> int:
    from rich.console import Console

    from ropebench.workload import Workload

    console = Console()
    if not console.is_terminal:  # files and CI logs: wide enough that the table does not wrap, and one
        console = Console(width=150, soft_wrap=True)  # line of text stays one line however long

    def warn(message: str) -> None:
        console.print(f"[yellow]warning:[/yellow] {message}")

    # Every input is checked here, before anything is measured or written.
    root = preflight.save_folder(args.save_path)
    samples = preflight.samples(args.samples if args.samples is not None
                                else (QUICK_SAMPLES if args.quick else SAMPLES), warn)
    from ropebench.backends import parse_backends

    backends = preflight.unique(parse_backends(args.backends), "--backends")
    styles = _styles(args)
    if args.quick and args.single:
        raise RopeBenchError("--quick and --single both choose the points; give one of them")
    device = _device(args.device)
    base = Workload(batch_size=args.batch_size, seq_len=args.seq_len, num_heads=args.num_heads,
                    num_kv_heads=args.num_kv_heads, head_size=args.head_size, rotary_dim=args.rotary_dim,
                    dtype=args.dtype, max_position=args.max_position, seed=args.seed, device=device)
    shapes = list(dict.fromkeys(w for w, _ in plan(args, base, backends[:1], styles)))
    preflight.check_memory(shapes, device, "--batch-size/--seq-len/--num-heads" if args.single
                           else "the --grid-* values")
    if args.vllm_op:
        from ropebench.kernels.loader import read_build

        read_build(args.vllm_op)  # a folder without a usable build.json: one line now, not after the header
    threads = _threads(args, device, warn)

    from ropebench import system
    from ropebench.commands.run_loop import measure_points, write_reports

    info = system.describe(device)
    info["torch_threads"] = threads
    console.print(f"[bold]ropebench run[/bold] on {system.one_line(info)}"
                  + (f", {threads} torch thread{'s' if threads > 1 else ''}" if threads else ""))
    runnable = {b.name: b for b in _runnable(backends, device, console, args.vllm_op)}
    points = [(w, runnable[name]) for w, name in plan(args, base, list(runnable), styles)]
    from ropebench.report import new_run_folder

    out = new_run_folder(root)
    outcome = measure_points(points, out, console, samples=samples, eager=not args.no_eager,
                             cpu_seconds=QUICK_CPU_SECONDS if args.quick else CPU_SECONDS, warn=warn,
                             quick_hint=not (args.quick or args.single))
    info["copy_gbps"] = next((r.copy_gbps for r in outcome.results if r.copy_gbps), None)
    info["monitor"] = outcome.monitor
    (out / "run.json").write_text(json.dumps(
        {"machine": info, "args": vars(args), "samples": samples, "points": len(points),
         "measured": len(outcome.results), "interrupted": outcome.interrupted}, indent=1, default=str))
    write_reports(outcome.results, styles, base, info, out, root, console, single=args.single, threads=threads)
    if outcome.interrupted:
        return 130
    bad = [r for r in outcome.results if r.status in ("incorrect", "error")]
    return 1 if bad else 0
