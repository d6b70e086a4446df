"""``ropebench fidelity``: check the timer against CUPTI, its repeatability and its detection power on
the GPU, and write the report (the experiments live in ropebench.fidelity)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ropebench.backends import NAMES
from ropebench.errors import RopeBenchError
from ropebench.fidelity import GOALS, PARTS, TARGET_DEFAULT, earlier_report, kept_notes, render


def add_arguments(p) -> None:
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--backends", default=",".join(NAMES), help=f"comma list of {', '.join(NAMES)} (default all)")
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


def run(args) -> int:
    from ropebench.fidelity.experiments import child

    if args.child:
        return child(args.child)
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        raise RopeBenchError(f"unknown --parts {','.join(sorted(parts - set(PARTS)))} "
                             f"(choose from {','.join(PARTS)})")
    if "detect" in parts and args.vllm_src and not Path(args.vllm_src).is_dir():
        raise RopeBenchError(f"--vllm-src {args.vllm_src} is not a directory")
    from ropebench.workload import check_device

    if args.processes < 1 or args.tries < 1:
        raise RopeBenchError("--processes and --tries must be at least 1")
    try:
        check_device(args.device)
    except RopeBenchError:
        raise RopeBenchError("ropebench fidelity measures a GPU and this machine has none "
                             f"({args.device} unavailable)") from None
    if not args.device.startswith("cuda"):  # every part times CUDA graphs or CUPTI
        raise RopeBenchError(f"ropebench fidelity measures a GPU; --device {args.device} is not one (use cuda:N)")
    from ropebench import system
    from ropebench.backends import get_backend, parse_backends
    from ropebench.fidelity.detect import detection
    from ropebench.fidelity.experiments import agreement, repeatability, roofline
    from ropebench.guard import monitor_for

    def log(msg):
        print(msg, flush=True)

    device = args.device
    names = [n for n in parse_backends(args.backends) if get_backend(n).unavailable(device) is None]
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
        log("roofline over vLLM's grid ...")
        results = roofline(names, device, monitor, out.with_name(out.stem + "-roofline.png"))
        report["roofline"] = [r.row() for r in results]
    report.setdefault("measured", {}).update({part: info["date"] for part in parts})
    notes = kept_notes(out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    out.write_text(render(report, out, notes))
    log(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


