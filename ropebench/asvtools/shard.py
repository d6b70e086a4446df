"""``ropebench shard``: split a commit range into N asv hash files, one per GPU runner or GPU.

The commits are chosen exactly as ``asv run RANGE [--steps S]`` would choose them (asv's own repo
code: ``NEW``, ``ALL``, ``EXISTING``, ``HEAD``, ``TAGS``, ``HASHFILE:path`` or a git range, then
``util.pick_n``), so the union of ``asv run HASHFILE:shard-K.txt`` over K covers the same commits
as the unsharded run, and merging the result folders gives the same files.

Round-robin is the default: commit i goes to shard i mod N. rev-list lists newest first, so every
shard starts with recent history and a backfill that is stopped early leaves evenly spaced points
instead of a missing stretch; it also spreads eras with very different costs (old commits mostly
skip, new ones run every backend) evenly over the GPUs. ``--strategy contiguous`` gives each shard
one stretch of history instead, which suits a kernel build cache shared between neighbours.

``--asv-confs`` also writes one asv config per shard with its own results and env folders, so
several asv processes can run side by side on one multi-GPU host (one per GPU) and be merged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ropebench.asvtools.config import benchmarked_repo, conf_path, read_json
from ropebench.errors import RopeBenchError

STRATEGIES = ("round-robin", "contiguous")


def split(commits: list[str], n: int, strategy: str = "round-robin") -> list[list[str]]:
    """N lists whose union is commits (order kept within each); some may be empty."""
    if n < 1:
        raise RopeBenchError(f"--shards must be at least 1 (got {n})")
    if strategy == "round-robin":
        return [commits[k::n] for k in range(n)]
    if strategy == "contiguous":
        size, extra = divmod(len(commits), n)
        out, start = [], 0
        for k in range(n):
            end = start + size + (1 if k < extra else 0)
            out.append(commits[start:end])
            start = end
        return out
    raise RopeBenchError(f"unknown strategy {strategy!r} (choose {', '.join(STRATEGIES)})")


def _checked_out_branch(path: str) -> str:
    """The branch checked out in a --repo clone (asv's default, 'master', fails on a 'main' repository)."""
    import subprocess

    p = subprocess.run(["git", "-C", path, "symbolic-ref", "--quiet", "--short", "HEAD"],
                       capture_output=True, text=True)
    return p.stdout.strip() or "HEAD"


def select_commits(range_spec: str, *, conf=None, repo_path=None, results_dir=None, steps=None) -> list[str]:
    """The commits ``asv run RANGE --steps STEPS`` would benchmark (asv.commands.run's dispatch)."""
    from asv import util
    from asv.repo import NoSuchNameError
    from asv.results import get_existing_hashes

    repo = benchmarked_repo(conf, repo_path)
    branches = conf.branches if conf is not None else [_checked_out_branch(repo_path)]

    def existing():
        if results_dir is None:
            raise RopeBenchError(f"{range_spec} needs the results folder (--results or an asv config)")
        return get_existing_hashes(str(results_dir)) if Path(results_dir).is_dir() else []

    try:
        if range_spec == "NEW":
            commits = repo.get_new_branch_commits(branches, existing())
        elif range_spec == "ALL":
            commits = repo.get_new_branch_commits(branches, [])
        elif range_spec == "EXISTING":
            commits = existing()
        elif range_spec == "HEAD":
            commits = [repo.get_hash_from_name("HEAD")]
        elif range_spec == "TAGS":
            commits = [repo.get_hash_from_name(t) for t in reversed(list(repo.get_tags()))]
        elif range_spec.startswith("HASHFILE:"):
            path = range_spec[len("HASHFILE:"):]
            try:
                text = sys.stdin.read() if path == "-" else Path(path).read_text()
            except OSError as exc:
                raise RopeBenchError(f"cannot read hash file {path}: {exc.strerror}") from None
            commits = []
            for line in text.split():
                try:
                    commits.append(repo.get_hash_from_name(line))
                except NoSuchNameError:
                    print(f"ropebench: warning: unknown commit {line} in {path}; left out", file=sys.stderr)
        else:
            commits = repo.get_hashes_from_range(range_spec)
    except NoSuchNameError as exc:
        raise RopeBenchError(f"unknown branch or commit {exc} in the benchmarked repository") from None
    except (util.ProcessError, util.UserError) as exc:
        raise RopeBenchError(f"git could not list {range_spec!r}: {str(exc).splitlines()[0]}") from None
    # Same de-duplication-free order as asv; only drop exact repeats (HASHFILE may repeat a line).
    commits = list(dict.fromkeys(commits))
    if steps is not None:
        if steps < 1:
            raise RopeBenchError(f"--steps must be at least 1 (got {steps})")
        commits = util.pick_n(commits, steps)
    return commits


def shard_conf(conf, k: int) -> dict:
    """The asv config for shard k, to be written anywhere: its own results and env folders, the
    other paths made absolute (asv resolves them against the config's folder), and the benchmarked
    repo pointed at asv's existing mirror so the shards share one clone instead of cloning again.
    A plugin named ".module" must be importable (installed, or on PYTHONPATH)."""
    from asv.plugins.git import Git

    d = read_json(conf.conf_dir / conf.source_name)
    for key, default in (("results_dir", "results"), ("env_dir", "env"), ("html_dir", "html")):
        d[key] = str(conf_path(conf, f"{str(d.get(key, default)).rstrip('/')}-shard-{k}"))
    d["benchmark_dir"] = str(conf_path(conf, d.get("benchmark_dir", "benchmarks")))
    for candidate in (conf_path(conf, conf.repo), conf_path(conf, conf.project)):
        if Git.is_local_repo(str(candidate)):
            d["repo"] = str(candidate.resolve())
            break
    d.pop("version", None)
    d["version"] = 1
    return d


def write_shards(shards: list[list[str]], out: Path, conf=None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, commits in enumerate(shards):
        if not commits:
            continue  # an empty hash file would make asv run exit 1 ("No commit hashes selected")
        path = out / f"shard-{k}.txt"
        path.write_text("".join(c + "\n" for c in commits))
        entry = {"index": k, "hashfile": str(path), "commits": len(commits)}
        if conf is not None:
            cpath = out / f"shard-{k}.asv.conf.json"
            d = shard_conf(conf, k)
            cpath.write_text(json.dumps(d, indent=2) + "\n")
            entry.update(conf=str(cpath), results_dir=d["results_dir"])
        written.append(entry)
    return written
