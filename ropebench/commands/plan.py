"""``ropebench plan``: write the commits of a range whose RoPE kernel inputs changed as an asv hash file.

The library behind it: ropebench.plan.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.kernels.gittree import GitError, git
from ropebench.kernels.source import KERNEL_PATHS
from ropebench.plan import missing_in, plan, write_hashfile


def add_arguments(p) -> None:
    p.add_argument("repo", nargs="?", metavar="REPO",
                   help="a git clone of vLLM (default: asv's own clone from the asv config, the one "
                        "`asv run HASHFILE:` reads)")
    p.add_argument("range", metavar="RANGE", help="first-parent commits, as asv takes a range: A..B, main~500..main")
    p.add_argument("--out", required=True, metavar="HASHFILE", help="hash file for `asv run HASHFILE:...`")
    p.add_argument("--device", choices=sorted(KERNEL_PATHS), default="cuda",
                   help="whose kernel's build key: the CUDA kernel (default) or the CPU one")
    p.add_argument("--every", type=int, default=None, metavar="N",
                   help="also select every Nth commit (from the oldest) as a control")
    p.add_argument("--conf", default=None, help="asv config (default asv.conf.json when it exists)")
    p.add_argument("--fetch", action="store_true", help="git fetch the repository first")


def _asv_clone(conf, clone: bool):
    from ropebench.asvtools.config import local_repo

    try:
        repo = local_repo(conf, clone=clone)
    except Exception as exc:  # noqa: BLE001 - asv raises ProcessError/UserError for a failed clone
        raise RopeBenchError(f"cannot open asv's clone of {conf.repo}: {str(exc).splitlines()[0]}") from None
    return repo


def run(args) -> int:
    from ropebench.asvtools.config import load_conf

    conf = load_conf(args.conf)
    if args.repo is None:
        if conf is None:
            raise RopeBenchError("no REPO and no asv config: name the clone, or run where asv.conf.json is")
        asv_repo = _asv_clone(conf, clone=True)  # as asv run would: clone if missing
        repo_path = asv_repo._path
        if args.fetch:
            git(repo_path, "fetch", "--quiet", "origin")
    else:
        repo_path = args.repo
        if not Path(repo_path).is_dir():
            raise RopeBenchError(f"not a folder: {repo_path}")
        if args.fetch:
            git(repo_path, "fetch", "--quiet")
    try:
        result = plan(repo_path, args.range, device=args.device, every=args.every)
    except GitError as exc:
        raise RopeBenchError(str(exc)) from None
    if conf is not None:
        asv_repo = _asv_clone(conf, clone=False)
        if asv_repo is None:
            print(f"ropebench plan: warning: asv's clone of {conf.repo} is not on disk yet, so whether asv "
                  "sees the planned commits is not checked", file=sys.stderr)
        elif Path(asv_repo._path).resolve() != Path(repo_path).resolve():
            lost = missing_in(asv_repo._path, result.hashes)
            if lost:
                raise RopeBenchError(
                    f"{len(lost)} planned commit(s) are not in asv's clone {asv_repo._path} (asv would skip "
                    f"them): {', '.join(s[:12] for s in lost[:5])}; fetch it (ropebench plan --fetch) or plan "
                    "from it (no REPO)")
    try:
        write_hashfile(args.out, result.hashes)
    except OSError as exc:
        raise RopeBenchError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(json.dumps({**result.summary(), "out": str(args.out)}, indent=2))
    return 0
