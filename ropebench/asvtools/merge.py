"""``ropebench merge``: unite asv result folders (shards, runners, the results branch) losslessly.

An asv results folder is ``benchmarks.json`` plus ``<machine>/machine.json`` and one file per
commit and env, ``<machine>/<hash8>-<env>.json``. Shards benchmark different commits, so most
files are simply copied. When the same file comes from two places (two shards that both ran a
commit, two runners pushing at once, a re-run), their benchmark rows are merged instead of one file
replacing the other:

* a benchmark only one side has is kept;
* same benchmark, same parameters and version: per parameter combination, a measured value beats a
  skip (NaN), which beats a failure (null); between two measured values the later run wins (asv
  itself replaces a result when a benchmark is re-run), with its stats and samples;
* different parameters or version (the suite changed): the whole row of the later run wins.

So a measured result is never dropped unless a later run of the same benchmark measured it again.
The work is on the raw JSON, with asv's loader and writer, so nothing is reformatted or truncated.
Sidecars (``<stem>.sidecar``, see sidecar.py) travel with their results; sections merge, incoming wins.

Every source file, and every file of the destination that a source also has, is checked with asv's
own loaders (``Results.load`` for result files) before anything is written: one corrupt file refuses
the whole merge, so half a merge never happens. A machine folder is merged whether or not it carries
``machine.json`` (a collect step may leave an unchanged one behind), as long as the destination or
another source has one for it.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

from ropebench.asvtools.sidecar import SUFFIX as SIDECAR
from ropebench.errors import RopeBenchError

BENCHMARKS_API = 2  # asv.benchmarks.Benchmarks.api_version
MACHINE_API = 1  # asv.machine.Machine.api_version
# asv.results.Results.save's column order.
COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
           "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile"]
PER_PARAM = {"result", "samples"} | {c for c in COLUMNS if c.startswith("stats_")}


def check_file(path: Path) -> None:
    """Raise a one-line RopeBenchError unless asv's own loader reads path (a sidecar: a JSON object)."""
    from asv.results import Results
    from asv.util import UserError, load_json

    try:
        if path.name == "benchmarks.json":
            load_json(str(path), api_version=BENCHMARKS_API)
        elif path.name == "machine.json":
            if not isinstance(load_json(str(path), api_version=MACHINE_API).get("machine"), str):
                raise ValueError("no machine name")
        elif path.suffix == SIDECAR:
            if not isinstance(json.loads(path.read_text()), dict):
                raise ValueError("not a JSON object")
        else:
            Results.load(str(path))
    except (UserError, OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = reason.replace(f"Error loading results file '{path}': ", "")  # asv names the file too
        raise RopeBenchError(f"corrupt asv file {path}, nothing done: {reason}") from None


def check_tree(root, have_machine=()) -> list[Path]:
    """Check every asv file under root before any is used; returns them (relative paths).

    A machine folder with results but no machine.json is accepted only when its name is in
    have_machine (the destination or another source has one); asv would skip it otherwise."""
    root = Path(root)
    files = list(result_files(root))
    for rel in files:
        check_file(root / rel)
    for folder in sorted({rel.parts[0] for rel in files if len(rel.parts) == 2}):
        if not (root / folder / "machine.json").is_file() and folder not in have_machine:
            raise RopeBenchError(f"machine folder {root / folder} has results but no machine.json "
                                 "(asv would skip it), and no other folder gives one: nothing merged")
    return files


def _rows(d: dict) -> dict:
    cols = d.get("result_columns") or COLUMNS
    return {name: dict(itertools.zip_longest(cols, row)) for name, row in d.get("results", {}).items()}


def _rank(v) -> int:
    if v is None:
        return 0  # failed
    if isinstance(v, float) and math.isnan(v):
        return 1  # skipped
    return 2  # measured


def _later(a: dict, b: dict) -> bool:
    """True when row b comes from a later run than row a (ties go to b, the incoming one)."""
    return (b.get("started_at") or 0) >= (a.get("started_at") or 0)


def merge_rows(a: dict, b: dict) -> dict:
    """One benchmark's row from two runs; b is the incoming one."""
    later_is_b = _later(a, b)
    out = dict(b) if later_is_b else dict(a)  # its whole-row columns, started_at included
    if a.get("params") != b.get("params") or a.get("version") != b.get("version"):
        return out
    n = math.prod(len(p) for p in (a.get("params") or []))
    for col in PER_PARAM:
        out[col] = []
    ra, rb = a.get("result") or [None] * n, b.get("result") or [None] * n
    for i in range(n):
        ka, kb = _rank(ra[i]), _rank(rb[i])
        src = b if (kb > ka or (kb == ka and later_is_b)) else a
        for col in PER_PARAM:
            values = src.get(col)
            out[col].append(values[i] if values is not None and i < len(values) else None)
    for col in PER_PARAM:
        if all(v is None for v in out[col]):
            out[col] = None  # asv writes an all-None column as null
    return out


def merge_result_data(a: dict, b: dict) -> dict:
    """Two result files of the same machine, commit and env; b is the incoming one."""
    for key in ("commit_hash", "env_name"):
        if a.get(key) != b.get(key):
            raise RopeBenchError(f"cannot merge result files of different {key}: {a.get(key)} vs {b.get(key)}")
    rows_a, rows_b = _rows(a), _rows(b)
    merged = {}
    for name in sorted(set(rows_a) | set(rows_b)):
        if name not in rows_b:
            merged[name] = rows_a[name]
        elif name not in rows_a:
            merged[name] = rows_b[name]
        else:
            merged[name] = merge_rows(rows_a[name], rows_b[name])
    results = {}
    for name, row in merged.items():
        values = [row.get(c) for c in COLUMNS]
        while values and values[-1] is None:  # as asv's save: trailing nulls dropped
            values.pop()
        results[name] = values
    durations = {**(a.get("durations") or {}), **(b.get("durations") or {})}
    return {**b, "result_columns": COLUMNS, "results": results, "durations": durations}


def merge_file(dest: Path, src: Path) -> str:
    """Merge one asv JSON file into dest; returns 'added', 'merged' or 'same'.

    Both files have passed check_file, so their asv api versions are known to be right: they are read
    as plain JSON, and the incoming file's version is written back."""
    from asv.util import load_json, write_json

    name = src.name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return "added"
    if dest.read_bytes() == src.read_bytes():
        return "same"
    if src.suffix == SIDECAR:
        merged = {**json.loads(dest.read_text()), **json.loads(src.read_text())}
        dest.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
    elif name in ("benchmarks.json", "machine.json"):
        # The incoming suite or machine description wins key by key; benchmarks it lacks stay.
        write_json(str(dest), {**load_json(str(dest)), **load_json(str(src))})
    else:
        merged = merge_result_data(load_json(str(dest)), load_json(str(src)))
        write_json(str(dest), merged, compact=True)  # as asv's Results.save
    return "merged" if dest.read_bytes() != src.read_bytes() else "same"


def result_files(root: Path):
    """asv's files under a results folder, as paths relative to it, in the order a merge writes them:
    each machine folder's machine.json before its results, so a folder is never without one, and
    benchmarks.json last, so a reader never sees a suite description ahead of the results."""
    for machine in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        # Also a folder whose machine.json stayed behind: its results must not be dropped.
        if (machine / "machine.json").is_file():
            yield machine.relative_to(root) / "machine.json"
        for f in sorted([*machine.glob("*.json"), *machine.glob("*" + SIDECAR)]):
            if f.name != "machine.json":
                yield f.relative_to(root)
    if (root / "benchmarks.json").is_file():
        yield Path("benchmarks.json")


def merge_trees(dest, sources) -> dict:
    """Merge every source results folder into dest (created if missing); returns counts."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise RopeBenchError(f"DEST must be a results folder, not a file: {dest}")
    counts = {"added": 0, "merged": 0, "same": 0}
    sources = [Path(s) for s in sources]
    for src in sources:
        if not src.is_dir():
            raise RopeBenchError(f"results folder {src} does not exist")
    sources = [s for s in sources if s.resolve() != dest.resolve()]
    have_machine = {p.parent.name for root in [dest, *sources] for p in root.glob("*/machine.json")}
    # Every source is checked before anything is written: a corrupt file refuses the whole merge.
    checked = [(src, check_tree(src, have_machine)) for src in sources]
    # So is every file of dest that a source also has, since the merge reads it too.
    for rel in sorted({rel for _, files in checked for rel in files}):
        if (dest / rel).exists():
            check_file(dest / rel)
    for src, files in checked:
        for rel in files:  # in result_files' order: machine.json first, benchmarks.json last
            counts[merge_file(dest / rel, src / rel)] += 1
    return counts
