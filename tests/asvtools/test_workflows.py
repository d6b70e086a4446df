"""The workflows' hardening rules, checked on the files, and the results-restore script run for real."""

from __future__ import annotations

import json
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


def test_the_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "history.yml", "history-chunk.yml", "regression.yml"}


def _self_hosted(job) -> bool:
    runs_on = job.get("runs-on", [])
    return "self-hosted" in (runs_on if isinstance(runs_on, list) else [runs_on])


def _local_workflow(uses: str) -> str | None:
    """The file name of a reusable workflow of this repository (`./.github/...` or `$/.github/...`)."""
    for prefix in ("./.github/workflows/", "$/.github/workflows/"):
        if uses.startswith(prefix):
            return Path(uses).name
    return None


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening(path):
    text = path.read_text()
    wf = _load(path)
    assert "pull_request_target" not in wf["on"]
    assert wf.get("permissions") == {}, "least privilege: nothing at workflow level"
    for name, job in wf["jobs"].items():
        if "uses" not in job:  # a job that calls a reusable workflow cannot set a timeout
            assert isinstance(job.get("timeout-minutes"), int), f"{name}: timeout-minutes"
        assert "permissions" in job, f"{name}: job-level permissions"
        perms = job["permissions"]
        if name != "deploy":
            assert "pages" not in perms and "id-token" not in perms, name
        if _self_hosted(job):
            assert set(perms.items()) <= {("contents", "read")}, f"{name}: the GPU job only reads"
            image = job["container"]["image"]
            assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", image), f"{name}: image not pinned by digest"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and not uses.startswith("./"):
                assert PINNED.match(uses), f"{name}: {uses} is not pinned to a full commit SHA"
                assert re.search(re.escape(uses) + r" # v\d", text), f"{uses}: version comment"
            if uses and uses.startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, name
            assert "${{" not in str(step.get("run", "")), f"{name}: expression inside a script"


def _all_jobs():
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            yield path.name, name, job


def test_only_the_deploy_job_holds_the_pages_token_and_it_runs_only_deploy_pages():
    holders = [(f, n, job) for f, n, job in _all_jobs()
               if {"pages", "id-token"} & set(job.get("permissions") or {})]
    assert [(f, n) for f, n, _ in holders] == [("history.yml", "deploy")]
    job = holders[0][2]
    assert job["permissions"] == {"pages": "write", "id-token": "write"}
    assert [s.get("uses", "").split("@")[0] for s in job["steps"]] == ["actions/deploy-pages"]
    assert all(set(s) <= {"id", "name", "uses", "with", "if"} for s in job["steps"]), "no run step"


def test_history_runs_the_plan_in_chunks_one_at_a_time_and_queues():
    wf = _load(REPO / ".github" / "workflows" / "history.yml")
    assert wf["concurrency"] == {"group": "history", "cancel-in-progress": False, "queue": "max"}
    assert set(wf["on"]) == {"schedule", "workflow_dispatch"}
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) == {"range", "chunk_size", "gpus_per_runner"}
    jobs = wf["jobs"]
    assert "ropebench plan" in jobs["plan"]["steps"][-2]["run"]
    assert "ropebench chunks" in str(jobs["chunks"]["steps"])
    chunk = jobs["chunk"]
    assert _local_workflow(chunk["uses"]) == "history-chunk.yml"
    assert chunk["strategy"]["max-parallel"] == 1 and chunk["strategy"]["fail-fast"] is False
    assert "fromJSON(needs.chunks.outputs.matrix)" in str(chunk["strategy"]["matrix"])
    assert chunk["if"] == "needs.chunks.outputs.chunks != '0'"  # nothing new: no GPU job, a green run
    inner = _load(REPO / ".github" / "workflows" / "history-chunk.yml")
    assert set(inner["on"]) == {"workflow_call"}
    bench, push = inner["jobs"]["bench"], inner["jobs"]["push"]
    assert _self_hosted(bench) and not _self_hosted(push)
    assert push["needs"] == "bench" and push["permissions"] == {"contents": "write"}
    assert "--gpus" in bench["container"]["options"]
    # The GPU job never writes the shared mirror; only the nightly of main writes the kernel cache.
    vols = bench["container"]["volumes"]
    assert "/srv/ropebench/vllm.git:/vllm-mirror:ro" in vols
    assert "github.event_name == 'schedule' && github.ref == 'refs/heads/main'" in vols[1]
    assert jobs["mirror"]["if"] == "github.event_name == 'schedule' && github.ref == 'refs/heads/main'"
    assert not any("actions/checkout" in s.get("uses", "") for s in jobs["mirror"]["steps"])


