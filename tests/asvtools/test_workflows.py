"""The workflows' hardening rules, checked on the files, and the results-restore script run for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ropebench.asvtools import results_branch as rb

from .conftest import REPO
from .test_results_branch import _results

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path):
    d = yaml.safe_load(path.read_text())
    d["on"] = d.pop(True, d.get("on"))  # YAML 1.1 reads the key `on` as True
    return d


def test_the_three_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "history.yml", "regression.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening(path):
    text = path.read_text()
    wf = _load(path)
    assert "pull_request_target" not in wf["on"]
    assert wf.get("permissions") == {}, "least privilege: nothing at workflow level"
    for name, job in wf["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{name}: timeout-minutes"
        assert "permissions" in job, f"{name}: job-level permissions"
        perms = job["permissions"]
        if name != "publish":
            assert "pages" not in perms and "id-token" not in perms, name
        if "self-hosted" in job.get("runs-on", []):
            assert perms == {"contents": "read"}, f"{name}: the GPU job only reads"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and not uses.startswith("./"):
                assert PINNED.match(uses), f"{name}: {uses} is not pinned to a full commit SHA"
                assert re.search(re.escape(uses) + r" # v\d", text), f"{uses}: version comment"
            if uses and uses.startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, name
            assert "${{" not in str(step.get("run", "")), f"{name}: expression inside a script"


def test_history_never_cancels_and_only_publish_deploys():
    wf = _load(REPO / ".github" / "workflows" / "history.yml")
    assert wf["concurrency"]["cancel-in-progress"] is False
    assert set(wf["on"]) == {"schedule", "workflow_dispatch"}
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) == {"range", "steps", "shards", "gpus_per_runner"}
    assert wf["jobs"]["publish"]["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert wf["jobs"]["push"]["permissions"] == {"contents": "write"}
    assert "fromJSON(needs.plan.outputs.matrix)" in str(wf["jobs"]["bench"]["strategy"])


UNTRUSTED_EVENTS = {"pull_request", "pull_request_target", "issue_comment", "workflow_run"}


def _events(wf) -> set[str]:
    on = wf["on"]
    return {on} if isinstance(on, str) else set(on)


def _gpu_jobs_reachable_from(events: set[str]) -> list[str]:
    """Every self-hosted job that one of ``events`` can start, directly or through a reusable
    workflow (``uses: ./.github/workflows/x.yml``)."""
    by_name = {p.name: _load(p) for p in WORKFLOWS}
    todo = [n for n, wf in by_name.items() if _events(wf) & events]
    seen, found = set(), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for job_name, job in by_name[name]["jobs"].items():
            runs_on = job.get("runs-on", [])
            if "self-hosted" in (runs_on if isinstance(runs_on, list) else [runs_on]):
                found.append(f"{name}:{job_name}")
            uses = job.get("uses", "")
            if uses.startswith("./.github/workflows/"):
                todo.append(Path(uses).name)
    return found


def test_no_gpu_job_is_reachable_from_a_pull_request_or_comment_event():
    """Bug caught: a `pull_request: [labeled]` (or any PR, comment or workflow_run) trigger on a
    workflow with a self-hosted job, whose only guard is an `if:` a fork's PR can edit."""
    assert _gpu_jobs_reachable_from(UNTRUSTED_EVENTS) == []
    # The check itself sees a GPU job when one is reachable.
    assert _gpu_jobs_reachable_from({"workflow_dispatch"}), "the regression check is dispatchable"


