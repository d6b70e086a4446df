"""``ropebench alert``: the nightly's regression or failure issue text (the library: ropebench.asvtools.alert)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ropebench.asvtools.alert import LABELS, failed_body, regression_body, regressions
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("kind", choices=sorted(LABELS), help="regression (from asv publish) or failed (the run)")
    p.add_argument("--html", metavar="DIR", help="regression: asv's html folder (regressions.json, index.json)")
    p.add_argument("--health", metavar="FILE", help="failed: the health reading, when the check refused the GPU")
    p.add_argument("--run-url", default="(run link unknown)", help="link to the workflow run")
    p.add_argument("--site-url", default=None, help="link to the published site")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for title.txt and body.md")


def run(args) -> int:
    if args.kind == "regression":
        if not args.html:
            raise RopeBenchError("regression needs --html DIR (asv publish's output)")
        rows = regressions(args.html)
        alert = bool(rows)
        title, body = regression_body(rows, args.run_url, args.site_url) if rows else ("", "")
    else:
        alert = True
        title, body = failed_body(args.run_url, args.health)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "title.txt").write_text(title + "\n" if title else "")
    (out / "body.md").write_text(body)
    (out / "label.txt").write_text(LABELS[args.kind] + "\n")
    gh = os.environ.get("GITHUB_OUTPUT")
    if gh:
        with open(gh, "a", encoding="utf-8") as f:
            f.write(f"alert={'true' if alert else 'false'}\n")
    print(title if alert else "no regression on the site: no alert", file=sys.stderr)
    return 0
