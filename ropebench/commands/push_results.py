"""``ropebench push-results``: push asv results to a results branch, refusing corrupt files.

The library behind it: ropebench.asvtools.results_branch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ropebench.asvtools.results_branch import push_results
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="asv results folder with the new results")
    p.add_argument("--remote", required=True, metavar="URL_OR_NAME",
                   help="git remote: a URL, a path, or a remote name of the current repository")
    p.add_argument("--branch", default="results", help="branch that stores results (default results)")
    p.add_argument("--subdir", default="results", help="folder of the branch that holds them (default results)")
    p.add_argument("--retries", type=int, default=5, help="replays after a rejected push (default 5)")
    p.add_argument("--message", default=None, help="commit message (default: counts and machines)")


def _remote_url(name: str) -> str:
    """A remote name of the current repository becomes its URL: the temp clone has no remotes."""
    if "://" in name or "@" in name or Path(name).exists():
        return name
    proc = subprocess.run(["git", "remote", "get-url", name], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RopeBenchError(f"{name!r} is neither a URL, a path nor a remote of this repository")
    return proc.stdout.strip()


def run(args) -> int:
    out = push_results(args.results_dir, _remote_url(args.remote), args.branch, subdir=args.subdir,
                       retries=args.retries, message=args.message)
    if out["pushed"]:
        print(f"pushed {out['files']} changed file(s) to {args.branch} "
              f"({out['added']} added, {out['merged']} merged; attempt {out['attempts']})", file=sys.stderr)
    else:
        print(f"nothing new for {args.branch}: every result is already there", file=sys.stderr)
    return 0