def test_regression_is_dispatch_only_and_never_cancelled():
    wf = _load(REPO / ".github" / "workflows" / "regression.yml")
    assert set(wf["on"]) == {"workflow_dispatch"}
    assert wf["concurrency"]["cancel-in-progress"] is False
    group = wf["concurrency"]["group"]
    assert all(f"inputs.{k}" in group for k in ("base", "head", "factor")), group


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@pytest.mark.skipif(not shutil.which("actionlint") or not shutil.which("zizmor"), reason="linters not installed")
def test_actionlint_and_zizmor_are_clean():
    proc = _run(["actionlint"], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _run(["zizmor", "--offline", ".github/"], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_restore_script_round_trip(tmp_path):
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    script = REPO / ".github" / "scripts" / "restore-results.sh"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RESULTS_REMOTE": str(bare)}
    dest = tmp_path / "work" / ".asv" / "results"
    dest.mkdir(parents=True)
    (dest / "stale.json").write_text("{}")
    proc = _run(["bash", str(script), str(dest), "results"], env=env)
    assert proc.returncode == 0 and "no results branch yet" in proc.stdout, proc.stderr
    assert list(dest.iterdir()) == []  # emptied: no stale local results mix in

    src = _results(tmp_path / "src", {"a" * 40: {"b.time_x": [1.0]}})
    rb.push_results(src, str(bare))
    proc = _run(["bash", str(script), str(dest), "results"], env=env)
    assert proc.returncode == 0, proc.stderr
    got = {str(p.relative_to(dest)): json.loads(p.read_text()) for p in dest.rglob("*.json")}
    want = {str(p.relative_to(src)): json.loads(p.read_text()) for p in src.rglob("*.json")}
    assert got == want

    proc = _run(["bash", str(script), str(dest)], env=dict(env, RESULTS_REMOTE=str(tmp_path / "nothing")))
    assert proc.returncode == 1 and "::error::cannot reach the results remote" in proc.stdout


def _step(job: str, name: str) -> str:
    wf = _load(REPO / ".github" / "workflows" / "history.yml")
    return next(s["run"] for s in wf["jobs"][job]["steps"] if s.get("name") == name)


@pytest.mark.slow
@pytest.mark.parametrize("shards, gpus", [("1", "1"), ("1", "2"), ("2", "1")],
                         ids=["unsharded", "one-runner-two-gpus", "shard-0-of-2"])
def test_history_bench_scripts(tmp_path, cli, shards, gpus):
    """history.yml's bench scripts, run as written with real asv and ropebench on the toy project
    (CUDA_VISIBLE_DEVICES is moot on a CPU). The restored result must not be re-uploaded; every
    commit the shard ran must be."""
    from . import toyasv

    proj, hashes = toyasv.make_project(tmp_path, [dict(toyasv.BASE, value=float(i)) for i in range(5)])
    conf = toyasv.make_suite(tmp_path, proj)
    root = conf.parent
    home = tmp_path / "home"
    toyasv.write_machine_file(home)
    # "Restored" results: the oldest commit, measured earlier.
    toyasv.asv(conf, "run", f"{hashes[0]}^!", "--machine", toyasv.MACHINE, home=home)
    (root / ".asv" / "restored.stamp").touch()
    ran = hashes[1:]
    if shards == "2":  # what the plan job hands over
        assert cli("shard", "ALL", "--shards", "2", "--out", root / "shards", cwd=root).returncode == 0
        ran = [h for h in hashes[::-1][0::2] if h != hashes[0]]
    # This interpreter's bin first: its asv and ropebench are the ones the script calls.
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(home),
           "PYTHONPATH": str(root), "RANGE": "ALL", "STEPS": "", "SHARDS": shards, "GPUS": gpus, "SHARD": "0",
           "RUNNER_MACHINE": toyasv.MACHINE}
    script = tmp_path / "bench.sh"
    script.write_text(_step("bench", "asv run"))
    proc = _run(["bash", "-eo", "pipefail", str(script)], cwd=root, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "asv exited 0" in proc.stdout
    if gpus == "2":
        shard_files = sorted(p.name for p in (root / ".asv" / "gpu").glob("shard-*.txt"))
        assert shard_files == ["shard-0.txt", "shard-1.txt"]

    collect = tmp_path / "collect.sh"
    collect.write_text(_step("bench", "collect new result files"))
    proc = _run(["bash", "-eo", "pipefail", str(collect)], cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr
    new = {str(p.relative_to(root / "new-results")) for p in (root / "new-results").rglob("*-*.json")}
    assert new == {f"{toyasv.MACHINE}/{h[:8]}-{toyasv.ENV_NAME}.json" for h in ran}
