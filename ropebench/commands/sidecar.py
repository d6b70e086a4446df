"""``ropebench sidecar``: after asv run, record versions and the kernel's build beside each new result.

The library behind it: ropebench.asvtools.annotate.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ropebench.asvtools.annotate import annotate, env_dirs_of
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("--conf", default=None, help="asv config (default asv.conf.json when it exists)")
    p.add_argument("--results", default=None, metavar="DIR", help="asv results folder (default: the config's)")
    p.add_argument("--env-dir", action="append", default=None, metavar="DIR",
                   help="asv env folder holding the build cache (repeatable; default: the config's and its shards')")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true",
                       help="every result in the folder is this run's (asv filled it from empty)")
    which.add_argument("--newer-than", default=None, metavar="FILE",
                       help="only results written after FILE was (default: those of the last day lacking a section)")


def run(args) -> int:
    from ropebench.asvtools.config import conf_path, load_conf, results_dir_of

    conf = load_conf(args.conf)
    results = results_dir_of(args, conf)
    if not results.is_dir():
        raise RopeBenchError(f"results folder {results} does not exist")
    if args.env_dir:
        env_dirs = [Path(d) for d in args.env_dir]
    else:
        env_dirs = env_dirs_of(conf_path(conf, conf.env_dir)) if conf is not None else []
    newer = None
    if args.newer_than:
        try:
            newer = Path(args.newer_than).stat().st_mtime
        except OSError as exc:
            raise RopeBenchError(f"--newer-than {args.newer_than}: {exc.strerror}") from None
    counts = annotate(results, env_dirs, newer, every=args.all)
    print(f"ropebench sidecar: {counts['results']} result(s); versions written to {counts['versions_written']}, "
          f"build records to {counts['build_written']} ({counts['build_missing']} without a kernel wheel in "
          f"asv's build cache)", file=sys.stderr)
    print(json.dumps(counts))
    return 0
