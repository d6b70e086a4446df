"""``ropebench health``: check that the GPU is fit to measure (the library: ropebench.health)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.health import attach, check, summary


def add_arguments(p) -> None:
    p.add_argument("--device", default="cuda:0", help="the GPU to check, as CUDA numbers it (default cuda:0)")
    p.add_argument("--out", metavar="FILE", help="write the reading as JSON")
    p.add_argument("--attach", metavar="RESULTS_DIR",
                   help="instead of checking: put --reading into the sidecar of every result file there")
    p.add_argument("--reading", metavar="FILE", help="with --attach: the JSON an earlier check wrote")


def run(args, monitor=None) -> int:
    if args.attach:
        if not args.reading:
            raise RopeBenchError("--attach needs --reading FILE (what the check before the run wrote)")
        try:
            reading = json.loads(Path(args.reading).read_text())
        except (OSError, ValueError) as exc:
            raise RopeBenchError(f"cannot read the health reading {args.reading}: {exc}") from None
        n = attach(args.attach, reading)
        print(f"health and versions recorded beside {n} result file(s)", file=sys.stderr)
        return 0
    if monitor is None:
        from ropebench.guard import NullMonitor, NvmlMonitor

        try:
            monitor = NvmlMonitor(int(args.device.split(":")[1]) if ":" in args.device else 0)
        except Exception:  # noqa: BLE001 - no pynvml, no driver: reported as such below
            monitor = NullMonitor()
    reading = check(monitor)
    if args.out:
        Path(args.out).write_text(json.dumps(reading, indent=1) + "\n")
    print(summary(reading))
    return 0 if reading["ok"] else 1
