"""`ropebench compare` on results that real asv wrote (the toy project in toyasv.py).

The fast tests read recorded results (tests/fixtures/asv_results, made by one real asv run of the toy
suite, whose samples are fixed: no sleeps, so no flakes); the slow ones run asv itself and check that
it still writes what was recorded."""

from __future__ import annotations

import json
import shutil

import pytest

from ropebench.asvtools import compare as cmpmod

from .toyasv import MACHINE

FACTOR = "1.5"  # the toy's changes are 2-3x, its fixed spread +-3%


def statuses(cmp):
    return {(r.benchmark, r.params): r.status for r in cmp.rows}


def test_identical_commits_pass(recorded_results, cli):
    results, h = recorded_results
    proc = cli("compare", h["base"], h["same"], "--results", results, "--factor", FACTOR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "**OK**: 0 regressed, 0 failed, 0 improved, 6 unchanged" in proc.stdout
    assert "<details><summary>Unchanged (6)</summary>" in proc.stdout


def test_regression_exits_1_with_rows_ratios_and_units(recorded_results, cli, tmp_path):
    results, h = recorded_results
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


def test_improvement_and_skips_exit_0(recorded_results):
    results, h = recorded_results
    cmp = cmpmod.compare(results, h["base"], h["fast"], factor=1.5)
    st = statuses(cmp)
    assert st[("toy.Timing.time_work", "")] == "improved"
    assert st[("toy.Scaled.time_scaled", "n=1")] == "improved"
    assert st[("toy.Scaled.time_scaled", "n=2")] == "improved"
    assert st[("toy.track_value", "")] == "improved"  # factor alone: track_ has no stats
    assert st[("toy.Flaky.time_maybe_skipped", "")] == "skipped"
    assert cmp.exit_code == 0


def test_failure_exits_1(recorded_results, cli):
    results, h = recorded_results
    proc = cli("compare", h["base"], h["broken"], "--results", results, "--factor", FACTOR)
    assert proc.returncode == 1
    assert "### Failed (1)" in proc.stdout
    assert "| `toy.Flaky.time_maybe_broken` |  | " in proc.stdout and "| failed | n/a | newly failing |" in proc.stdout


def test_fixed_failure_counts_as_improved(recorded_results):
    results, h = recorded_results
    cmp = cmpmod.compare(results, h["broken"], h["base"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Flaky.time_maybe_broken")
    assert (row.status, row.note) == ("improved", "fixed (failed on base)")
    assert cmp.exit_code == 0


def test_significance_is_required_not_just_the_factor(recorded_results):
    """A 2x ratio without significance is 'unchanged' with asv's '~' mark; same data, stats stripped."""
    results, h = recorded_results
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    assert statuses(cmp)[("toy.Timing.time_work", "")] == "regressed"
    # Give base and head identical wide CIs and no samples: asv's test cannot call them different.
    for commit in (h["base"], h["slow"]):
        (path,) = (results / MACHINE).glob(f"{commit[:8]}-*.json")
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


def test_new_benchmark_and_not_run_on_head(recorded_results):
    results, h = recorded_results
    (path,) = (results / MACHINE).glob(f"{h['same'][:8]}-*.json")
    d = json.loads(path.read_text())
    d["results"]["toy.brand_new"] = d["results"].pop("toy.track_value")
    path.write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["same"], factor=1.5)
    st = statuses(cmp)
    assert st[("toy.brand_new", "")] == "new"
    assert st[("toy.track_value", "")] == "skipped"
    assert cmp.exit_code == 0


def test_several_machines_need_machine(recorded_results, cli):
    results, h = recorded_results
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
def test_bad_input_is_one_line_exit_2(recorded_results, cli, args, message):
    results, h = recorded_results
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


@pytest.mark.slow
def test_branch_names_resolve_through_the_local_repo(toy_run, cli):
    """With the asv config, names like main~2 resolve in the benchmarked repo (no clone)."""
    conf, h, _ = toy_run
    proc = cli("compare", "main~4", "main~2", "--factor", FACTOR, cwd=conf.parent)
    assert proc.returncode == 1, proc.stderr
    assert f"`{h['base'][:8]}` → `{h['slow'][:8]}`" in proc.stdout


@pytest.mark.slow
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


@pytest.mark.slow
def test_real_asv_still_writes_what_was_recorded(toy_results, recorded_results):
    """The recorded fixture is what today's asv writes for the toy: same rows, same verdicts, same values."""
    (real, h_real), (recorded, h_rec) = toy_results, recorded_results
    assert h_real == h_rec  # fixed dates and contents: the same commits
    for head in ("same", "slow", "fast", "broken"):
        a = cmpmod.compare(real, h_real["base"], h_real[head], factor=1.5)
        b = cmpmod.compare(recorded, h_rec["base"], h_rec[head], factor=1.5)
        assert statuses(a) == statuses(b), head
        assert [(r.base, r.head) for r in a.rows] == [(r.base, r.head) for r in b.rows]


# ---- the verdict and its exit code, on the recorded results ------------------------------------------


def verdict_line(text):
    return next(ln for ln in text.splitlines() if ln.startswith("**"))


@pytest.mark.parametrize("head,code,verdict", [
    ("same", 0, "**OK**: 0 regressed, 0 failed, 0 improved, 6 unchanged, 0 skipped, 0 new"),
    ("slow", 1, "**FAIL**: 4 regressed, 0 failed, 0 improved, 2 unchanged, 0 skipped, 0 new"),
    ("fast", 0, "**OK**: 0 regressed, 0 failed, 4 improved, 0 unchanged, 2 skipped, 0 new"),
    ("broken", 1, "**FAIL**: 0 regressed, 1 failed, 0 improved, 5 unchanged, 0 skipped, 0 new"),
])
def test_markdown_verdict_agrees_with_the_exit_code(recorded_results, head, code, verdict):
    """Bug caught: the Markdown saying OK while the exit code is 1 (or FAIL with 0), or miscounting."""
    results, h = recorded_results
    cmp = cmpmod.compare(results, h["base"], h[head], factor=1.5)
    assert cmp.exit_code == code
    assert verdict_line(cmpmod.render_markdown(cmp)) == verdict


def test_failing_on_both_sides_is_failed_and_exits_1(recorded_results, cli):
    """Bug caught: a benchmark that fails on base and head alike turned into "skipped" with exit 0 (the
    docstring: failed = no value on head, "newly failing or still failing")."""
    results, h = recorded_results
    cmp = cmpmod.compare(results, h["broken"], h["broken"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Flaky.time_maybe_broken")
    assert (row.status, row.note) == ("failed", "failing on base too")
    assert cmp.exit_code == 1
    proc = cli("compare", h["broken"], h["broken"], "--results", results, "--factor", FACTOR)
    assert proc.returncode == 1 and verdict_line(proc.stdout).startswith("**FAIL**: 0 regressed, 1 failed")


# ---- classify, in-process, on hand-made rows: (value, stats, samples, version) ------------------------
STATS = {"ci_99_a": 0.0, "ci_99_b": 1.0, "q_25": 0.0, "q_75": 1.0, "number": 1, "repeat": 16}
FAST = [1.0 + 0.01 * i for i in range(16)]  # 1.00 .. 1.15
SLOW = [2.0 + 0.01 * i for i in range(16)]  # 2.00 .. 2.15: no overlap, Mann-Whitney p far below 0.002
MIXED = FAST[::2] + SLOW[::2]  # half of each: overlaps both


def side(samples, version="v1"):
    return (sorted(samples)[len(samples) // 2], dict(STATS), list(samples), version)


@pytest.mark.parametrize("b,h,expected", [
    (side(FAST), cmpmod.MISSING, ("skipped", "not run on head")),
    (cmpmod.MISSING, (None, None, None, "v1"), ("failed", "new benchmark, failing")),
    ((None, None, None, "v1"), (None, None, None, "v1"), ("failed", "failing on base too")),
    (side(FAST), (None, None, None, "v1"), ("failed", "newly failing")),
    (cmpmod.MISSING, side(FAST), ("new", "")),
    (side(FAST), side(SLOW, "v2"), ("skipped", "benchmark version changed: not comparable")),
    ((None, None, None, "v1"), side(FAST), ("improved", "fixed (failed on base)")),
    ((float("nan"), None, None, "v1"), side(FAST), ("skipped", "skipped on base")),
    (side(FAST), (float("nan"), None, None, "v1"), ("skipped", "skipped on head")),
    (side(FAST), side(SLOW), ("regressed", "")),
    (side(SLOW), side(FAST), ("improved", "")),
    (side(FAST), side(FAST), ("unchanged", "")),
])
def test_classify_each_case(b, h, expected):
    """Bugs caught: any case of the table in compare's docstring mapped to another status or note."""
    status, note, _ = cmpmod.classify(b, h, 1.1)
    assert (status, note) == expected


def test_classify_needs_the_factor_and_significance():
    """Bugs caught: significance dropped (factor alone) or the factor dropped (significance alone).
    SLOW is ~2x FAST and separate; MIXED's median is ~1.5x FAST's, but their samples overlap."""
    assert cmpmod.classify(side(FAST), side(SLOW), 2.5)[0] == "unchanged"  # significant, within 2.5x
    status, note, insignificant = cmpmod.classify(side(FAST), side(MIXED), 1.1)
    assert (status, note, insignificant) == ("unchanged", "beyond factor, not significant", True)


def test_exit_code_is_1_exactly_for_regressed_or_failed():
    """Bug caught: exit 0 with a failed row, or 1 for rows that are only skipped, new or improved."""
    def cmp_of(*statuses):
        c = cmpmod.Comparison("b" * 40, "h" * 40, "m", ["e"], 1.1)
        c.rows = [cmpmod.Row("x", "", "e", s, 1.0, 1.0, None, None, None, 1.0) for s in statuses]
        return c

    assert cmp_of("skipped", "new", "improved", "unchanged").exit_code == 0
    assert cmp_of("unchanged", "failed").exit_code == 1
    assert cmp_of("regressed").exit_code == 1
    assert cmp_of().exit_code == 0
