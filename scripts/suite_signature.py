"""Print what a refactor must not change, as JSON: the asv suites' benchmark names, params and
versions (as asv_runner discovers them, the way asv stores them), each point's CPU status (skipped
and why, or runnable) as the measurement server decides it, and the columns of ``ropebench run``'s CSV.

    python scripts/suite_signature.py > before.json   # on the old tree
    python scripts/suite_signature.py > after.json    # on the new tree; the two must be equal

No torch import beyond what the status check needs; no GPU. The vLLM op is not looked for (the CPU
statuses are those of a machine with none), so the output does not depend on what is installed.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITES = {"benchmarks": ROOT / "benchmarks", "plain_asv": ROOT / "tools/plain_asv/benchmarks"}


def discovered(benchmark_dir: Path) -> list[dict]:
    """asv_runner's own discovery (what `asv run` stores in benchmarks.json), in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "list.json"
        code = ("import sys; from asv_runner.discovery import list_benchmarks; "
                "list_benchmarks(sys.argv[1], open(sys.argv[2], 'w'))")
        subprocess.run([sys.executable, "-c", code, str(benchmark_dir), str(out)], check=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
        rows = json.loads(out.read_text())
    return sorted(({k: b[k] for k in ("name", "param_names", "params", "version", "unit", "type") if k in b}
                   for b in rows), key=lambda b: b["name"])


def cpu_statuses() -> dict:
    """Each suite point on a CPU without a vLLM op: 'runnable' or 'skipped: why'."""
    import itertools

    from ropebench.backends import get_backend
    from ropebench.grid import ACCURACY, MODEL_GRID, SEED, model_fields
    from ropebench.workload import Workload

    def status(backend, fields):
        reason = get_backend(backend).unsupported(Workload(device="cpu", **fields))
        return "runnable" if reason is None else f"skipped: {reason}"

    out = {}
    for grid, fields_of in ((SEED, SEED.workload_fields), (ACCURACY, ACCURACY.workload_fields),
                            (MODEL_GRID, model_fields)):
        for values in itertools.product(*grid.params):
            point = dict(zip(grid.param_names, values))
            out[f"{grid.name}{tuple(values)}"] = status(point["backend"], fields_of(point))
    return out


def csv_columns() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "ropebench", "run", "--single", "--device", "cpu",
                        "--backends", "torch", "--samples", "3", "--no-eager", "--save-path", tmp],
                       check=True, cwd=ROOT, capture_output=True)
        # Each run writes into its own folder under --save-path (with a `latest` link); older trees wrote there.
        csv_path = next(p for p in (Path(tmp) / "latest" / "rope.csv", Path(tmp) / "rope.csv") if p.exists())
        with open(csv_path, newline="") as f:
            return next(csv.reader(f))


def main() -> int:
    os.environ.pop("ROPEBENCH_VLLM_OP", None)
    sig = {"suites": {name: discovered(d) for name, d in SUITES.items()},
           "cpu_statuses": cpu_statuses(), "csv_columns": csv_columns()}
    print(json.dumps(sig, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
