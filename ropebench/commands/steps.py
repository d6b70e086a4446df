"""``ropebench steps``: write the published site's steps page (the library: ropebench.asvtools.steps)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ropebench.asvtools import culprits
from ropebench.asvtools.steps import DEFAULT_FACTOR, PAGE, find_steps, link_from_index, render_html
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("--conf", default=None, help="asv config (default asv.conf.json when it exists)")
    p.add_argument("--results", default=None, metavar="DIR", help="asv results folder (default: the config's)")
    p.add_argument("--html", default=None, metavar="DIR", help="the published site (default: the config's html_dir)")
    p.add_argument("--repo", default=None, metavar="PATH",
                   help="a clone of the benchmarked repo for the suspects (default: asv's, when on disk)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help=f"list steps whose ratio is beyond this (default {DEFAULT_FACTOR}, the site's threshold)")


def run(args) -> int:
    from ropebench.asvtools.config import conf_path, load_conf, results_dir_of

    if not args.factor > 1.0:
        raise RopeBenchError(f"--factor must be > 1 (got {args.factor})")
    conf = load_conf(args.conf)
    results = results_dir_of(args, conf)
    if args.html:
        html_dir = Path(args.html)
    elif conf is not None:
        html_dir = conf_path(conf, conf.html_dir)
    else:
        raise RopeBenchError("no --html and no asv config: say where asv publish wrote the site")
    if not results.is_dir():
        raise RopeBenchError(f"results folder {results} does not exist")
    steps = find_steps(results, html_dir, args.factor)
    repo = args.repo or culprits.asv_clone_path(conf)
    suspects = {}
    for s in steps:
        key = (s.machine, s.before, s.after)
        if key not in suspects:
            suspects[key] = culprits.find(results, s.machine, s.before, s.after, repo)
    url = getattr(conf, "show_commit_url", None) if conf is not None else None
    (html_dir / PAGE).write_text(render_html(steps, suspects, results, args.factor, url), encoding="utf-8")
    linked = link_from_index(html_dir)
    print(f"ropebench steps: {len(steps)} step(s) in {len(suspects)} commit range(s) -> {html_dir / PAGE}"
          + ("" if linked else " (index.html has no navigation bar to link it from)"), file=sys.stderr)
    print(json.dumps({"steps": len(steps), "ranges": len(suspects), "page": str(html_dir / PAGE)}))
    return 0