def test_raw_result_artifacts_are_kept_at_least_30_days():
    uploads = [s for _, _, job in _all_jobs() for s in job.get("steps", [])
               if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and all(s["with"]["retention-days"] >= 30 for s in uploads)


def test_dependabot_keeps_the_action_pins_current_with_a_cooldown():
    d = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    (entry,) = d["updates"]
    assert entry["package-ecosystem"] == "github-actions" and entry["cooldown"]["default-days"] >= 3


def test_runner_constraints_pin_every_runner_dependency():
    from importlib.metadata import version

    pins = dict(line.split("==") for line in (REPO / "constraints" / "runner.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    assert set(pins) >= {"asv", "asv_runner", "virtualenv", "nvidia-ml-py", "flashinfer-python"}
    assert pins["asv"] == version("asv") and pins["asv_runner"] == version("asv_runner")


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
            if _self_hosted(job):
                found.append(f"{name}:{job_name}")
            called = _local_workflow(job.get("uses", ""))
            if called:
                todo.append(called)
    return found


def test_no_gpu_job_is_reachable_from_a_pull_request_or_comment_event():
    """Bug caught: a `pull_request: [labeled]` (or any PR, comment or workflow_run) trigger on a
    workflow with a self-hosted job, whose only guard is an `if:` a fork's PR can edit."""
    assert _gpu_jobs_reachable_from(UNTRUSTED_EVENTS) == []
    # The check itself sees a GPU job when one is reachable, also through a reusable workflow.
    assert "history-chunk.yml:bench" in _gpu_jobs_reachable_from({"schedule"})
    assert _gpu_jobs_reachable_from({"workflow_dispatch"}), "the regression check is dispatchable"
    # The only way in from outside the schedule and dispatch: push to main, or a call from those.
    for path in WORKFLOWS:
        wf = _load(path)
        if any(_self_hosted(job) for job in wf["jobs"].values()):
            assert _events(wf) <= {"schedule", "workflow_dispatch", "workflow_call"}, path.name


def test_regression_is_dispatch_only_and_never_cancelled():
    wf = _load(REPO / ".github" / "workflows" / "regression.yml")
    assert set(wf["on"]) == {"workflow_dispatch"}
    assert wf["concurrency"]["cancel-in-progress"] is False
    group = wf["concurrency"]["group"]
    assert all(f"inputs.{k}" in group for k in ("base", "head", "factor")), group
    assert "pr" in wf["on"]["workflow_dispatch"]["inputs"]
    comment = wf["jobs"]["comment"]
    assert not _self_hosted(comment) and comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "upsert-comment.sh" in comment["steps"][-1]["run"]
    # Untrusted vLLM code (head): never the shared kernel cache.
    assert wf["jobs"]["compare"]["env"]["TRUSTED"] == "false"


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def _tool(name):
    """A linter beside this interpreter (`make test` runs .venv/bin/python without .venv/bin on PATH), else on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.is_file() else shutil.which(name)


@pytest.mark.skipif(not _tool("actionlint") or not _tool("zizmor"), reason="linters not installed")
def test_actionlint_and_zizmor_are_clean():
    proc = _run([_tool("actionlint")], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for persona in ("regular", "auditor"):
        proc = _run([_tool("zizmor"), "--offline", f"--persona={persona}", ".github/"], cwd=REPO)
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
