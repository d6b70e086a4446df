"""The history pipeline end to end, without a GPU: scripts/h200/nightly.sh and the workflow's scripts
(.github/scripts/) driven against local bare results repositories, with a fake asv that writes real
asv result files (fakeasv.py) and, for the two-GPU case, real asv over the toy project."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ropebench.asvtools import results_branch as rb

from .conftest import REPO
from .test_results_branch import _branch_files, _git, _results
from .toyasv import MACHINE

NIGHTLY = REPO / "scripts" / "h200" / "nightly.sh"
COMMITS = [f"{i:x}" * 40 for i in range(1, 8)]  # seven planned commits, distinct 8-char prefixes


@pytest.fixture
def site(tmp_path):
    """A checkout folder, a fake asv first on PATH, the bare results repo and a hash file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "asv"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).parent / 'fakeasv.py'} \"$@\"\n")
    fake.chmod(0o755)
    (tmp_path / "home").mkdir()
    work = tmp_path / "checkout"
    work.mkdir()
    plan = tmp_path / "plan.txt"
    plan.write_text("\n".join(COMMITS) + "\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "HOME": str(tmp_path / "home"), "HASHFILE": str(plan), "RESULTS_REMOTE": str(tmp_path / "results.git"),
           "MACHINE": MACHINE, "CHUNK_SIZE": "3", "HEALTH": "off", "ASV_EXTRA": "", "GITHUB_REPOSITORY": "x/y",
           "FAKE_ASV_LOG": str(tmp_path / "measured.log")}
    return work, env, tmp_path


def _nightly(work, env, **extra):
    return subprocess.run(["bash", str(NIGHTLY)], cwd=work, env={**env, **extra}, capture_output=True, text=True,
                          timeout=300)


def _on_branch(remote) -> set[str]:
    files = _branch_files(Path(remote))
    return {d["commit_hash"] for d in files.values() if "commit_hash" in d}


def _measured(tmp_path) -> list[str]:
    log = tmp_path / "measured.log"
    return log.read_text().split() if log.exists() else []


def test_first_run_on_an_empty_results_branch_works_through_the_plan_chunk_by_chunk(site):
    work, env, tmp = site
    proc = _nightly(work, env, CHUNKS="all")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "nightly: nothing new" in proc.stdout
    remote = env["RESULTS_REMOTE"]
    assert _on_branch(remote) == set(COMMITS)
    assert _measured(tmp) == COMMITS  # each commit once, in the plan's order
    # One push per chunk of at most 3, each on the branch before the next chunk ran.
    log = _git("--git-dir", remote, "log", "--reverse", "--format=%s", "results").splitlines()
    assert log == [f"results: nightly.sh chunk {n}" for n in range(3)]
    sizes = [len([f for f in _git("--git-dir", remote, "show", "--name-only", "--format=", f"results~{k}").split()
                  if f.endswith("-fake.json")]) for k in (2, 1, 0)]
    assert sizes == [3, 3, 1]
    # Every result carries its sidecar (health reading, versions).
    names = _git("--git-dir", remote, "ls-tree", "-r", "--name-only", "results").split()
    assert sum(n.endswith(".sidecar") for n in names) == len(COMMITS)


def test_an_empty_night_ends_green_and_says_so(site):
    work, env, tmp = site
    assert _nightly(work, env, CHUNKS="all").returncode == 0
    before = _git("--git-dir", env["RESULTS_REMOTE"], "rev-parse", "results")
    proc = _nightly(work, env, CHUNKS="all")
    assert proc.returncode == 0 and "nightly: nothing new" in proc.stdout, proc.stderr
    assert _git("--git-dir", env["RESULTS_REMOTE"], "rev-parse", "results") == before
    assert _measured(tmp) == COMMITS  # nothing measured twice


