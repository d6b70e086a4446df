"""Trees of a git repository's commits, read without a checkout.

One long-lived ``git cat-file --batch-command`` process answers every lookup of a walk: ``info``
gives a path's object id at a commit, ``contents`` a blob's bytes. Blobs are cached by object id,
so a header that stays the same over ten thousand commits is read once. Spawning a git process per
lookup would cost ~2 ms each, about a minute over vLLM's history for lookups alone.
"""

from __future__ import annotations

import subprocess

from ropebench.errors import RopeBenchError


class GitError(RopeBenchError):
    """git refused: not a repository, an unknown name, a bad range."""


def git(repo, *args: str, check: bool = True) -> str:
    """Run one git command in ``repo``; its stdout. A failure is one line (GitError)."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if check and proc.returncode:
        msg = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[0]
        raise GitError(f"git {args[0]} in {repo}: {msg}")
    return proc.stdout


class GitRepo:
    """A repository read through one ``git cat-file --batch-command`` process. Use as a context
    manager, or call close()."""

    def __init__(self, path):
        self.path = str(path)
        top = git(self.path, "rev-parse", "--git-dir", check=False).strip()
        if not top:
            raise GitError(f"not a git repository: {path}")
        self._proc = subprocess.Popen(["git", "-C", self.path, "cat-file", "--batch-command"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._out = self._proc.stdout
        self._blobs: dict[str, bytes] = {}
        self.lookups = 0  # info requests sent, for the benchmark script
        self.blob_reads = 0  # blob contents read (each blob at most once)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait()

    def _ask(self, line: str) -> bytes:
        self._proc.stdin.write(line.encode() + b"\n")
        return self._out.readline()

    def info(self, name: str) -> tuple[str, str] | None:
        """(object id, type) of ``name`` (``<commit>:<path>``, a sha, a ref), or None if missing."""
        self.lookups += 1
        head = self._ask(f"info {name}")
        if not head:
            raise GitError(f"git cat-file in {self.path} stopped")
        parts = head.split()
        if len(parts) != 3:  # "<name> missing" or "<name> ambiguous"
            return None
        return parts[0].decode(), parts[1].decode()

    def blob(self, oid: str) -> bytes:
        """A blob's bytes, read once per object id."""
        data = self._blobs.get(oid)
        if data is None:
            self.blob_reads += 1
            head = self._ask(f"contents {oid}").split()
            if len(head) != 3:
                raise GitError(f"blob {oid} missing in {self.path}")
            size = int(head[2])
            data = self._read_exactly(size)
            self._read_exactly(1)  # the newline after the contents
            self._blobs[oid] = data
        return data

    def _read_exactly(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = self._out.read(left)
            if not chunk:
                raise GitError(f"git cat-file in {self.path} stopped")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def commit(self, name: str) -> str:
        """The full sha of a commit name, or GitError."""
        found = self.info(f"{name}^{{commit}}")
        if found is None:
            raise GitError(f"unknown commit {name!r} in {self.path}")
        return found[0]

    def tree(self, commit: str) -> GitTree:
        return GitTree(self, commit)


class GitTree:
    """One commit's tree, as ropebench.kernels.source reads trees."""

    def __init__(self, repo: GitRepo, commit: str):
        self.repo = repo
        self.commit = commit
        self._ids: dict[str, str | None] = {}
        self.looked_up: set[str] = set()  # every path asked about: what the answer depends on

    def object_id(self, rel: str) -> str | None:
        """The blob id of a file at rel, or None (missing, a folder, outside the tree)."""
        if rel not in self._ids:
            self.looked_up.add(rel)
            found = None
            if not (rel.startswith("../") or rel == ".." or rel.startswith("/")):
                found = self.repo.info(f"{self.commit}:{rel}")
            self._ids[rel] = found[0] if found and found[1] == "blob" else None
        return self._ids[rel]

    def is_file(self, rel: str) -> bool:
        return self.object_id(rel) is not None

    def read_bytes(self, rel: str) -> bytes:
        oid = self.object_id(rel)
        if oid is None:
            raise FileNotFoundError(f"{self.commit[:12]}:{rel}")
        return self.repo.blob(oid)
