"""``ropebench steps``: a page of the published site listing every step in the history.

After ``asv publish``: for each benchmark point (machine, env, benchmark, parameters) its values in
commit order (the order asv publish gave them, index.json's revision_to_hash) are cut into steps by
asv's own detector (``asv.step_detect.detect_steps``, what the site's regression list uses). Where
two neighbouring steps differ by more than the factor, the page shows the commit range (last commit
of the old level, first of the new), the ratio, and the suspects (culprits.py): the commits in that
range whose kernel build key changed, toolchain differences and package versions from the two
results' sidecars. Points that share a commit range share one suspects block. The page is
``steps.html`` beside asv's ``index.html``, which gets a "Steps" link in its navigation bar.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ropebench.asvtools import culprits, sidecar
from ropebench.errors import RopeBenchError

DEFAULT_FACTOR = 1.05  # asv.conf.json's regressions_thresholds: the site's own regression threshold
PAGE = "steps.html"
NAV_LINK = '<li id="nav-li-steps"><a href="steps.html">Steps</a></li>'
NAV_ANCHOR = '<li id="nav-li-regressions">'


@dataclass
class Step:
    machine: str
    env: str
    benchmark: str
    params: str
    before: str  # full hash: last commit at the old level
    after: str  # first commit at the new level
    old: float
    new: float
    unit: str | None

    @property
    def ratio(self) -> float:
        return self.new / self.old if self.old else math.inf


def load_series(results_dir: Path, order: dict[str, int], benchmarks: dict) -> dict[tuple, list]:
    """{(machine, env, benchmark, params text): [(revision, commit, value)] sorted} for commits in order."""
    from asv.results import iter_results_for_machine

    from ropebench.asvtools.compare import machines_in

    series: dict[tuple, list] = {}
    for machine in machines_in(results_dir):
        for res in iter_results_for_machine(str(results_dir), machine):
            rev = order.get(res.commit_hash)
            if rev is None:
                continue  # not on the published branches
            for key in res.get_all_result_keys():
                params = res.get_result_params(key)
                values = res.get_result_value(key, params) or []
                names = benchmarks.get(key, {}).get("param_names") or [f"p{i}" for i in range(len(params))]
                for combo, v in zip(itertools.product(*params), values):
                    if v is None or (isinstance(v, float) and math.isnan(v)):
                        continue
                    # asv keeps parameter values as reprs: 'vllm' reads better as vllm on a page
                    text = ", ".join(f"{n}={c.strip(chr(39))}" for n, c in zip(names, combo))
                    series.setdefault((machine, res.env_name, key, text), []).append((rev, res.commit_hash, v))
    for points in series.values():
        points.sort()
    return series


def steps_of(points: list[tuple[int, str, float]], factor: float) -> list[tuple[int, int, float, float]]:
    """(index before, index after, old level, new level) of each step beyond factor."""
    from asv.step_detect import detect_steps

    if len(points) < 2:
        return []
    found = detect_steps([v for _, _, v in points])
    out = []
    for (_, right, old, _, _), (left, _, new, _, _) in zip(found, found[1:]):
        if old > 0 and new > 0 and max(new / old, old / new) > factor:
            out.append((right - 1, left, old, new))
    return out


def find_steps(results_dir: Path, html_dir: Path, factor: float) -> list[Step]:
    from ropebench.asvtools.compare import load_benchmarks

    try:
        index = json.loads((html_dir / "index.json").read_text())
    except (OSError, ValueError) as exc:
        raise RopeBenchError(f"no published site in {html_dir} (run asv publish first): {exc}") from None
    order = {h: int(r) for r, h in index.get("revision_to_hash", {}).items()}
    benchmarks = load_benchmarks(results_dir)
    found = []
    for (machine, env, bench, params), points in sorted(load_series(results_dir, order, benchmarks).items()):
        for i, j, old, new in steps_of(points, factor):
            found.append(Step(machine, env, bench, params, points[i][1], points[j][1], old, new,
                              benchmarks.get(bench, {}).get("unit")))
    return found


def _commit_link(sha: str, url: str | None) -> str:
    text = f"<code>{html.escape(sha[:8])}</code>"
    return f'<a href="{html.escape(url + sha)}">{text}</a>' if url else text


def _table(rows, head) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def render_html(steps: list[Step], suspects: dict, results_dir: Path, factor: float, commit_url: str | None) -> str:
    def value(v, unit):
        from ropebench.asvtools.compare import fmt_value

        return html.escape(fmt_value(v, unit))

    parts = [f"<p>{len(steps)} step(s) beyond a factor of {factor:g} (asv's step detection over each point's "
             "history, in commit order). Suspects: commits in the range whose RoPE kernel build key changed, and "
             "differences in toolchain and package versions between the two results. In kernel mode the torch "
             "and FlashInfer points do not depend on the vLLM commit: a step there is the machine or a "
             "package, not vLLM.</p>"]
    if not steps:
        parts.append("<p>No steps.</p>")
    groups = itertools.groupby(sorted(steps, key=lambda s: (s.machine, s.before, s.after, -abs(math.log(s.ratio)))),
                               key=lambda s: (s.machine, s.before, s.after))
    for (machine, before, after), members in groups:
        members = list(members)
        sus = suspects[(machine, before, after)]
        parts.append(f"<h2>{_commit_link(before, commit_url)} &rarr; {_commit_link(after, commit_url)} "
                     f"on <code>{html.escape(machine)}</code>: {len(members)} point(s)</h2>")
        if sus.commits:
            items = "".join(f"<li>{_commit_link(c['commit'], commit_url)} {html.escape(c['subject'])}</li>"
                            for c in sus.commits)
            parts.append(f"<p>Kernel changed in:</p><ul>{items}</ul>")
        else:
            parts.append("<p>No commit in this range changed the kernel's build inputs.</p>")
        if sus.toolchain:
            parts.append("<p>Toolchain differs:</p>" + _table(
                [(html.escape(k), html.escape(str(a)), html.escape(str(b))) for k, a, b in sus.toolchain],
                ("field", "before", "after")))
        vers = [sidecar.read(p).get("versions", {}) if p else {}
                for p in (culprits.result_file(results_dir, machine, c) for c in (before, after))]
        names = sorted(set(vers[0]) | set(vers[1]))
        if names:
            parts.append("<p>Versions (sidecar):</p>" + _table(
                [(html.escape(n), html.escape(str(vers[0].get(n))), html.escape(str(vers[1].get(n)))
                  + (" <b>changed</b>" if vers[0].get(n) != vers[1].get(n) else "")) for n in names],
                ("package", "before", "after")))
        parts += [f"<p><i>{html.escape(n)}</i></p>" for n in sus.notes]
        parts.append(_table([(f"<code>{html.escape(s.benchmark)}</code>", html.escape(s.params),
                              html.escape(s.env), value(s.old, s.unit), value(s.new, s.unit), f"{s.ratio:.3f}")
                             for s in members], ("benchmark", "parameters", "env", "before", "after", "ratio")))
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}h2{font-size:1.1em;margin-top:2em}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Steps</title><style>{style}</style></head>"
            f"<body><p><a href='index.html'>&larr; benchmarks</a></p><h1>Steps in the history</h1>"
            f"{''.join(parts)}</body></html>\n")


def link_from_index(html_dir: Path) -> bool:
    """Add the Steps link to asv's navigation bar (once). False when index.html has no such bar."""
    index = html_dir / "index.html"
    text = index.read_text()
    if NAV_LINK in text:
        return True
    if NAV_ANCHOR not in text:
        return False
    index.write_text(text.replace(NAV_ANCHOR, NAV_LINK + "\n\t" + NAV_ANCHOR, 1))
    return True
