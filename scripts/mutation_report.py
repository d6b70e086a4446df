"""`make mutation`: mutmut 3.x over the core modules, one module at a time, summarised as docs/mutation.json and
docs/mutation.md after each module, so a long run that stops part way still leaves a true report.

mutmut keeps its verdicts in mutants/<module>.py.meta (exit code per mutant); this reads them with mutmut's own
table of exit codes. "no tests" counts as survived in the percentage, as issue 12 asks; a timeout is not a kill.
Every surviving mutant gets a line in docs/mutation.md: its change, then (after " — ") why it is harmless or which
test kills it. Those notes are written by hand in docs/mutation.md and kept when the report is rewritten.

    .venv/bin/python scripts/mutation_report.py run                 # every core module, fastest first (hours)
    .venv/bin/python scripts/mutation_report.py run reference merge # only these (a short name or the path)
    .venv/bin/python scripts/mutation_report.py report              # only the report, from earlier runs
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Fastest first, so the cheap modules land before a long run is cut short.
CORE = ["ropebench/reference.py", "ropebench/correctness.py", "ropebench/workload.py", "ropebench/result.py",
        "ropebench/measure.py", "ropebench/asvtools/merge.py", "ropebench/kernels/source.py",
        "ropebench/asvtools/compare.py", "ropebench/timing.py"]
KEYS = ("killed", "survived", "timeout", "no_tests", "suspicious", "skipped")
NOTE = " — "
# One thread per mutant worker: two workers share the 2 cores, and no OpenMP pool is started before a fork
# (pyproject's process_isolation = "forkserver" is what keeps forked workers free of one).
ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def module_path(name: str) -> str:
    """'reference', 'asvtools/compare' or 'ropebench/asvtools/compare.py' -> the core path."""
    stem = name.removeprefix("ropebench/").removesuffix(".py")
    for path in CORE:
        if path.removeprefix("ropebench/").removesuffix(".py") in (stem, stem.replace(".", "/")) \
                or path.endswith(f"/{stem}.py"):
            return path
    raise SystemExit(f"mutation_report: {name!r} is not a core module; one of: "
                     + ", ".join(p.removeprefix("ropebench/").removesuffix(".py") for p in CORE))


def status(code) -> str:
    from mutmut.stats import status_by_exit_code

    s = status_by_exit_code[code].replace(" ", "_")
    if s == "segfault" and code == -9:  # mutmut's SIGKILL after the CPU limit: a timeout
        return "timeout"
    return s if s in KEYS or s == "not_checked" else "suspicious"


def counts() -> dict:
    out = {}
    for path in CORE:
        meta = REPO / "mutants" / (path + ".meta")
        if not meta.is_file():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        verdict = {key: status(c) for key, c in codes.items()}
        tally = Counter(verdict.values())
        if tally.get("not_checked") or not codes:
            continue  # never run (mutmut writes every file's meta), or cut short: not a result
        out[path] = {k: tally.get(k, 0) for k in KEYS}
        out[path]["not_survived"] = sorted((k for k, v in verdict.items() if v != "killed"),
                                           key=lambda k: (k.rpartition("_")[0], int(k.rpartition("_")[2])))
        out[path]["verdict"] = verdict
    return out


def pct_killed(m: dict) -> float:
    total = sum(m[k] for k in KEYS)
    return 100 * m["killed"] / total if total else 0.0


def change(key: str, path: str) -> str:
    """The mutant's edit in one line: the first removed and added source lines."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    try:
        diff = get_diff_for_mutant(key, path=path).splitlines()
    except Exception as exc:  # noqa: BLE001 - a missing diff must not lose the report
        return f"(no diff: {type(exc).__name__})"
    old = next((ln[1:].strip() for ln in diff if ln.startswith("-") and not ln.startswith("---")), "")
    new = next((ln[1:].strip() for ln in diff if ln.startswith("+") and not ln.startswith("+++")), "")
    return f"`{old}` -> `{new}`"


