"""``ropebench shard``: split a commit range into N asv hash files, one per runner or GPU.

The library behind it: ropebench.asvtools.shard.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ropebench.asvtools.config import conf_path, load_conf
from ropebench.asvtools.shard import STRATEGIES, select_commits, split, write_shards
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("range", metavar="RANGE",
                   help="as for asv run: NEW, ALL, EXISTING, HEAD, TAGS, HASHFILE:path or a git range a..b")
    p.add_argument("--shards", type=int, required=True, metavar="N", help="number of hash files")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for shard-K.txt")
    p.add_argument("--repo", default=None, metavar="PATH",
                   help="a local clone of the benchmarked repo (default: asv's own, from the config)")
    p.add_argument("--conf", default=None, help="asv config (default asv.conf.json when it exists)")
    p.add_argument("--results", default=None, metavar="DIR",
                   help="results folder for NEW/EXISTING (default: results_dir of the config)")
    p.add_argument("--steps", type=int, default=None, metavar="S",
                   help="as asv run --steps: pick S evenly spaced commits before sharding")
    p.add_argument("--strategy", choices=STRATEGIES, default="round-robin",
                   help="round-robin (default: even coverage, balanced eras) or contiguous")
    p.add_argument("--asv-confs", action="store_true",
                   help="also write shard-K.asv.conf.json with per-shard results/env folders "
                        "(for several asv processes on one host)")
    p.add_argument("--github-output", action="store_true",
                   help="append matrix=[K,...] and commits=N to $GITHUB_OUTPUT when it is set")


def run(args) -> int:
    if args.shards < 1:
        raise RopeBenchError(f"--shards must be at least 1 (got {args.shards})")
    conf = load_conf(args.conf)
    if args.asv_confs and conf is None:
        raise RopeBenchError("--asv-confs needs an asv config (--conf or asv.conf.json here)")
    results = args.results or (conf_path(conf, conf.results_dir) if conf is not None else None)
    commits = select_commits(args.range, conf=conf, repo_path=args.repo, results_dir=results,
                             steps=args.steps)
    shards = split(commits, args.shards, args.strategy)
    try:
        written = write_shards(shards, Path(args.out), conf if args.asv_confs else None)
        gh = os.environ.get("GITHUB_OUTPUT")
        if args.github_output and gh:
            with open(gh, "a", encoding="utf-8") as f:
                f.write(f"matrix={json.dumps([w['index'] for w in written])}\n")
                f.write(f"commits={len(commits)}\n")
    except OSError as exc:
        raise RopeBenchError(f"cannot write the shards: {exc}") from None
    print(json.dumps({"commits": len(commits), "strategy": args.strategy, "shards": written}, indent=2))
    return 0
