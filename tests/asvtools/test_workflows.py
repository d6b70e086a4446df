"""The workflows' hardening rules, checked on the files, and the results-restore script run for real."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

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


def test_regression_runs_only_maintainer_triggers():
    wf = _load(REPO / ".github" / "workflows" / "regression.yml")
    assert wf["on"]["pull_request"] == {"types": ["labeled"]}
    cond = wf["jobs"]["compare"]["if"]
    assert "run-gpu-benchmarks" in cond and "head.repo.full_name == github.repository" in cond


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