def test_a_run_killed_mid_chunk_keeps_its_pushed_chunks_and_resumes(site):
    work, env, tmp = site
    # The runner dies in the middle of the second chunk (commit 5 of 7).
    proc = subprocess.Popen(["bash", str(NIGHTLY)], cwd=work, env={**env, "CHUNKS": "all",
                                                                     "FAKE_ASV_HANG_AT": COMMITS[4]},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 120
    while _measured(tmp) != COMMITS[:4] and time.time() < deadline:
        time.sleep(0.2)
    assert _measured(tmp) == COMMITS[:4], proc.poll()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    remote = env["RESULTS_REMOTE"]
    assert _on_branch(remote) == set(COMMITS[:3])  # chunk 0 was pushed; chunk 1's half is lost, only it
    first = _git("--git-dir", remote, "rev-parse", "results").strip()

    proc = _nightly(work, env, CHUNKS="all")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _on_branch(remote) == set(COMMITS)
    # The pushed chunk was neither measured again nor rewritten: history grows on top of it.
    assert _measured(tmp)[4:] == COMMITS[3:]
    assert _git("--git-dir", remote, "merge-base", "--is-ancestor", first, "results") == ""


def test_one_chunk_per_call_by_default(site):
    work, env, tmp = site
    proc = _nightly(work, env)
    assert proc.returncode == 0, proc.stderr
    assert _on_branch(env["RESULTS_REMOTE"]) == set(COMMITS[:3])


def test_a_corrupt_result_is_refused_and_nothing_is_pushed(tmp_path, cli):
    bare = tmp_path / "remote.git"
    _git("init", "-q", "--bare", str(bare))
    rb.push_results(_results(tmp_path / "seed", {"1" * 40: {"b.time_x": [1.0]}}), str(bare))
    tip = _git("--git-dir", str(bare), "rev-parse", "results")
    res = _results(tmp_path / "new", {"2" * 40: {"b.time_x": [2.0]}, "3" * 40: {"b.time_x": [3.0]}})
    bad = next(res.glob(f"{MACHINE}/33333333-*.json"))
    d = json.loads(bad.read_text())
    del d["commit_hash"]  # valid JSON, but not an asv result: only asv's own loader sees it
    bad.write_text(json.dumps(d))
    proc = cli("push-results", res, "--remote", bare)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ropebench: error: corrupt asv file {bad}, nothing done: missing key 'commit_hash'"
    assert _git("--git-dir", str(bare), "rev-parse", "results") == tip
    proc = cli("merge", tmp_path / "merged", res)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "merged").exists()


def test_a_machine_folder_without_its_machine_file_is_still_merged(tmp_path, cli):
    """The multi-GPU loss: the collect step dropped an unchanged machine.json, and merge then skipped the
    whole machine folder. Now it is merged wherever the destination has the machine file."""
    bare = tmp_path / "remote.git"
    _git("init", "-q", "--bare", str(bare))
    rb.push_results(_results(tmp_path / "seed", {"1" * 40: {"b.time_x": [1.0]}}), str(bare))
    new = _results(tmp_path / "new", {"2" * 40: {"b.time_x": [2.0]}})
    (new / MACHINE / "machine.json").unlink()
    proc = cli("push-results", new, "--remote", bare)
    assert proc.returncode == 0, proc.stderr
    assert _on_branch(bare) == {"1" * 40, "2" * 40}
    # Nowhere to take a machine file from: refused, not silently dropped.
    proc = cli("merge", tmp_path / "empty-dest", new)
    assert proc.returncode == 2 and "has results but no machine.json" in proc.stderr


@pytest.mark.slow
def test_two_gpus_on_one_runner_push_every_result_when_the_branch_holds_the_machine(tmp_path):
    """bench-chunk.sh with GPUS=2 over real asv (the toy project), then push-chunk.sh to a results branch
    that already holds this machine: every result of the chunk lands, with its sidecar."""
    from . import toyasv

    proj, hashes = toyasv.make_project(tmp_path, [dict(toyasv.BASE, value=float(i)) for i in range(5)])
    conf = toyasv.make_suite(tmp_path, proj)
    root = conf.parent
    home = tmp_path / "home"
    toyasv.write_machine_file(home)
    # The branch already holds this machine: the oldest commit, measured earlier, pushed.
    toyasv.asv(conf, "run", f"{hashes[0]}^!", "--machine", MACHINE, home=home)
    bare = tmp_path / "remote.git"
    _git("init", "-q", "--bare", str(bare))
    rb.push_results(root / ".asv" / "results", str(bare))
    chunk = tmp_path / "chunk.txt"
    chunk.write_text("\n".join(hashes[1:]) + "\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(home),
           "PYTHONPATH": str(root), "RUNNER_MACHINE": MACHINE, "GPUS": "2", "HEALTH": "off",
           "RESULTS_REMOTE": str(bare), "GITHUB_REPOSITORY": "x/y"}
    proc = subprocess.run(["bash", str(REPO / ".github" / "scripts" / "bench-chunk.sh"), str(chunk), "out"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in (root / ".asv" / "gpu").glob("shard-*.txt")) == ["shard-0.txt", "shard-1.txt"]
    proc = subprocess.run(["bash", str(REPO / ".github" / "scripts" / "push-chunk.sh"), "out", "chunk 0"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _on_branch(bare) == set(hashes)
    names = _git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", "results").split()
    assert {n for n in names if n.endswith(".sidecar")} == {
        f"results/{MACHINE}/{h[:8]}-{toyasv.ENV_NAME}.sidecar" for h in hashes[1:]}
