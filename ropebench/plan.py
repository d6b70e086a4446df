"""``ropebench plan [REPO] RANGE --out HASHFILE``: the commits of a range worth a GPU.

A commit can only measure something new when its kernel's build inputs changed. For each
first-parent commit of RANGE (asv's range syntax: ``A..B``, ``main~500..main``) this computes the
**kernel build key**: ``build-kernel``'s own ``source_hash`` of the kernel file and its quoted-include
closure, resolved by ``build-kernel``'s own code (ropebench.kernels.source) on the commit's git tree,
without a checkout. It writes asv's ``HASHFILE:`` format (one full sha a line, newest first, as
asv orders a range) with:

- ``kernel-changed``: the key differs from the first parent's (a commit without a kernel has no key,
  and is never selected for it; the first commit with a kernel after none is);
- ``newest``: the newest commit of the range (the nightly's reference point);
- ``control``: every Nth commit (``--every N``), counted from the oldest, that has a kernel.

By default REPO is asv's own clone of the benchmarked repository (from the asv config): the one
``asv run HASHFILE:`` resolves hashes in. asv 0.6.6 only warns about a hash it does not know and
skips it, so a selected commit that asv's clone lacks is an error here (exit 2), never a silent gap.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.kernels.builder import source_hash
from ropebench.kernels.gittree import GitRepo, git
from ropebench.kernels.source import KERNEL_PATHS, NoKernel, read_tree

REASONS = ("kernel-changed", "newest", "control")
# Every kernel path and include root lies under this folder: while a commit's copy of it is the same
# tree object as an earlier commit's, so is its key (unless that key's lookups left the folder).
SCOPE = "csrc"


@dataclass
class Plan:
    repo: str
    range: str
    device: str
    walked: int = 0
    no_kernel: int = 0
    keys: set = field(default_factory=set)
    selected: dict = field(default_factory=dict)  # sha -> {"key": ..., "reasons": [...]}, oldest first
    seconds: float = 0.0

    def add(self, sha: str, key: str | None, reason: str) -> None:
        entry = self.selected.setdefault(sha, {"key": key, "reasons": []})
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)

    @property
    def hashes(self) -> list[str]:
        """The hash file's lines: newest first, as asv lists a range."""
        return list(reversed(self.selected))

    def summary(self) -> dict:
        counts = {r: sum(r in e["reasons"] for e in self.selected.values()) for r in REASONS}
        return {"repo": self.repo, "range": self.range, "device": self.device, "commits_walked": self.walked,
                "commits_without_kernel": self.no_kernel, "keys_seen": len(self.keys),
                "selected_count": len(self.selected), "reasons": counts,
                "selected": [{"commit": sha, **self.selected[sha]} for sha in self.hashes],
                "seconds": round(self.seconds, 2)}


class KeyReader:
    """Kernel build keys of a repository's commits, each blob and each csrc/ tree resolved once."""

    def __init__(self, repo: GitRepo, device: str = "cuda"):
        if device not in KERNEL_PATHS:
            raise RopeBenchError(f"unknown device {device!r}; choose cuda or cpu")
        self.repo = repo
        self.device = device
        self._by_scope: dict[str, tuple[str | None, bool]] = {}  # csrc tree id -> (key, left csrc?)
        self.resolved = 0  # commits whose closure was resolved (not answered from the csrc memo)

    def key(self, commit: str) -> str | None:
        scope = self.repo.info(f"{commit}:{SCOPE}")
        if scope is None or scope[1] != "tree":
            return None  # no csrc/: no kernel in any era
        hit = self._by_scope.get(scope[0])
        if hit is not None and not hit[1]:
            return hit[0]
        self.resolved += 1
        tree = self.repo.tree(commit)
        try:
            src = read_tree(tree, self.device, where=commit[:12])
            key = source_hash(src, tree)
        except NoKernel:
            key = None
        left = any(not rel.startswith(SCOPE + "/") for rel in tree.looked_up)
        self._by_scope[scope[0]] = (key, left)
        return key


def first_parent_walk(repo_path, range_spec: str) -> list[tuple[str, str | None]]:
    """(commit, first parent or None) of the range's first-parent commits, oldest first, as asv's
    ``rev-list --first-parent RANGE`` lists them (reversed)."""
    try:
        args = shlex.split(range_spec)
    except ValueError as exc:
        raise RopeBenchError(f"cannot read range {range_spec!r}: {exc}") from None
    if not args or any(a.startswith("-") for a in args):
        raise RopeBenchError(f"bad range {range_spec!r}: give a git range such as main~500..main")
    out = git(repo_path, "rev-list", "--first-parent", "--reverse", "--parents", *args, "--")
    walk = []
    for line in out.splitlines():
        parts = line.split()
        walk.append((parts[0], parts[1] if len(parts) > 1 else None))
    return walk


class _Progress:
    """A line on stderr every few seconds: a walk over vLLM's history takes a while."""

    EVERY_S = 5.0

    def __init__(self, total: int):
        self.total = total
        self.last = time.monotonic()

    def __call__(self, done: int, changes: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.EVERY_S:
            self.last = now
            print(f"ropebench plan: {done}/{self.total} commits, {changes} kernel changes so far",
                  file=sys.stderr, flush=True)


def plan(repo_path, range_spec: str, device: str = "cuda", every: int | None = None) -> Plan:
    """Walk RANGE in repo_path and select the commits (see the module's docstring)."""
    if every is not None and every < 1:
        raise RopeBenchError(f"--every must be at least 1 (got {every})")
    started = time.monotonic()
    result = Plan(repo=str(repo_path), range=range_spec, device=device)
    with GitRepo(repo_path) as repo:
        walk = first_parent_walk(repo_path, range_spec)
        keys = KeyReader(repo, device)
        progress = _Progress(len(walk))
        prev_key = keys.key(walk[0][1]) if walk and walk[0][1] else None
        changes = 0
        for i, (sha, _parent) in enumerate(walk):
            key = keys.key(sha)
            result.walked += 1
            if key is None:
                result.no_kernel += 1
            else:
                result.keys.add(key)
                if key != prev_key:
                    result.add(sha, key, "kernel-changed")
                    changes += 1
                if every and (i + 1) % every == 0:
                    result.add(sha, key, "control")
            prev_key = key
            progress(i + 1, changes)
        if walk:
            result.add(walk[-1][0], prev_key, "newest")
    result.seconds = time.monotonic() - started
    return result


def missing_in(repo_path, shas) -> list[str]:
    """The shas that are not commits of repo_path (asv would skip them with a warning)."""
    with GitRepo(repo_path) as repo:
        return [s for s in shas if (hit := repo.info(f"{s}^{{commit}}")) is None or hit[1] != "commit"]


def write_hashfile(path, shas) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write("".join(s + "\n" for s in shas))
    os.replace(tmp, path)


# ---------------------------------------------------------------- CLI
