"""`ropebench push-results` against a local bare repository, with writers racing us."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from ropebench.asvtools import results_branch as rb
from ropebench.errors import RopeBenchError

from .test_shard_merge import _result, _tree
from .toyasv import ENV_NAME, MACHINE


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def bare(tmp_path):
    path = tmp_path / "remote.git"
    _git("init", "-q", "--bare", "-b", "main", str(path))
    return path


def _results(root: Path, commits: dict, bench_names=("b.time_x",)) -> Path:
    """A results folder with one file per commit; commits = {hash: {bench: value}}."""
    files = {f"{MACHINE}/{c[:8]}-{ENV_NAME}.json": _result(c, {n: ([], v, 100) for n, v in rows.items()})
             for c, rows in commits.items()}
    files["benchmarks.json"] = {n: {"name": n, "unit": "seconds", "version": "1"} for n in bench_names}
    files["benchmarks.json"]["version"] = 2
    return _tree(root, files)


def _branch_files(bare: Path, branch="results") -> dict:
    """{path: parsed json} of the branch tip."""
    names = _git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", branch).split()
    return {n: json.loads(_git("--git-dir", str(bare), "show", f"{branch}:{n}")) for n in names}


def _values(files: dict) -> dict:
    out = {}
    for d in files.values():
        if "results" in d:
            for name, row in d["results"].items():
                out[(d["commit_hash"][:8], name)] = row[0]
    return out


def test_first_push_creates_the_branch_and_a_second_is_a_no_op(tmp_path, bare, cli):
    res = _results(tmp_path / "r", {"a" * 40: {"b.time_x": [1.0]}})
    proc = cli("push-results", res, "--remote", bare, "--branch", "results")
    assert proc.returncode == 0, proc.stderr
    files = _branch_files(bare)
    assert set(files) == {"results/benchmarks.json", f"results/{MACHINE}/machine.json",
                          f"results/{MACHINE}/aaaaaaaa-{ENV_NAME}.json"}
    assert "(new branch)" in _git("--git-dir", str(bare), "log", "-1", "--format=%s", "results")
    proc = cli("push-results", res, "--remote", bare, "--branch", "results")
    assert proc.returncode == 0 and "nothing new" in proc.stderr
    assert _git("--git-dir", str(bare), "rev-list", "--count", "results").strip() == "1"


def test_writer_between_our_fetch_and_push_loses_nothing(tmp_path, bare):
    """Another writer pushes after we committed: our push is rejected, we replay and push again."""
    rb.push_results(_results(tmp_path / "seed", {"1" * 40: {"b.time_x": [1.0]}}), str(bare))
    ours = _results(tmp_path / "ours", {"2" * 40: {"b.time_x": [2.0]},
                                        "9" * 40: {"b.time_x": [9.0]}})
    # The intruder adds a commit of its own and the other half of a file we also write.
    theirs = _results(tmp_path / "theirs", {"3" * 40: {"b.time_x": [3.0]},
                                            "9" * 40: {"b.time_y": [9.5]}}, bench_names=("b.time_y",))
    calls = []

    def intrude(attempt):
        calls.append(attempt)
        if attempt == 0:
            rb.push_results(theirs, str(bare))

    out = rb.push_results(ours, str(bare), before_push=intrude, pause=0.01)
    assert out["pushed"] and out["attempts"] == 2 and calls == [0, 1]
    files = _branch_files(bare)
    assert _values(files) == {
        ("11111111", "b.time_x"): [1.0], ("22222222", "b.time_x"): [2.0], ("33333333", "b.time_x"): [3.0],
        ("99999999", "b.time_x"): [9.0], ("99999999", "b.time_y"): [9.5],
    }
    assert set(files["results/benchmarks.json"]) == {"b.time_x", "b.time_y", "version"}
    # History is linear: seed, theirs, ours.
    assert _git("--git-dir", str(bare), "rev-list", "--count", "results").strip() == "3"


def test_many_concurrent_writers_lose_nothing(tmp_path, bare):
    """Six threads push at once, each a commit of its own plus a row of one shared commit's file."""
    n = 6
    dirs = [_results(tmp_path / f"w{i}", {f"{i}" * 40: {"b.time_x": [float(i)]},
                                          "f" * 40: {f"b.time_{i}": [float(i)]}}) for i in range(n)]
    errors, outs = [], []
    # All commit on the same tip, then push together: n-1 of them must be rejected and replay.
    barrier = threading.Barrier(n, timeout=120)

    def together(attempt):
        if attempt == 0:
            barrier.wait()

    def writer(d):
        try:
            outs.append(rb.push_results(d, str(bare), retries=20, pause=0.05, before_push=together))
        except Exception as exc:  # noqa: BLE001 - collected and shown below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(d,)) for d in dirs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert all(o["pushed"] for o in outs) and len(outs) == n
    assert sum(o["attempts"] > 1 for o in outs) >= n - 1  # they did collide
    values = _values(_branch_files(bare))
    for i in range(n):
        assert values[(f"{i}" * 8, "b.time_x")] == [float(i)]
        assert values[("f" * 8, f"b.time_{i}")] == [float(i)]


def test_remote_name_and_errors(tmp_path, bare, cli):
    repo = tmp_path / "checkout"
    _git("init", "-q", str(repo))
    _git("remote", "add", "origin", str(bare), cwd=repo)
    res = _results(tmp_path / "r", {"a" * 40: {"b.time_x": [1.0]}})
    proc = cli("push-results", res, "--remote", "origin", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "results/" + MACHINE + "/machine.json" in _branch_files(bare)

    proc = cli("push-results", tmp_path / "nope", "--remote", bare)
    assert proc.returncode == 2 and proc.stderr.strip().endswith("does not exist")
    proc = cli("push-results", res, "--remote", "nosuchremote", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("ropebench: error: 'nosuchremote' is neither a URL, a path nor a remote "
                                   "of this repository")
    proc = cli("push-results", res, "--remote", tmp_path / "not-a-repo-dir")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_retries_exhausted_is_an_error(tmp_path, bare):
    rb.push_results(_results(tmp_path / "seed", {"1" * 40: {"b.time_x": [1.0]}}), str(bare))
    counter = iter(range(100))

    def always_intrude(attempt):
        i = next(counter)
        rb.push_results(_results(tmp_path / f"x{i}", {f"{i + 2:x}" * 40: {"b.time_x": [1.0]}}), str(bare))

    with pytest.raises(RopeBenchError, match="rejected 3 times"):
        rb.push_results(_results(tmp_path / "ours", {"e" * 40: {"b.time_x": [2.0]}}), str(bare), retries=2,
                        before_push=always_intrude, pause=0.01)
