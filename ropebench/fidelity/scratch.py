"""The detection test's throwaway git repository (base, slow kernel, unrelated change) and the
checked subprocess calls that build it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ropebench.errors import RopeBenchError

_IDENTITY = dict(GIT_AUTHOR_NAME="ropebench", GIT_AUTHOR_EMAIL="ropebench@localhost",
                 GIT_COMMITTER_NAME="ropebench", GIT_COMMITTER_EMAIL="ropebench@localhost")


def git(repo: Path, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=dict(os.environ, **_IDENTITY)).stdout.strip()


def checked(cmd, what: str, **kwargs) -> str:
    """stdout of a command; its last stderr line as a RopeBenchError when it fails."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if p.returncode:
        last = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        raise RopeBenchError(f"{what} failed: {last}")
    return p.stdout


@dataclass
class ScratchRepo:
    path: Path
    base: str  # the tree as given
    slow: str  # base with the slow kernel (branch "slow")
    same: str  # base plus an unrelated change, same kernel (branch "main")


def scratch_repo(tree: Path, dest: Path, kernel_rel: Path, slow_text: str) -> ScratchRepo:
    """A three-commit repository from a copy of ``tree`` (its .git left out)."""
    shutil.copytree(tree, dest, ignore=shutil.ignore_patterns(".git"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "base")
    base = git(dest, "rev-parse", "HEAD")
    (dest / "NOTES.txt").write_text("an unrelated change\n")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "unrelated")
    same = git(dest, "rev-parse", "HEAD")
    git(dest, "checkout", "-q", "-b", "slow", base)
    (dest / kernel_rel).write_text(slow_text)
    git(dest, "commit", "-qam", "slow")
    slow = git(dest, "rev-parse", "HEAD")
    git(dest, "checkout", "-q", "main")
    return ScratchRepo(dest, base, slow, same)
