"""``ropebench alert``: the title and body of the one issue a nightly opens or updates.

Two kinds, each kept in ONE open issue found by its label (the workflow's gh call edits it, or opens
it when none is open): ``regression`` from ``asv publish``'s ``regressions.json`` (asv's own step
detection, with ``regressions_thresholds``), and ``failed`` for a nightly that did not finish, with
the run's link and, when the GPU was refused, the health check's reasons. The files are Markdown for
``gh issue create/edit --body-file``; nothing is sent from here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ropebench.errors import RopeBenchError

LABELS = {"regression": "benchmark-regression", "failed": "nightly-failed"}
BODY_LIMIT = 60000  # GitHub caps an issue body at 65536 characters


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RopeBenchError(f"cannot read {path}: {exc}") from None


def regressions(html_dir) -> list[dict]:
    """One row per step asv publish found, oldest data first as asv lists them."""
    from asv.util import human_value

    html = Path(html_dir)
    found = _json(html / "regressions.json").get("regressions", [])
    index = _json(html / "index.json")
    to_hash = {int(k): v for k, v in index.get("revision_to_hash", {}).items()}
    units = {n: b.get("unit", "") for n, b in index.get("benchmarks", {}).items()}
    rows = []
    for name, _graph, graph_params, _idx, last, best, jumps in found:
        unit = units.get(name.split("(")[0], "")
        for rev1, rev2, before, after in jumps:
            commits = to_hash.get(rev2, str(rev2))[:8]
            if rev1 is not None:
                commits = f"{to_hash.get(rev1, str(rev1))[:8]}..{commits}"
            rows.append({"benchmark": name, "params": ", ".join(f"{k}={v}" for k, v in sorted(graph_params.items())),
                         "commits": commits, "before": human_value(before, unit), "after": human_value(after, unit),
                         "ratio": after / before if before else float("inf"),
                         "latest_vs_best": last / best if best else float("inf")})
    return rows


def regression_body(rows: list[dict], run_url: str, site_url: str | None) -> tuple[str, str]:
    title = f"Benchmark regressions: {len(rows)} step(s) on the history site"
    lines = ["The nightly's `asv publish` found these steps (slower beyond the site's threshold, and the "
             "latest value still worse than the best before it).", "",
             "| benchmark | machine / params | commits | before | after | ratio | latest / best |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| `{r['benchmark']}` | {r['params']} | {r['commits']} | {r['before']} | {r['after']} | "
              f"{r['ratio']:.2f}x | {r['latest_vs_best']:.2f}x |" for r in rows]
    lines += ["", f"Run: {run_url}"] + ([f"Site: {site_url}"] if site_url else [])
    lines += ["", "Updated by each nightly while steps remain; `ropebench compare BASE HEAD` names the suspects. "
              "Close it once they are explained (docs/workflows.md, Alerts)."]
    return title, _cap("\n".join(lines))


def failed_body(run_url: str, health_file: str | None) -> tuple[str, str]:
    lines = [f"The nightly history run did not finish: {run_url}", ""]
    if health_file and Path(health_file).is_file():
        reading = _json(Path(health_file))
        if not reading.get("ok", True):
            lines += ["The GPU was not measured; the health check found:", ""]
            lines += [f"- {p}" for p in reading.get("problems", [])] + [""]
    lines += ["Chunks that were pushed are kept; the next run measures only what is missing. See "
              "docs/workflows.md, \"Recover a lost chunk\"."]
    return "Nightly history run failed", _cap("\n".join(lines))


def _cap(body: str) -> str:
    return body if len(body) <= BODY_LIMIT else body[:BODY_LIMIT] + "\n\n(cut: the full table is on the site)\n"
