"""``ropebench compare``: asv's comparison of two commits, as Markdown, with an honest exit code.

`asv compare` always exits 0 and `asv continuous` prints no table when a benchmark failed. This
reads the same result files with asv's own loaders, pairs rows the way asv does (benchmark,
parameters, machine and env name), and decides "changed" with asv's own rule
(``asv.commands.compare._is_result_better``): beyond ``--factor`` AND statistically significant
(Mann-Whitney U on raw samples, else non-overlapping 99% CIs, from ``asv._stats``); ``track_``
benchmarks, which have no stats, by the factor alone. Every metric is lower-is-better, as in asv.

Rows are regressed, improved, unchanged, failed (no value on head: newly failing or still
failing), skipped (NaN, not comparable, or not run on head) or new (no row on base).
Exit 1 exactly when a row regressed or failed, 0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import itertools
import math
import string
from dataclasses import dataclass, field
from pathlib import Path

from ropebench.asvtools.config import local_repo
from ropebench.errors import RopeBenchError

DEFAULT_FACTOR = 1.1  # asv's own default

STATUSES = ("regressed", "failed", "improved", "unchanged", "skipped", "new")
TITLES = {
    "regressed": "Regressed",
    "failed": "Failed",
    "improved": "Improved",
    "unchanged": "Unchanged",
    "skipped": "Skipped or not comparable",
    "new": "New",
}
# Long, boring sections fold away so a PR comment leads with what matters.
FOLDED = {"unchanged", "skipped", "new"}


@dataclass
class Row:
    benchmark: str
    params: str
    env: str
    status: str
    base: object  # float, None (failed) or NaN (skipped); MISSING when the side has no row
    head: object
    base_err: float | None
    head_err: float | None
    unit: str | None
    ratio: float | None
    note: str = ""
    insignificant: bool = False  # beyond the factor, but not significant: asv's "~"


@dataclass
class Comparison:
    base: str  # full hashes
    head: str
    machine: str
    envs: list[str]
    factor: float
    rows: list[Row] = field(default_factory=list)

    def by_status(self, status):
        return [r for r in self.rows if r.status == status]

    @property
    def exit_code(self) -> int:
        return 1 if any(r.status in ("regressed", "failed") for r in self.rows) else 0


class _Missing:
    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _number(v) -> bool:
    """A measured value, not MISSING, None (failed) or NaN (skipped). asv keeps what a ``track_`` benchmark
    returns, so an int stays an int."""
    return isinstance(v, (int, float)) and not _isnan(v)


# ---------------------------------------------------------------- loading (asv's own code)


def machines_in(results_dir: Path) -> list[str]:
    from asv.machine import iter_machine_files
    from asv.util import UserError, load_json

    names = []
    for path in iter_machine_files(str(results_dir)):
        try:
            names.append(load_json(path)["machine"])
        except (UserError, KeyError, OSError) as exc:
            raise RopeBenchError(f"unreadable machine file {path}: {exc}") from None
    return sorted(set(names))


def pick_machine(results_dir: Path, machine: str | None) -> str:
    machines = machines_in(results_dir)
    if not machines:
        raise RopeBenchError(f"no asv results in {results_dir} (no <machine>/machine.json)")
    if machine is None:
        if len(machines) > 1:
            raise RopeBenchError(f"results for several machines ({', '.join(machines)}): pass --machine")
        return machines[0]
    if machine not in machines:
        raise RopeBenchError(f"no results for machine {machine!r} in {results_dir} "
                             f"(machines: {', '.join(machines)})")
    return machine


def load_benchmarks(results_dir: Path) -> dict:
    """benchmarks.json: units and parameter names. Missing is tolerated (units then unknown)."""
    from asv.benchmarks import Benchmarks
    from asv.util import UserError, load_json

    path = results_dir / "benchmarks.json"
    if not path.is_file():
        return {}
    try:
        return load_json(str(path), api_version=Benchmarks.api_version)  # checks, then drops, "version"
    except UserError as exc:
        raise RopeBenchError(f"unreadable {path}: {exc}") from None


def resolve_commit(name: str, results_dir: Path, machine: str, conf=None) -> str:
    """A commit as asv names its result files (8-char prefix), from a hash, prefix or git name."""
    from asv.results import get_result_hash_from_prefix
    from asv.util import UserError

    try:
        found = get_result_hash_from_prefix(str(results_dir), machine, name)
    except UserError as exc:  # ambiguous prefix
        raise RopeBenchError(f"{name!r}: {exc}") from None
    if found:
        return found
    full = _rev_parse(name, conf)
    if full:
        found = get_result_hash_from_prefix(str(results_dir), machine, full)
        if found:
            return found
    hint = "" if full or all(c in string.hexdigits for c in name) else (
        "; names like main~1 resolve only where the repo or asv's clone of it is on disk, else pass a hash")
    raise RopeBenchError(f"no results for commit {name!r} on machine {machine!r} in {results_dir}{hint}")


def _rev_parse(name: str, conf) -> str | None:
    """A branch or tag name through asv's repo, only if it is already on disk (never clone)."""
    if conf is None:
        return None
    from asv.repo import NoSuchNameError
    from asv.util import ProcessError, UserError

    repo = local_repo(conf)
    if repo is None:
        return None
    try:
        return repo.get_hash_from_name(name)
    except (NoSuchNameError, ProcessError, UserError):
        return None


