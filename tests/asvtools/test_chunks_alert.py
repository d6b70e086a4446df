"""`ropebench chunks` (plan minus results -> hash files) and `ropebench alert` (the issue's text)."""

from __future__ import annotations

import json

from .test_results_branch import _results
from .toyasv import MACHINE

PLAN = [f"{i:x}" * 40 for i in range(1, 8)]


def test_chunks_cut_what_is_missing_in_plan_order(tmp_path, cli):
    plan = tmp_path / "plan.txt"
    plan.write_text("\n".join(PLAN + PLAN[:1]) + "\n")  # a repeat counts once
    res = _results(tmp_path / "res", {PLAN[1]: {"b.time_x": [1.0]}, PLAN[4]: {"b.time_x": [1.0]}})
    gh = tmp_path / "gh"
    proc = cli("chunks", plan, "--results", res, "--machine", MACHINE, "--size", "2", "--out", tmp_path / "c",
               "--github-output", env={"GITHUB_OUTPUT": str(gh)})
    assert proc.returncode == 0, proc.stderr
    got = [(tmp_path / "c" / f"chunk-{k}.txt").read_text().split() for k in range(3)]
    assert got == [[PLAN[0], PLAN[2]], [PLAN[3], PLAN[5]], [PLAN[6]]]
    assert json.loads(proc.stdout)["measured"] == 2
    assert gh.read_text() == "matrix=[0, 1, 2]\nchunks=3\ntodo=5\n"
    # Another machine's results do not count as done; --next writes one chunk and clears stale ones.
    proc = cli("chunks", plan, "--results", res, "--machine", "other", "--size", "3", "--out", tmp_path / "c",
               "--next")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["chunk-0.txt"]
    assert (tmp_path / "c" / "chunk-0.txt").read_text().split() == PLAN[:3]
    # --max-chunks leaves the rest for the next run and says so.
    proc = cli("chunks", plan, "--results", tmp_path / "none", "--machine", MACHINE, "--size", "2", "--out",
               tmp_path / "m", "--max-chunks", "2")
    assert json.loads(proc.stdout)["left_for_later"] == 3 and "3 left for the next run" in proc.stderr


def test_nothing_new_is_green_and_writes_no_chunk(tmp_path, cli):
    plan = tmp_path / "plan.txt"
    plan.write_text(PLAN[0] + "\n")
    res = _results(tmp_path / "res", {PLAN[0]: {"b.time_x": [1.0]}})
    gh = tmp_path / "gh"
    proc = cli("chunks", plan, "--results", res, "--machine", MACHINE, "--size", "60", "--out", tmp_path / "c",
               "--github-output", env={"GITHUB_OUTPUT": str(gh)})
    assert proc.returncode == 0
    assert proc.stderr.strip() == f"nothing new: all 1 planned commit(s) already have results for {MACHINE}"
    assert gh.read_text() == "matrix=[]\nchunks=0\ntodo=0\n" and not list((tmp_path / "c").iterdir())


def test_chunks_bad_input_is_one_line(tmp_path, cli):
    plan = tmp_path / "plan.txt"
    plan.write_text(PLAN[0] + "\nmain\n")
    proc = cli("chunks", plan, "--results", tmp_path, "--machine", MACHINE, "--size", "2", "--out", tmp_path / "c")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ropebench: error: {plan}: entry 2 is not a full 40-hex commit sha: 'main'"
    plan.write_text(PLAN[0])
    proc = cli("chunks", plan, "--results", tmp_path, "--machine", MACHINE, "--size", "0", "--out", tmp_path / "c")
    assert proc.returncode == 2 and proc.stderr.strip() == "ropebench: error: --size must be at least 1 (got 0)"
    proc = cli("chunks", tmp_path / "nope", "--results", tmp_path, "--machine", MACHINE, "--size", "1", "--out",
               tmp_path / "c")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def _html(tmp_path, regressions):
    html = tmp_path / "html"
    html.mkdir()
    (html / "regressions.json").write_text(json.dumps({"regressions": regressions}))
    (html / "index.json").write_text(json.dumps({
        "revision_to_hash": {"3": "a" * 40, "4": "b" * 40, "7": "c" * 40},
        "benchmarks": {"rope.RoPE.time_rope": {"unit": "seconds"}}}))
    return html


def test_regression_alert_from_asv_publish(tmp_path, cli):
    # asv's own format: [name, graph, graph params, param index, last, best, [[rev1, rev2, before, after]]]
    html = _html(tmp_path, [["rope.RoPE.time_rope(128)", "graphs/x.json", {"machine": "h200"}, 0, 2.2e-6, 1.0e-6,
                             [[3, 4, 1.0e-6, 2.0e-6], [None, 7, 2.0e-6, 2.2e-6]]]])
    gh = tmp_path / "gh"
    proc = cli("alert", "regression", "--html", html, "--run-url", "RUN", "--out", tmp_path / "a",
               env={"GITHUB_OUTPUT": str(gh)})
    assert proc.returncode == 0, proc.stderr
    body = (tmp_path / "a" / "body.md").read_text()
    row = "| `rope.RoPE.time_rope(128)` | machine=h200 | aaaaaaaa..bbbbbbbb | 1.00μs | 2.00μs | 2.00x | 2.20x |"
    assert row in body
    assert "| cccccccc |" in body and "Run: RUN" in body
    assert (tmp_path / "a" / "title.txt").read_text() == "Benchmark regressions: 2 step(s) on the history site\n"
    assert (tmp_path / "a" / "label.txt").read_text() == "benchmark-regression\n"
    assert gh.read_text() == "alert=true\n"


def test_no_regression_no_alert_and_a_failed_night_names_the_health_reasons(tmp_path, cli):
    gh = tmp_path / "gh"
    proc = cli("alert", "regression", "--html", _html(tmp_path, []), "--out", tmp_path / "a",
               env={"GITHUB_OUTPUT": str(gh)})
    assert proc.returncode == 0 and gh.read_text() == "alert=false\n"
    assert (tmp_path / "a" / "title.txt").read_text() == ""
    reading = tmp_path / "health-0.json"
    reading.write_text(json.dumps({"ok": False, "problems": ["other processes on the GPU: 7"]}))
    proc = cli("alert", "failed", "--run-url", "RUN", "--health", reading, "--out", tmp_path / "f")
    body = (tmp_path / "f" / "body.md").read_text()
    assert body.startswith("The nightly history run did not finish: RUN") and "- other processes on the GPU: 7" in body
    assert (tmp_path / "f" / "label.txt").read_text() == "nightly-failed\n"
    proc = cli("alert", "regression", "--out", tmp_path / "x")
    assert proc.returncode == 2 and "needs --html" in proc.stderr
