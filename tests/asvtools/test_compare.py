"""`ropebench compare` on results that real asv runs wrote (the toy project in toyasv.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from ropebench.asvtools import compare as cmpmod

from .toyasv import ENV_NAME, MACHINE

pytestmark = pytest.mark.slow

FACTOR = "1.5"  # the toy's changes are 2-3x; 1.5 keeps a loaded CI machine's jitter "unchanged"


def statuses(cmp):
    return {(r.benchmark, r.params): r.status for r in cmp.rows}


def test_identical_commits_pass(toy_results, cli):
    results, h = toy_results
    proc = cli("compare", h["base"], h["same"], "--results", results, "--factor", FACTOR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "**OK**: 0 regressed, 0 failed, 0 improved, 6 unchanged" in proc.stdout
    assert "<details><summary>Unchanged (6)</summary>" in proc.stdout


def test_regression_exits_1_with_rows_ratios_and_units(toy_results, cli, tmp_path):
    results, h = toy_results
    md = tmp_path / "out" / "comparison.md"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    proc = cli("compare", h["base"][:8], h["slow"], "--results", results, "--factor", FACTOR,
               "--markdown", md, "--summary", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = md.read_text()
    assert text == proc.stdout
    assert summary.read_text() == "earlier step\n" + text + "\n"  # appended, not replaced
    assert "### Regressed (4)" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| `toy.")]
    by_name = {}
    for ln in rows:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        by_name[(cells[0].strip("`"), cells[1])] = cells
    work = by_name[("toy.Timing.time_work", "")]
    assert work[5] == ""  # significant, not "~"
    assert work[2].endswith("ms") and work[3].endswith("ms")  # seconds shown as ms
    assert 2.5 < float(work[4]) < 3.5
    assert by_name[("toy.Scaled.time_scaled", "n=1")][4] != "n/a"
    assert by_name[("toy.track_value", "")][2:5] == ["10 widgets", "20 widgets", "2.00"]
    # Regressed rows lead, worst first.
    regressed = text.split("### Regressed (4)")[1].split("<details>")[0]
    assert regressed.index("time_work") < regressed.index("toy.track_value")  # ~3x before 2x


def test_improvement_and_skips_exit_0(toy_results):
    results, h = toy_results
    cmp = cmpmod.compare(results, h["base"], h["fast"], factor=1.5)
    st = statuses(cmp)
    assert st[("toy.Timing.time_work", "")] == "improved"
    assert st[("toy.Scaled.time_scaled", "n=1")] == "improved"
    assert st[("toy.Scaled.time_scaled", "n=2")] == "improved"
    assert st[("toy.track_value", "")] == "improved"  # factor alone: track_ has no stats
    assert st[("toy.Flaky.time_maybe_skipped", "")] == "skipped"
    assert cmp.exit_code == 0


def test_failure_exits_1(toy_results, cli):
    results, h = toy_results
    proc = cli("compare", h["base"], h["broken"], "--results", results, "--factor", FACTOR)
    assert proc.returncode == 1
    assert "### Failed (1)" in proc.stdout
    assert "| `toy.Flaky.time_maybe_broken` |  | " in proc.stdout and "| failed | n/a | newly failing |" in proc.stdout


def test_fixed_failure_counts_as_improved(toy_results):
    results, h = toy_results
    cmp = cmpmod.compare(results, h["broken"], h["base"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Flaky.time_maybe_broken")
    assert (row.status, row.note) == ("improved", "fixed (failed on base)")
    assert cmp.exit_code == 0


def test_significance_is_required_not_just_the_factor(toy_results):
    """A 2x ratio without significance is 'unchanged' with asv's '~' mark; same data, stats stripped."""
    results, h = toy_results
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    assert statuses(cmp)[("toy.Timing.time_work", "")] == "regressed"
    # Give base and head identical wide CIs and no samples: asv's test cannot call them different.
    for commit in (h["base"], h["slow"]):
        path = results / MACHINE / f"{commit[:8]}-{ENV_NAME}.json"
        d = json.loads(path.read_text())
        cols = d["result_columns"]
        row = d["results"]["toy.Timing.time_work"]
        row[cols.index("stats_ci_99_a")] = [0.0]
        row[cols.index("stats_ci_99_b")] = [1.0]
        del row[cols.index("samples"):]
        path.write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Timing.time_work")
    assert (row.status, row.insignificant) == ("unchanged", True)
    assert cmpmod.fmt_ratio(row).startswith("~")