def load_side(results_dir: Path, machine: str, name: str, env_names: set, conf=None) -> tuple[str, dict]:
    """Commit `name`'s results: (full hash, {(benchmark, params tuple, env): (value, stats, samples, version)})."""
    from asv.results import iter_results_for_machine_and_hash

    rows = {}
    prefix = resolve_commit(name, results_dir, machine, conf)
    for res in iter_results_for_machine_and_hash(str(results_dir), machine, prefix):
        if env_names and res.env_name not in env_names:
            continue
        full = res.commit_hash
        for key in res.get_all_result_keys():
            # asv gives one entry per parameter combination, None where it has none (a failure, no stats,
            # no samples), also for a benchmark that failed as a whole.
            params = res.get_result_params(key)
            values = res.get_result_value(key, params)
            stats = res.get_result_stats(key, params)
            samples = res.get_result_samples(key, params)
            version = res.benchmark_version.get(key)
            for combo, v, st, sa in zip(itertools.product(*params), values, stats, samples):
                rows[(key, combo, res.env_name)] = (v, st, sa, version)
    if not rows:
        extra = f" in env {', '.join(sorted(env_names))}" if env_names else ""
        raise RopeBenchError(f"no results for commit {name!r} on machine {machine!r}{extra}")
    return full, rows


# ---------------------------------------------------------------- classification


def classify(b, h, factor: float) -> tuple[str, str, bool]:
    """(status, note, insignificant) for one row; b and h are load_side tuples or MISSING."""
    from asv.commands.compare import _is_result_better

    if h is MISSING:
        return "skipped", "not run on head", False
    hv, hst, hsa, hver = h
    if hv is None:
        if b is MISSING:
            return "failed", "new benchmark, failing", False
        return "failed", ("newly failing" if b[0] is not None else "failing on base too"), False
    if b is MISSING:
        return "new", "", False
    bv, bst, bsa, bver = b
    if bver is not None and hver is not None and bver != hver:
        return "skipped", "benchmark version changed: not comparable", False
    if _isnan(bv) or _isnan(hv):
        side = "base and head" if _isnan(bv) and _isnan(hv) else ("base" if _isnan(bv) else "head")
        return "skipped", f"skipped on {side}", False
    if bv is None:
        return "improved", "fixed (failed on base)", False
    # asv's rule, argument for argument as asv compare calls it.
    if _is_result_better(hv, bv, (hst, hsa), (bst, bsa), factor):
        return "improved", "", False
    if _is_result_better(bv, hv, (bst, bsa), (hst, hsa), factor):
        return "regressed", "", False
    beyond = _is_result_better(bv, hv, None, None, factor) or _is_result_better(hv, bv, None, None, factor)
    return "unchanged", ("beyond factor, not significant" if beyond else ""), beyond


def _err(side) -> float | None:
    """asv's spread of a measured value (half its interquartile range), where asv kept stats (not for track_).
    A parameter that was not run (asv -b selected others of its benchmark) has a NaN value and ``{}`` stats."""
    from asv_runner.statistics import get_err

    if side is MISSING or not _number(side[0]) or side[1] is None:
        return None
    return get_err(side[0], side[1])


