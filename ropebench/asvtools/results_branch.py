"""``ropebench push-results``: add asv results to a git branch without ever losing one.

asv keeps no results store; the durable one is a branch (astropy's ``results`` branch). Several
writers push to it: nightly shards, manual backfills, a re-run. So:

* every file is checked with asv's own loaders first: one corrupt file and nothing is pushed;
* work happens in a throw-away clone (a temp folder), never in the caller's checkout;
* the branch tip is fetched, our results folder is merged into ``<subdir>/`` on top of it with
  ``ropebench merge``'s rules (new files added, a file both sides wrote merged row by row), and the
  result is committed and pushed;
* a rejected push (someone pushed in between) is answered by fetching the new tip and replaying
  the merge on it, the way ``git pull --rebase`` replays a commit, then pushing again, up to
  ``--retries`` times with a growing random pause. asv writes one file per commit, so replays are
  almost always plain additions; where two writers touched the same file (benchmarks.json, or a
  commit that two shards both ran) the replay merges result columns instead of conflicting.

Credentials come from git's own configuration (in CI: an http.extraheader passed through
GIT_CONFIG_* environment variables), so no token is written to disk or shown on a command line.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from ropebench.asvtools.merge import check_tree, merge_trees
from ropebench.errors import RopeBenchError

REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "failed to update ref", "stale info",
            "cannot lock ref", "incorrect old value")


class _Git:
    def __init__(self, work: Path):
        self.work = work

    def __call__(self, *args, check=True) -> subprocess.CompletedProcess:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        proc = subprocess.run(["git", "-C", str(self.work), *args], capture_output=True, text=True, env=env)
        if check and proc.returncode != 0:
            raise RopeBenchError(f"git {args[0]} failed: {_last_line(proc)}")
        return proc


def _last_line(proc) -> str:
    lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit {proc.returncode}"


def _checkout_tip(git: _Git, remote: str, branch: str) -> bool:
    """Reset the work tree to the remote branch tip; False when the branch does not exist yet."""
    proc = git("fetch", "--quiet", "--depth=1", remote, f"+refs/heads/{branch}:refs/remotes/tip/{branch}",
               check=False)
    if proc.returncode == 0:
        git("checkout", "--quiet", "--force", "-B", "work", f"refs/remotes/tip/{branch}")
        git("clean", "-qfdx")
        return True
    probe = git("ls-remote", "--exit-code", "--heads", remote, branch, check=False)
    if probe.returncode == 2:  # reachable, but no such branch: start it
        git("checkout", "--quiet", "--orphan", "work")
        git("rm", "-rfq", "--ignore-unmatch", ".")
        git("clean", "-qfdx")
        return False
    raise RopeBenchError(f"cannot fetch {branch} from {remote}: {_last_line(proc)}")


def push_results(results_dir, remote: str, branch: str = "results", *, subdir: str = "results", retries: int = 5,
                 message: str | None = None, before_push=None, pause: float = 0.5) -> dict:
    """Merge results_dir into <subdir>/ of the remote branch and push; returns what happened.

    before_push(attempt) is a test hook, called after our commit and before our push.
    """
    results_dir = Path(results_dir).resolve()
    if not results_dir.is_dir():
        raise RopeBenchError(f"results folder {results_dir} does not exist")
    if retries < 0:
        raise RopeBenchError(f"--retries must be >= 0 (got {retries})")
    # Checked before any clone: a corrupt file is refused and nothing is pushed. A machine folder
    # without machine.json is checked again against the branch's folders when merged.
    check_tree(results_dir, have_machine={p.name for p in results_dir.iterdir() if p.is_dir()})
    if Path(remote).exists():
        remote = str(Path(remote).resolve())  # a local path stays valid from the temp clone
    with tempfile.TemporaryDirectory(prefix="ropebench-results-") as tmp:
        git = _Git(Path(tmp))
        git("init", "--quiet")
        git("config", "user.name", os.environ.get("GIT_AUTHOR_NAME", "ropebench"))
        git("config", "user.email", os.environ.get("GIT_AUTHOR_EMAIL", "ropebench@users.noreply.github.com"))
        git("config", "commit.gpgsign", "false")
        for attempt in range(retries + 1):
            existed = _checkout_tip(git, remote, branch)
            counts = merge_trees(Path(tmp) / subdir, [results_dir])
            git("add", "--all", "--", subdir)
            if git("diff", "--cached", "--quiet", check=False).returncode == 0:
                return {"pushed": False, "attempts": attempt + 1, **counts}
            changed = git("diff", "--cached", "--name-only").stdout.split()
            git("commit", "--quiet", "-m", message or _message(changed, existed))
            if before_push is not None:
                before_push(attempt)
            proc = git("push", "--quiet", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
            if proc.returncode == 0:
                return {"pushed": True, "attempts": attempt + 1, "files": len(changed), **counts}
            if not any(marker in proc.stdout + proc.stderr for marker in REJECTED):
                raise RopeBenchError(f"cannot push to {branch} on {remote}: {_last_line(proc)}")
            if attempt < retries:
                # Someone pushed first: wait a little (random, so racing writers spread out), replay.
                time.sleep(random.uniform(0, pause * 2 ** attempt))
        raise RopeBenchError(f"push to {branch} rejected {retries + 1} times (busy branch); "
                             "nothing was lost locally: run again")


def _message(changed: list[str], existed: bool) -> str:
    machines = sorted({Path(p).parts[1] for p in changed if len(Path(p).parts) > 2})
    n = sum(1 for p in changed if Path(p).name not in ("machine.json", "benchmarks.json"))
    head = f"results: {n} result file(s) from {', '.join(machines) or 'no machine'}"
    return head if existed else head + " (new branch)"
