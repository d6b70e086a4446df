"""``ropebench chunks``: the planned commits that still lack results, as GPU jobs of at most N.

The input is a hash file (``ropebench plan --out``'s format: one 40-hex sha a line) and the results
folder restored from the results branch. Commits that already have a result file for this machine
are dropped; the rest, in the plan's order, are cut into ``chunk-K.txt`` hash files of at most
``--size`` commits. Each chunk is one GPU job whose results are pushed before the next starts, so
an interrupted history keeps every pushed chunk and the next run plans only what is missing: a
first run on an empty results branch works through the whole plan, a run with nothing new writes
no chunk and says so (exit 0), where ``asv run`` would fail on "No commit hashes selected".

``--next`` writes only the next chunk, for a loop that pushes after each one (scripts/h200/nightly.sh).
"""

from __future__ import annotations

import re
from pathlib import Path

from ropebench.errors import RopeBenchError

HEX40 = re.compile(r"[0-9a-f]{40}")
MATRIX_LIMIT = 256  # GitHub's most jobs in one matrix; what is left waits for the next run


def read_hashfile(path) -> list[str]:
    """The shas of a hash file, in order, without repeats; one bad line is an error."""
    try:
        lines = Path(path).read_text().split()
    except OSError as exc:
        raise RopeBenchError(f"cannot read hash file {path}: {exc.strerror}") from None
    for i, line in enumerate(lines, 1):
        if not HEX40.fullmatch(line):
            raise RopeBenchError(f"{path}: entry {i} is not a full 40-hex commit sha: {line[:60]!r}")
    return list(dict.fromkeys(lines))


def measured(results_dir, machine: str) -> set[str]:
    """Full shas with a result file of this machine (read with asv's own loader)."""
    from asv.results import iter_results_for_machine

    folder = Path(results_dir) / machine
    if not (folder / "machine.json").is_file():
        return set()
    return {r.commit_hash for r in iter_results_for_machine(str(results_dir), machine)}


def plan_chunks(planned: list[str], done: set[str], size: int, max_chunks: int = MATRIX_LIMIT) -> dict:
    if size < 1:
        raise RopeBenchError(f"--size must be at least 1 (got {size})")
    if max_chunks < 1:
        raise RopeBenchError(f"--max-chunks must be at least 1 (got {max_chunks})")
    todo = [c for c in planned if c not in done]
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    return {"planned": len(planned), "measured": len(planned) - len(todo), "todo": len(todo), "size": size,
            "chunks": chunks[:max_chunks], "left_for_later": sum(map(len, chunks[max_chunks:]))}


def write_chunks(chunks: list[list[str]], out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("chunk-*.txt"):
        old.unlink()  # a stale chunk from an earlier call must not be run again
    written = []
    for k, commits in enumerate(chunks):
        path = out / f"chunk-{k}.txt"
        path.write_text("".join(c + "\n" for c in commits))
        written.append({"index": k, "hashfile": str(path), "commits": len(commits)})
    return written