def compare(results_dir, base: str, head: str, *, machine: str | None = None, factor: float = DEFAULT_FACTOR,
            env_names=None, conf=None) -> Comparison:

    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise RopeBenchError(f"results folder {results_dir} does not exist")
    if not factor >= 1.0:
        raise RopeBenchError(f"--factor must be >= 1 (got {factor})")
    machine = pick_machine(results_dir, machine)
    env_names = set(env_names or ())
    full_b, side_b = load_side(results_dir, machine, base, env_names, conf)
    full_h, side_h = load_side(results_dir, machine, head, env_names, conf)
    benchmarks = load_benchmarks(results_dir)
    envs = sorted({k[2] for k in itertools.chain(side_b, side_h)})
    cmp = Comparison(base=full_b, head=full_h, machine=machine, envs=envs, factor=factor)

    for key in sorted(set(side_b) | set(side_h)):  # (benchmark, parameters, env)
        name, combo, env = key
        b, h = side_b.get(key, MISSING), side_h.get(key, MISSING)
        status, note, insignificant = classify(b, h, factor)
        info = benchmarks.get(name, {})
        names = info.get("param_names") or [f"p{i}" for i in range(len(combo))]
        params = ", ".join(f"{n}={v}" for n, v in zip(names, combo))
        bv = b[0] if b is not MISSING else MISSING
        hv = h[0] if h is not MISSING else MISSING
        ratio = hv / bv if _number(bv) and _number(hv) and bv != 0 else None
        cmp.rows.append(Row(benchmark=name, params=params, env=env, status=status, base=bv, head=hv,
                            base_err=_err(b), head_err=_err(h), unit=info.get("unit"), ratio=ratio,
                            note=note, insignificant=insignificant))
    return cmp


# ---------------------------------------------------------------- rendering


def fmt_value(value, unit, err=None) -> str:
    """asv's own formatting (seconds become ns/us/ms, bytes become k/M/G), plus other units."""
    from asv.util import human_value

    if value is MISSING:
        return "—"
    if value is None:
        return "failed"
    if _isnan(value):
        return "skipped"
    if unit in ("seconds", "bytes"):
        return human_value(value, unit, err=err)
    text = f"{value:.4g}"
    if err is not None:
        text += f"±{err:.2g}"
    return f"{text} {unit}" if unit and unit != "unit" else text


def fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return "n/a"
    text = f"{row.ratio:.2f}"
    return "~" + text if row.insignificant else text


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(cmp: Comparison) -> str:
    counts = {s: len(cmp.by_status(s)) for s in STATUSES}
    show_env = len(cmp.envs) > 1
    verdict = ("**FAIL**: " if cmp.exit_code else "**OK**: ") + ", ".join(
        f"{counts[s]} {s}" for s in STATUSES)
    lines = [
        f"## RoPE benchmarks: `{cmp.base[:8]}` → `{cmp.head[:8]}`",
        "",
        verdict,
        "",
        f"Machine `{cmp.machine}`, env {', '.join(f'`{e}`' for e in cmp.envs)}. "
        f"A row regressed or improved when the ratio head/base is beyond {cmp.factor:g} "
        "and the difference is significant (asv's test: Mann-Whitney U, p < 0.002, on raw samples; "
        "else non-overlapping 99% CIs); `track_` rows by the factor alone. Lower is better. "
        "`~` marks a ratio beyond the factor that is not significant.",
        "",
    ]
    # Worst regression and best improvement first; no ratio there means a zero base or a fixed failure.
    order = {"regressed": lambda r: -(r.ratio or math.inf), "improved": lambda r: r.ratio or 0}
    for status in STATUSES:
        rows = cmp.by_status(status)
        if not rows:
            continue
        rows = sorted(rows, key=order.get(status, lambda r: (r.benchmark, r.params)))
        title = f"{TITLES[status]} ({len(rows)})"
        table = ["| Benchmark | Parameters | Base | Head | Ratio | Note |", "|---|---|---:|---:|---:|---|"]
        for r in rows:
            name = f"{r.benchmark} [{r.env}]" if show_env else r.benchmark
            table.append("| " + " | ".join(_cell(c) for c in (
                f"`{name}`", r.params, fmt_value(r.base, r.unit, r.base_err),
                fmt_value(r.head, r.unit, r.head_err), fmt_ratio(r), r.note)) + " |")
        if status in FOLDED:
            lines += [f"<details><summary>{title}</summary>", "", *table, "", "</details>", ""]
        else:
            lines += [f"### {title}", "", *table, ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- CLI
