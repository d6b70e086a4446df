"""``ropebench compare``: compare two commits' asv results as Markdown; exit 1 on a regression or a failure.

The library behind it: ropebench.asvtools.compare.
"""

from __future__ import annotations

import os
from pathlib import Path

from ropebench.asvtools.compare import DEFAULT_FACTOR, compare, render_markdown
from ropebench.asvtools.config import DEFAULT_CONF, load_conf, results_dir_of
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("base", metavar="BASE", help="base commit: hash, prefix, or a name in asv's local repo clone")
    p.add_argument("head", metavar="HEAD", help="head commit, as BASE")
    p.add_argument("--results", default=None,
                   help="asv results folder (default: results_dir of --conf)")
    p.add_argument("--conf", default=None, help=f"asv config (default {DEFAULT_CONF} when it exists)")
    p.add_argument("--machine", default=None, help="machine name; required when results hold several")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help=f"ratio beyond which a significant change counts (default {DEFAULT_FACTOR}, as asv)")
    p.add_argument("--env-name", action="append", default=None, metavar="ENV",
                   help="only this asv env name (repeatable; default all)")
    p.add_argument("--markdown", default=None, metavar="FILE", help="also write the Markdown here")
    p.add_argument("--summary", action="store_true",
                   help="also append the Markdown to $GITHUB_STEP_SUMMARY when it is set")


def run(args) -> int:
    conf = load_conf(args.conf)
    results = results_dir_of(args, conf)
    cmp = compare(results, args.base, args.head, machine=args.machine, factor=args.factor,
                  env_names=args.env_name, conf=conf)
    text = render_markdown(cmp)
    from ropebench.asvtools import culprits

    text += culprits.section(cmp, conf, results)  # suspects, when a row regressed
    try:
        if args.markdown:
            Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
            Path(args.markdown).write_text(text, encoding="utf-8")
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if args.summary and summary:
            with open(summary, "a", encoding="utf-8") as f:
                f.write(text + "\n")
    except OSError as exc:
        raise RopeBenchError(f"cannot write the comparison: {exc}") from None
    print(text, end="")
    return cmp.exit_code