def old_notes(md: Path) -> dict:
    notes = {}
    if md.is_file():
        for line in md.read_text().splitlines():
            m = re.match(r"- `([^`]+)`", line)
            if m and NOTE in line and line.rpartition(NOTE)[2] != "TODO":  # a TODO never hides a real note
                notes[m.group(1)] = line.rpartition(NOTE)[2]
    return notes


def machine() -> str:
    import torch

    return (f"{os.cpu_count()}-core {platform.machine()} {platform.system()}, Python {platform.python_version()}, "
            f"torch {torch.__version__}, fast suite's test files (see [tool.mutmut] in pyproject.toml)")


def write(modules: dict) -> None:
    import mutmut

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    not_run = [p for p in CORE if p not in modules]
    doc = {"date": stamp, "tool": f"mutmut {mutmut.__version__}", "machine": machine(),
           "modules": {p: {k: m[k] for k in KEYS} for p, m in modules.items()}, "not_run": not_run}
    (REPO / "docs" / "mutation.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = REPO / "docs" / "mutation.md"
    notes = old_notes(md)
    lines = [f"# Mutation testing ({stamp}, {doc['tool']})", "",
             f"Machine: {doc['machine']}. `make mutation` (scripts/mutation_report.py) runs mutmut one core module",
             "at a time. % killed = killed / all mutants: \"no tests\" and timeouts count against it. "
             "Goal: 90% in each module.", "",
             "| module | mutants | killed | survived | no tests | timeout | suspicious | % killed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for p, m in modules.items():
        lines.append(f"| {p} | {sum(m[k] for k in KEYS)} | {m['killed']} | {m['survived']} | {m['no_tests']} "
                     f"| {m['timeout']} | {m['suspicious']} | {pct_killed(m):.1f}% |")
    lines += ["", "Not run: " + (", ".join(not_run) if not_run else "none") + ".", "",
              "## Mutants not killed", "",
              "Each: mutmut's name, its verdict and change, then why it is harmless or why no CPU test reaches it.",
              "`mutmut show NAME` prints the whole diff.", ""]
    for path, m in modules.items():
        if m["not_survived"]:
            lines += [f"### {path}", ""]
        for key in m["not_survived"]:
            lines.append(f"- `{key}` ({m['verdict'][key].replace('_', ' ')}, {change(key, path)}){NOTE}"
                         f"{notes.get(key, 'TODO')}")
        if m["not_survived"]:
            lines.append("")
    # A run cut short (or of some modules only) must not lose the notes of modules it has not re-counted yet.
    shown = {key for m in modules.values() for key in m["not_survived"]}
    kept = [f"- `{key}`{NOTE}{note}" for key, note in notes.items()
            if key not in shown and module_of(key) not in modules]
    if kept:
        lines += ["## Notes kept for modules not in this report", ""] + kept
    md.write_text("\n".join(lines).rstrip() + "\n")


def module_of(key: str) -> str:
    """'ropebench.asvtools.merge.x_f__mutmut_3' -> 'ropebench/asvtools/merge.py'."""
    return key.rpartition(".")[0].replace(".", "/") + ".py"


def run(path: str, children: int) -> None:
    glob = path.removesuffix(".py").replace("/", ".") + ".*"
    print(f"== mutmut run {glob}", flush=True)
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(children), glob], cwd=REPO,
                   env=os.environ | ENV, check=False)


def main(argv) -> int:
    children = int(os.environ.get("MUTATION_CHILDREN", "2"))
    if argv[:1] == ["run"]:
        for path in [module_path(a) for a in argv[1:]] or CORE:
            run(path, children)
            write(counts())
    elif argv[:1] != ["report"]:
        print(__doc__, file=sys.stderr)
        return 2
    modules = counts()
    if not modules:
        print("mutation_report: no finished mutmut run under mutants/: run `make mutation` first", file=sys.stderr)
        return 2
    write(modules)
    for p, m in modules.items():
        print(f"{p}: {pct_killed(m):.1f}% killed " + json.dumps({k: m[k] for k in KEYS}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
