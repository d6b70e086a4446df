"""``ropebench merge``: merge asv result folders, refusing corrupt files (the library: ropebench.asvtools.merge)."""

from __future__ import annotations

import sys

from ropebench.asvtools.merge import merge_trees


def add_arguments(p) -> None:
    p.add_argument("dest", metavar="DEST", help="results folder to merge into (created if missing)")
    p.add_argument("sources", metavar="SRC", nargs="+", help="results folders to merge from")


def run(args) -> int:
    counts = merge_trees(args.dest, args.sources)
    print(f"merged into {args.dest}: {counts['added']} added, {counts['merged']} merged, "
          f"{counts['same']} identical", file=sys.stderr)
    return 0
