"""`ropebench shard` and `ropebench merge`: sharded real asv runs merge into the unsharded result set."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ropebench.asvtools import merge as mergemod
from ropebench.asvtools import shard as shardmod

from . import toyasv
from .toyasv import ENV_NAME, MACHINE

# ---------------------------------------------------------------- pure logic (fast)


def test_round_robin_and_contiguous_cover_everything_once():
    commits = [f"c{i}" for i in range(7)]
    rr = shardmod.split(commits, 3)
    assert rr == [["c0", "c3", "c6"], ["c1", "c4"], ["c2", "c5"]]
    ct = shardmod.split(commits, 3, "contiguous")
    assert ct == [["c0", "c1", "c2"], ["c3", "c4"], ["c5", "c6"]]
    for parts in (rr, ct):
        assert sorted(sum(parts, [])) == sorted(commits)
    assert shardmod.split(["a"], 3) == [["a"], [], []]


def _result(commit, rows, env=ENV_NAME, machine=MACHINE):
    """An asv result file (format 2) with rows {name: (params, values, started_at[, samples])}."""
    results = {}
    for name, spec in rows.items():
        params, values, started = spec[:3]
        samples = spec[3] if len(spec) > 3 else None
        row = [values, params, "1", started, 0.1, None, None, None, None, None, None, samples]
        while row and row[-1] is None:
            row.pop()
        results[name] = row
    return {"commit_hash": commit, "env_name": env, "date": 1, "params": {"machine": machine},
            "python": "3.11", "requirements": {}, "env_vars": {}, "result_columns": mergemod.COLUMNS,
            "results": results, "durations": {}, "version": 2}


def _tree(root: Path, files: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / MACHINE).mkdir(exist_ok=True)
    (root / MACHINE / "machine.json").write_text(json.dumps({"machine": MACHINE, "version": 1}))
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    return root


def _rows_of(path: Path) -> dict:
    d = json.loads(path.read_text())
    return {k: dict(zip(d["result_columns"], v)) for k, v in d["results"].items()}


def test_same_file_in_two_sources_keeps_every_result(tmp_path):
    name = f"{MACHINE}/aaaaaaaa-{ENV_NAME}.json"
    c = "a" * 40
    nan = float("nan")
    a = _tree(tmp_path / "a", {name: _result(c, {
        "only_a": ([], [1.0], 10),
        "grid": ([["1", "2", "3"]], [1.0, None, nan], 10, [[1.0], None, None]),
        "rerun": ([], [5.0], 10),
    })})
    b = _tree(tmp_path / "b", {name: _result(c, {
        "only_b": ([], [2.0], 20),
        "grid": ([["1", "2", "3"]], [None, 2.0, 3.0], 20, [None, [2.0], [3.0]]),
        "rerun": ([], [6.0], 20),
    })})
    counts = mergemod.merge_trees(tmp_path / "dest", [a, b])
    assert counts["added"] == 2 and counts["merged"] == 1
    rows = _rows_of(tmp_path / "dest" / name)
    assert set(rows) == {"only_a", "only_b", "grid", "rerun"}
    assert rows["grid"]["result"] == [1.0, 2.0, 3.0]  # measured beats failed beats skipped, per combination
    assert rows["grid"]["samples"] == [[1.0], [2.0], [3.0]]
    assert rows["rerun"]["result"] == [6.0]  # both measured: the later run, as asv does on a re-run
    # Merging is idempotent: merging b again changes nothing.
    before = (tmp_path / "dest" / name).read_bytes()
    mergemod.merge_trees(tmp_path / "dest", [b])
    assert (tmp_path / "dest" / name).read_bytes() == before


def test_merge_errors_are_one_line(tmp_path, cli):
    proc = cli("merge", tmp_path / "dest", tmp_path / "missing")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ropebench: error: results folder {tmp_path / 'missing'} does not exist"
    bad = _tree(tmp_path / "bad", {})
    (bad / MACHINE / "deadbeef-x.json").write_text("{not json")
    good = _tree(tmp_path / "good", {})
    (good / MACHINE / "deadbeef-x.json").write_text(json.dumps(_result("d" * 40, {}, env="x")))
    proc = cli("merge", good, bad)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"ropebench: error: corrupt asv file {bad / MACHINE / 'deadbeef-x.json'}, "
                                  "nothing done: ")
    assert not (tmp_path / "dest").exists()  # refused before anything was written


def test_shard_bad_input(cli, tmp_path):
    proc = cli("shard", "ALL", "--shards", "0", "--out", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2 and "--shards must be at least 1" in proc.stderr
    proc = cli("shard", "HEAD~3..HEAD", "--shards", "2", "--out", tmp_path, "--repo", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == f"ropebench: error: {tmp_path} is not a git repository"


# ---------------------------------------------------------------- real asv runs (slow)


def _values(path: Path) -> dict:
    """What must agree between two runs of a result file: keys, params, track values, fail/skip pattern."""
    out = {}
    for k, row in _rows_of(path).items():
        vals = row["result"] or []
        pattern = ["fail" if v is None else "skip" if isinstance(v, float) and math.isnan(v) else "ok" for v in vals]
        out[k] = (row["params"], pattern, vals if k == "toy.track_value" else None)
    return out


def _files(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*.json")}


@pytest.mark.slow
def test_sharded_runs_merge_into_the_unsharded_result_set(tmp_path, cli):
    states = [dict(toyasv.BASE, value=10.0 + i) for i in range(5)]
    states[2]["broken"] = True
    proj, hashes = toyasv.make_project(tmp_path, states)
    conf = toyasv.make_suite(tmp_path, proj)
    home = tmp_path / "home"
    toyasv.write_machine_file(home)
    suite = conf.parent

    # The reference: one unsharded run over the whole branch (exit 2: the broken commit).
    toyasv.asv(conf, "run", "ALL", "--machine", MACHINE, "--record-samples", home=home, check_codes=(2,))
    reference = suite / ".asv" / "results"

    # Plan: 2 shards with their own asv configs, as on a 2-GPU host.
    proc = cli("shard", "ALL", "--shards", "2", "--out", suite / "shards", "--asv-confs", "--github-output",
               cwd=suite, env={"GITHUB_OUTPUT": str(tmp_path / "gh_output")})
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["commits"] == 5 and [s["commits"] for s in plan["shards"]] == [3, 2]
    assert (tmp_path / "gh_output").read_text() == "matrix=[0, 1]\ncommits=5\n"
    newest_first = hashes[::-1]
    assert (suite / "shards" / "shard-0.txt").read_text().split() == newest_first[0::2]
    assert (suite / "shards" / "shard-1.txt").read_text().split() == newest_first[1::2]

    # Both shards at once, same machine name, as two GPUs of one host would run them. Each gets its
    # own HOME: every asv run rewrites ~/.asv-machine.json in place, so a shared one races (the
    # history workflow does the same). The toy's env plugin is a file beside its config, hence PYTHONPATH.
    procs = []
    for s in plan["shards"]:
        own_home = tmp_path / f"home-{s['index']}"
        toyasv.write_machine_file(own_home)
        env = dict(toyasv.os.environ, HOME=str(own_home), PYTHONPATH=str(suite))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "asv", "run", f"HASHFILE:{s['hashfile']}", "--machine", MACHINE,
             "--record-samples", "--config", s["conf"]],
            cwd=suite, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], outs  # only one shard has the broken commit

    shard_dirs = [suite / s["results_dir"] for s in plan["shards"]]
    assert all((d / MACHINE / "machine.json").is_file() for d in shard_dirs)
    proc = cli("merge", tmp_path / "merged", *shard_dirs)
    assert proc.returncode == 0, proc.stderr
    merged = tmp_path / "merged"
    assert _files(merged) == _files(reference)
    assert len(list((merged / MACHINE).glob(f"*-{ENV_NAME}.json"))) == 5
    for rel in _files(reference):
        if rel.endswith(f"{ENV_NAME}.json"):
            assert _values(merged / rel) == _values(reference / rel), rel

    # Two shards that both ran one commit, each with part of the suite: the file keeps both parts.
    c = hashes[0]
    for k, bench in ((0, "track_value"), (1, "time_work")):
        shard_conf = suite / "shards" / f"shard-{k}.asv.conf.json"
        toyasv.asv(shard_conf, "run", f"{c}^!", "--machine", MACHINE, "-b", bench, home=home, suite=suite)
    rel = f"{MACHINE}/{c[:8]}-{ENV_NAME}.json"
    both = tmp_path / "both"
    assert cli("merge", both, *shard_dirs).returncode == 0
    keys = set(_rows_of(both / rel))
    assert {"toy.track_value", "toy.Timing.time_work", "toy.Scaled.time_scaled"} <= keys

    # NEW after a partial history: only what is newer than the newest result.
    partial = tmp_path / "partial"
    mergemod.merge_trees(partial, [reference])
    for h in hashes[-2:]:
        (partial / MACHINE / f"{h[:8]}-{ENV_NAME}.json").unlink()
    proc = cli("shard", "NEW", "--shards", "3", "--out", tmp_path / "new", "--results", partial, cwd=suite)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commits"] == 2
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["shard-0.txt", "shard-1.txt"]

    # --steps picks like asv run --steps, before sharding.
    proc = cli("shard", "ALL", "--shards", "1", "--steps", "2", "--out", tmp_path / "steps", cwd=suite)
    assert (tmp_path / "steps" / "shard-0.txt").read_text().split() == [newest_first[0], newest_first[2]]


def test_a_merge_in_process_unites_every_kind_of_file(tmp_path, cli_main, monkeypatch):
    """Bugs caught (in-process, where the CLI tests' subprocess is invisible to mutmut): a benchmarks.json,
    machine.json or sidecar replaced instead of united (incoming wins per key), a result file written in
    another layout than asv's compact one, files written before their machine.json or benchmarks.json before
    the results, the counts or the summary line wrong, a source that is the destination merged into itself."""
    bench = {"version": 2, "a.time": {"name": "a.time"}}
    dest = _tree(tmp_path / "dest", {
        "benchmarks.json": bench,
        f"{MACHINE}/c1-{ENV_NAME}.json": _result("c1" * 20, {"a.time": (None, [1.0], 100)}),
        f"{MACHINE}/c1-{ENV_NAME}.sidecar": {"old": 1, "both": "dest"},
        f"{MACHINE}/same-{ENV_NAME}.json": _result("ee" * 20, {"a.time": (None, [5.0], 100)})})
    src = _tree(tmp_path / "src", {
        "benchmarks.json": {"version": 2, "b.time": {"name": "b.time"}},
        f"{MACHINE}/c1-{ENV_NAME}.json": _result("c1" * 20, {"b.time": (None, [2.0], 200)}),
        f"{MACHINE}/c1-{ENV_NAME}.sidecar": {"new": 2, "both": "src"},
        f"{MACHINE}/same-{ENV_NAME}.json": _result("ee" * 20, {"a.time": (None, [5.0], 100)}),
        f"{MACHINE}/c2-{ENV_NAME}.json": _result("c2" * 20, {"a.time": (None, [3.0], 300)})})
    (src / MACHINE / "machine.json").write_text(json.dumps({"machine": MACHINE, "version": 1, "cpu": "x"}))
    order = []
    real = mergemod.merge_file
    monkeypatch.setattr(mergemod, "merge_file", lambda d, s: order.append(s.name) or real(d, s))
    proc = cli_main("merge", dest, src, dest)
    assert proc.returncode == 0 and proc.stderr.strip() == f"merged into {dest}: 1 added, 4 merged, 1 identical"
    assert order[0] == "machine.json" and order[-1] == "benchmarks.json" and len(order) == 6
    assert set(json.loads((dest / "benchmarks.json").read_text())) == {"version", "a.time", "b.time"}
    assert json.loads((dest / MACHINE / "machine.json").read_text()) == {"machine": MACHINE, "version": 1,
                                                                         "cpu": "x"}
    sidecar = (dest / MACHINE / f"c1-{ENV_NAME}.sidecar").read_text()
    assert sidecar == json.dumps({"both": "src", "new": 2, "old": 1}, indent=1, sort_keys=True) + "\n"
    result = (dest / MACHINE / f"c1-{ENV_NAME}.json").read_text()
    assert "\n" not in result.strip() and set(_rows_of(dest / MACHINE / f"c1-{ENV_NAME}.json")) == {
        "a.time", "b.time"}
    assert json.loads(result)["version"] == 2