def test_new_benchmark_and_not_run_on_head(toy_results):
    results, h = toy_results
    path = results / MACHINE / f"{h['same'][:8]}-{ENV_NAME}.json"
    d = json.loads(path.read_text())
    d["results"]["toy.brand_new"] = d["results"].pop("toy.track_value")
    path.write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["same"], factor=1.5)
    st = statuses(cmp)
    assert st[("toy.brand_new", "")] == "new"
    assert st[("toy.track_value", "")] == "skipped"
    assert cmp.exit_code == 0


def test_several_machines_need_machine(toy_results, cli):
    results, h = toy_results
    other = results / "otherbox"
    shutil.copytree(results / MACHINE, other)
    m = json.loads((other / "machine.json").read_text())
    m["machine"] = "otherbox"
    (other / "machine.json").write_text(json.dumps(m))
    for f in other.glob("*-*.json"):
        d = json.loads(f.read_text())
        d["params"]["machine"] = "otherbox"
        f.write_text(json.dumps(d))
    proc = cli("compare", h["base"], h["same"], "--results", results)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ropebench: error: results for several machines (otherbox, toybox): pass --machine"]
    proc = cli("compare", h["base"], h["same"], "--results", results, "--machine", "otherbox", "--factor", FACTOR)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args, message", [
    (["0000000", "1111111"], "no results for commit '0000000' on machine 'toybox'"),
    (["--machine", "nope", "0000000", "1111111"], "no results for machine 'nope'"),
    (["--env-name", "conda-py3.9", "BASE", "HEAD"], "on machine 'toybox' in env conda-py3.9"),
    (["--factor", "0.5", "BASE", "HEAD"], "--factor must be >= 1"),
])
def test_bad_input_is_one_line_exit_2(toy_results, cli, args, message):
    results, h = toy_results
    args = [h["base"] if a == "BASE" else h["slow"] if a == "HEAD" else a for a in args]
    proc = cli("compare", *args, "--results", results)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_missing_results_folder(cli, tmp_path):
    proc = cli("compare", "a", "b", "--results", tmp_path / "nothing", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ropebench: error: results folder {tmp_path / 'nothing'} does not exist"
    proc = cli("compare", "a", "b", cwd=tmp_path)
    assert proc.returncode == 2 and "no --results and no asv.conf.json here" in proc.stderr


def test_branch_names_resolve_through_the_local_repo(toy_run, cli):
    """With the asv config, names like main~2 resolve in the benchmarked repo (no clone)."""
    conf, h, _ = toy_run
    proc = cli("compare", "main~4", "main~2", "--factor", FACTOR, cwd=conf.parent)
    assert proc.returncode == 1, proc.stderr
    assert f"`{h['base'][:8]}` → `{h['slow'][:8]}`" in proc.stdout


def test_the_regression_workflow_commands(tmp_path, cli):
    """regression.yml's two steps as written: asv continuous (exit ignored), then ropebench compare."""
    from . import toyasv

    proj, hashes = toyasv.make_project(tmp_path, [toyasv.STATES["base"], toyasv.STATES["broken"]])
    conf = toyasv.make_suite(tmp_path, proj)
    home = tmp_path / "home"
    toyasv.write_machine_file(home)
    # A failing benchmark: asv continuous exits 2 and prints no table.
    proc = toyasv.asv(conf, "continuous", "--factor", "1.05", "--record-samples", "--machine", MACHINE,
                      "main~1", "main", home=home, check_codes=(2,))
    assert "Benchmarks that have" not in proc.stdout
    summary = tmp_path / "summary.md"
    proc = cli("compare", "main~1", "main", "--machine", MACHINE, "--factor", "1.05", "--markdown",
               tmp_path / "comparison" / "comparison.md", "--summary", cwd=conf.parent,
               env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1, proc.stderr
    assert "### Failed (1)" in proc.stdout and "newly failing" in proc.stdout
    assert f"`{hashes[0][:8]}` → `{hashes[1][:8]}`" in summary.read_text()
