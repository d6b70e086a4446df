"""`make mutation`: mutmut 3.x over the core modules, summarised as docs/mutation.json and docs/mutation.md.

mutmut keeps its verdicts in mutants/<module>.py.meta (exit code per mutant); this reads them with
mutmut's own table of exit codes. "no tests" counts as survived in the percentage, as the issue asks.

    .venv/bin/python scripts/mutation_report.py run      # mutmut run (long: hours on 2 cores), then report
    .venv/bin/python scripts/mutation_report.py report   # only the report, from an earlier run
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = ["ropebench/measure.py", "ropebench/correctness.py", "ropebench/reference.py", "ropebench/result.py",
        "ropebench/timing.py", "ropebench/workload.py", "ropebench/asvtools/compare.py",
        "ropebench/asvtools/merge.py", "ropebench/kernels/source.py"]
KEYS = ("killed", "survived", "timeout", "no_tests", "suspicious", "skipped")


def counts() -> dict:
    from mutmut.stats import status_by_exit_code

    out = {}
    for path in CORE:
        meta = REPO / "mutants" / (path + ".meta")
        if not meta.is_file():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        tally = Counter(status_by_exit_code[c].replace(" ", "_") for c in codes.values())
        out[path] = {k: tally.get(k, 0) for k in KEYS} | {"not_checked": tally.get("not_checked", 0)}
        out[path]["survivors"] = sorted(k for k, c in codes.items() if status_by_exit_code[c] in ("survived",
                                                                                                  "no tests"))
    return out


def write(modules: dict) -> None:
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    import mutmut

    doc = {"date": stamp, "tool": f"mutmut {mutmut.__version__}",
           "modules": {p: {k: m[k] for k in KEYS} for p, m in modules.items()}}
    (REPO / "docs" / "mutation.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = [f"# Mutation testing ({stamp}, {doc['tool']})", "",
             "| module | killed | survived | no tests | timeout | % killed |", "|---|---:|---:|---:|---:|---:|"]
    for p, m in modules.items():
        total = sum(m[k] for k in KEYS)
        pct = 100 * m["killed"] / total if total else 0.0
        lines.append(f"| {p} | {m['killed']} | {m['survived']} | {m['no_tests']} | {m['timeout']} | {pct:.0f}% |")
    lines += ["", "## Surviving mutants", "",
              "Each needs one line: why it is harmless, or which test now kills it (`mutmut show NAME`).", ""]
    for m in modules.values():
        lines += [f"- `{key}`: TODO" for key in m["survivors"]]
    (REPO / "docs" / "mutation.md").write_text("\n".join(lines) + "\n")


def main(argv) -> int:
    if argv[:1] == ["run"]:
        subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=REPO, check=False)
    modules = counts()
    if not modules:
        print("no mutmut results under mutants/: run `make mutation` first", file=sys.stderr)
        return 2
    write(modules)
    print(json.dumps({p: {k: m[k] for k in KEYS} for p, m in modules.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
