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


def test_identical_commits_pass(recorded_results, cli_main):
    results, h = recorded_results
    proc = cli_main("compare", h["base"], h["same"], "--results", results, "--factor", FACTOR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "**OK**: 0 regressed, 0 failed, 0 improved, 6 unchanged" in proc.stdout
    assert "<details><summary>Unchanged (6)</summary>" in proc.stdout


def test_regression_exits_1_with_rows_ratios_and_units(recorded_results, cli_main, tmp_path, monkeypatch):
    results, h = recorded_results
    md = tmp_path / "out" / "comparison.md"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    proc = cli_main("compare", h["base"][:8], h["slow"], "--results", results, "--factor", FACTOR,
                    "--markdown", md, "--summary")
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


def test_failure_exits_1(recorded_results, cli_main):
    results, h = recorded_results
    proc = cli_main("compare", h["base"], h["broken"], "--results", results, "--factor", FACTOR)
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
    lines = cmpmod.render_markdown(cmp).splitlines()  # the side without a row reads "—", not "failed"
    assert "| `toy.brand_new` |  | — | 10 | n/a |  |" in lines  # not in benchmarks.json: no unit
    assert "| `toy.track_value` |  | 10 widgets | — | n/a | not run on head |" in lines


def test_several_machines_need_machine(recorded_results, cli_main):
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
    proc = cli_main("compare", h["base"], h["same"], "--results", results)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ropebench: error: results for several machines (otherbox, toybox): pass --machine"]
    proc = cli_main("compare", h["base"], h["same"], "--results", results, "--machine", "otherbox",
                    "--factor", FACTOR)
    assert proc.returncode == 0, proc.stderr
    proc = cli_main("compare", h["base"], h["same"], "--results", results, "--machine", "nope")
    assert proc.stderr.strip().splitlines() == [
        f"ropebench: error: no results for machine 'nope' in {results} (machines: otherbox, toybox)"]


@pytest.mark.parametrize("args, message", [
    (["0000000", "1111111"], "no results for commit '0000000' on machine 'toybox'"),
    (["--machine", "nope", "0000000", "1111111"], "no results for machine 'nope'"),
    (["--env-name", "conda-py3.9", "BASE", "HEAD"], "on machine 'toybox' in env conda-py3.9"),
    (["--factor", "0.5", "BASE", "HEAD"], "--factor must be >= 1"),
])
def test_bad_input_is_one_line_exit_2(recorded_results, cli_main, args, message):
    results, h = recorded_results
    args = [h["base"] if a == "BASE" else h["slow"] if a == "HEAD" else a for a in args]
    proc = cli_main("compare", *args, "--results", results)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_missing_results_folder(cli_main, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = cli_main("compare", "a", "b", "--results", tmp_path / "nothing")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ropebench: error: results folder {tmp_path / 'nothing'} does not exist"
    proc = cli_main("compare", "a", "b")
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


def test_failing_on_both_sides_is_failed_and_exits_1(recorded_results, cli_main):
    """Bug caught: a benchmark that fails on base and head alike turned into "skipped" with exit 0 (the
    docstring: failed = no value on head, "newly failing or still failing")."""
    results, h = recorded_results
    cmp = cmpmod.compare(results, h["broken"], h["broken"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Flaky.time_maybe_broken")
    assert (row.status, row.note) == ("failed", "failing on base too")
    assert cmp.exit_code == 1
    proc = cli_main("compare", h["broken"], h["broken"], "--results", results, "--factor", FACTOR)
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
    ((10.0, None, None, "v1"), (None, None, None, "v1"), ("failed", "newly failing")),  # a track_: no stats
    (cmpmod.MISSING, side(FAST), ("new", "")),
    (side(FAST), side(SLOW, "v2"), ("skipped", "benchmark version changed: not comparable")),
    ((None, None, None, "v1"), side(FAST), ("improved", "fixed (failed on base)")),
    ((float("nan"), None, None, "v1"), side(FAST), ("skipped", "skipped on base")),
    (side(FAST), (float("nan"), None, None, "v1"), ("skipped", "skipped on head")),
    ((float("nan"), None, None, "v1"), (float("nan"), None, None, "v1"), ("skipped", "skipped on base and head")),
    ((None, None, None, "v1"), (float("nan"), None, None, "v1"), ("skipped", "skipped on head")),  # not "fixed"
    (side(FAST, None), side(SLOW), ("regressed", "")),  # an unknown version is no change of version
    (side(FAST), side(SLOW, None), ("regressed", "")),
    (side(FAST), side(SLOW), ("regressed", "")),
    (side(SLOW), side(FAST), ("improved", "")),
    (side(FAST), side(FAST), ("unchanged", "")),
])
def test_classify_each_case(b, h, expected):
    """Bugs caught: any case of the table in compare's docstring mapped to another status or note, or
    marked "beyond the factor, not significant" (asv's "~") without being compared at all."""
    assert cmpmod.classify(b, h, 1.1) == (*expected, False)


def test_classify_needs_the_factor_and_significance():
    """Bugs caught: significance dropped (factor alone) or the factor dropped (significance alone).
    SLOW is ~2x FAST and separate; MIXED's median is ~1.5x FAST's, but their samples overlap."""
    assert cmpmod.classify(side(FAST), side(SLOW), 2.5)[0] == "unchanged"  # significant, within 2.5x
    status, note, insignificant = cmpmod.classify(side(FAST), side(MIXED), 1.1)
    assert (status, note, insignificant) == ("unchanged", "beyond factor, not significant", True)
    assert cmpmod.classify(side(MIXED), side(FAST), 1.1) == ("unchanged", "beyond factor, not significant", True)
    assert cmpmod.classify(side(FAST), side(FAST[1:]), 1.1) == ("unchanged", "", False)


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


# ---- in-process: loading, naming commits, inputs --------------------------------------------------------


def result_file(results, commit):
    (path,) = (results / MACHINE).glob(f"{commit[:8]}-*.json")
    return path


def edit_result(results, commit, benchmark, column, value):
    path = result_file(results, commit)
    d = json.loads(path.read_text())
    d["results"][benchmark][d["result_columns"].index(column)] = value
    path.write_text(json.dumps(d))


def test_a_track_benchmark_that_returns_an_int_has_its_ratio(recorded_results):
    """Bug caught (fixed): a track_ benchmark returning an int (a count, bytes) kept as int by asv, so a 2x
    regression showed ratio "n/a" and sorted as if it were the mildest."""
    results, h = recorded_results
    edit_result(results, h["base"], "toy.track_value", "result", [10])
    edit_result(results, h["slow"], "toy.track_value", "result", [20])
    row = next(r for r in cmpmod.compare(results, h["base"], h["slow"], factor=1.5).rows
               if r.benchmark == "toy.track_value")
    assert (row.status, row.ratio, cmpmod.fmt_ratio(row)) == ("regressed", 2.0, "2.00")
    assert (cmpmod.fmt_value(row.base, row.unit, row.base_err), row.head_err) == ("10 widgets", None)


def test_a_parameter_that_was_not_run_reads_skipped(recorded_results):
    """Bug caught (fixed): a result where asv ran only some parameters of a benchmark (`asv run -b` with a
    regex over its points, as the e2e tests and `make demo` do) keeps a NaN value and empty stats for the
    others; compare crashed on those with KeyError 'q_25' (an internal error, exit 3) instead of a table."""
    results, h = recorded_results
    path = result_file(results, h["slow"])
    d = json.loads(path.read_text())
    row = d["results"]["toy.Scaled.time_scaled"]
    for i, column in enumerate(d["result_columns"]):
        if column == "result":
            row[i][1] = float("nan")  # asv's "not run / skipped"
        elif column.startswith("stats_") or column == "samples":
            row[i][1] = None
    path.write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    rows = {r.params: r for r in cmp.rows if r.benchmark == "toy.Scaled.time_scaled"}
    assert (rows["n=2"].status, rows["n=2"].note, rows["n=2"].head_err) == ("skipped", "skipped on head", None)
    assert rows["n=1"].status == "regressed" and rows["n=1"].head_err is not None
    assert "| `toy.Scaled.time_scaled` | n=2 | 6.00±0.07ms | skipped | n/a | skipped on head |" in \
        cmpmod.render_markdown(cmp)


def test_a_zero_base_has_no_ratio_and_its_regression_leads(recorded_results):
    """Bug caught: a division by a zero base, or a regression from 0 listed after the milder ones."""
    results, h = recorded_results
    edit_result(results, h["base"], "toy.track_value", "result", [0])
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.track_value")
    assert (row.status, row.ratio) == ("regressed", None)
    regressed = cmpmod.render_markdown(cmp).split("### Regressed (4)")[1]
    assert regressed.index("toy.track_value") < regressed.index("toy.Timing.time_work")
    assert "| `toy.track_value` |  | 0 widgets | 20 widgets | n/a |  |" in regressed


def test_a_changed_benchmark_version_is_not_compared(recorded_results):
    """Bug caught: a benchmark whose code changed (asv's version) judged regressed against its old self."""
    results, h = recorded_results
    edit_result(results, h["slow"], "toy.Timing.time_work", "version", "2")
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Timing.time_work")
    assert (row.status, row.note) == ("skipped", "benchmark version changed: not comparable")


def test_without_benchmarks_json_parameters_get_plain_names_and_no_units(recorded_results):
    """Bug caught: a crash when benchmarks.json is gone (e.g. not kept with the results); parameters then
    read p0, p1 and values have no unit."""
    results, h = recorded_results
    (results / "benchmarks.json").unlink()
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    scaled = [r for r in cmp.rows if r.benchmark == "toy.Scaled.time_scaled"]
    assert [(r.params, r.unit, r.status) for r in scaled] == [("p0=1", None, "regressed"), ("p0=2", None, "regressed")]


def test_an_unreadable_benchmarks_json_is_one_line(recorded_results):
    results, h = recorded_results
    (results / "benchmarks.json").write_text("{not json")
    with pytest.raises(cmpmod.RopeBenchError, match=r"^unreadable .*benchmarks\.json: "):
        cmpmod.compare(results, h["base"], h["slow"])


def test_machine_files_missing_or_unreadable(recorded_results, tmp_path):
    """Bug caught: a traceback instead of one line for a results folder without machines or with a broken one."""
    results, h = recorded_results
    (tmp_path / "empty").mkdir()
    with pytest.raises(cmpmod.RopeBenchError, match=r"^no asv results in .*empty \(no <machine>/machine\.json\)$"):
        cmpmod.compare(tmp_path / "empty", "a", "b")
    (results / "broken").mkdir()
    (results / "broken" / "machine.json").write_text("{}")
    with pytest.raises(cmpmod.RopeBenchError, match=r"^unreadable machine file .*broken/machine\.json: 'machine'$"):
        cmpmod.compare(results, h["base"], h["slow"], machine=MACHINE)


def test_env_filter_keeps_the_named_env(recorded_results):
    """Bug caught: --env-name dropping the rows of the env it names (or keeping every env)."""
    results, h = recorded_results
    env = json.loads(result_file(results, h["base"]).read_text())["env_name"]
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5, env_names=[env])
    assert (cmp.envs, len(cmp.rows), cmp.exit_code) == ([env], 6, 1)
    with pytest.raises(cmpmod.RopeBenchError, match=f"^no results for commit '{h['base']}' on machine "
                                                    f"'toybox' in env other, py9$"):
        cmpmod.compare(results, h["base"], h["slow"], env_names=["py9", "other"])


def test_factor_one_is_allowed_and_nan_is_not(recorded_results):
    """Bug caught: --factor 1 (any significant change counts) refused, or a NaN factor let through (it makes
    every comparison false: nothing could ever regress)."""
    results, h = recorded_results
    assert cmpmod.compare(results, h["base"], h["slow"], factor=1.0).exit_code == 1
    with pytest.raises(cmpmod.RopeBenchError, match=r"^--factor must be >= 1 \(got nan\)$"):
        cmpmod.compare(results, h["base"], h["slow"], factor=float("nan"))


def test_an_ambiguous_prefix_is_one_line(recorded_results):
    results, h = recorded_results
    twin = result_file(results, h["base"])
    shutil.copy(twin, twin.with_name(h["base"][:4] + "ffff" + twin.name[8:]))
    with pytest.raises(cmpmod.RopeBenchError, match=f"^'{h['base'][:4]}': .*multiple commits"):
        cmpmod.compare(results, h["base"][:4], h["slow"])
    assert cmpmod.compare(results, h["base"][:5], h["slow"]).base == h["base"]


@pytest.fixture
def toy_repo(tmp_path):
    """The toy project's git repo, remade (fixed contents and dates: the recorded commits), and an asv-like
    config pointing at it."""
    from types import SimpleNamespace

    from . import toyasv

    names = list(toyasv.RECORDED)
    proj, hashes = toyasv.make_project(tmp_path, [toyasv.STATES[n] for n in names])
    return SimpleNamespace(repo=str(proj), project="mirror", conf_dir=tmp_path), dict(zip(names, hashes))


def test_names_resolve_through_the_local_repo(recorded_results, toy_repo):
    """Bug caught: git names (main~2, a tag) not resolved through the benchmarked repo on disk, or resolved
    to the wrong commit; without a config or a repo on disk the error says to pass a hash."""
    results, h = recorded_results
    conf, made = toy_repo
    assert made == h  # the remade repo is the recorded one
    order = list(made)  # oldest first; main is the last
    cmp = cmpmod.compare(results, f"main~{len(order) - 1}", f"main~{len(order) - 1 - order.index('slow')}",
                         factor=1.5, conf=conf)
    assert (cmp.base, cmp.head, cmp.exit_code) == (h["base"], h["slow"], 1)
    hint = "; names like main~1 resolve only where the repo or asv's clone of it is on disk, else pass a hash"
    for name, c in (("main~1", None), ("nosuchbranch", conf),
                    ("main~1", type(conf)(repo=str(conf.conf_dir / "gone"), project="gone", conf_dir=conf.conf_dir))):
        with pytest.raises(cmpmod.RopeBenchError) as exc:
            cmpmod.compare(results, name, h["slow"], conf=c)
        assert str(exc.value) == f"no results for commit {name!r} on machine 'toybox' in {results}{hint}"
    with pytest.raises(cmpmod.RopeBenchError) as exc:  # a hash: no hint
        cmpmod.compare(results, "abcdef12", h["slow"], conf=conf)
    assert str(exc.value) == f"no results for commit 'abcdef12' on machine 'toybox' in {results}"


def test_a_name_the_repo_knows_without_results_says_so_without_the_hint(recorded_results, toy_repo):
    results, h = recorded_results
    conf, _ = toy_repo
    result_file(results, h["broken"]).unlink()  # main
    with pytest.raises(cmpmod.RopeBenchError) as exc:
        cmpmod.compare(results, "main", h["slow"], conf=conf)
    assert str(exc.value) == f"no results for commit 'main' on machine 'toybox' in {results}"


def test_a_side_without_a_row_reads_missing():
    """Bug caught: a Row printed in a failing assertion or a log hiding which side had no row."""
    assert repr(cmpmod.MISSING) == "MISSING"


def test_load_benchmarks_gives_the_benchmarks_only(recorded_results, tmp_path):
    """Bug caught: benchmarks.json's "version" key read as a benchmark by callers that list them all."""
    results, _ = recorded_results
    assert sorted(cmpmod.load_benchmarks(results)) == [
        "toy.Flaky.time_maybe_broken", "toy.Flaky.time_maybe_skipped", "toy.Scaled.time_scaled",
        "toy.Timing.time_work", "toy.track_value"]
    assert cmpmod.load_benchmarks(tmp_path) == {}


def test_two_envs_are_compared_apart_and_filtered_one_by_one(recorded_results):
    """Bugs caught: rows of two envs mixed up (one env's base against the other's head), or --env-name
    stopping at the first results file of another env instead of skipping it."""
    results, h = recorded_results
    env = json.loads(result_file(results, h["base"]).read_text())["env_name"]
    for commit, state in ((h["base"], h["base"]), (h["slow"], h["same"])):  # env "alt": slow is like same
        d = json.loads(result_file(results, state).read_text())
        d["env_name"], d["commit_hash"] = "alt", commit
        (results / MACHINE / f"{commit[:8]}-alt.json").write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    assert cmp.envs == ["alt", env]
    by_env = {e: {r.status for r in cmp.rows if r.env == e} for e in cmp.envs}
    assert by_env == {"alt": {"unchanged"}, env: {"regressed", "unchanged"}}
    assert "| `toy.Timing.time_work [alt]` |  | 3.00±0.04ms | 3.00±0.04ms | 1.00 |  |" in cmpmod.render_markdown(cmp)
    for only in ("alt", env):
        cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5, env_names=[only])
        assert (cmp.envs, len(cmp.rows)) == ([only], 6)


def test_a_results_file_without_rows_is_no_results(recorded_results):
    """Bug caught: a commit whose results file holds nothing (asv stopped early) compared as if every
    benchmark were new or gone, instead of one line saying there is nothing to compare."""
    results, h = recorded_results
    path = result_file(results, h["slow"])
    d = json.loads(path.read_text())
    d["results"] = {}
    path.write_text(json.dumps(d))
    with pytest.raises(cmpmod.RopeBenchError) as exc:
        cmpmod.compare(results, h["base"], h["slow"])
    assert str(exc.value) == f"no results for commit '{h['slow']}' on machine 'toybox'"


def test_an_env_on_one_side_only_is_listed_and_its_rows_kept(recorded_results):
    """Bug caught: the env list (and the env names on rows) built from one side, hiding an env that only base
    or only head has, e.g. a Python version added or dropped."""
    results, h = recorded_results
    for commit, env in ((h["base"], "gone"), (h["slow"], "added")):
        d = json.loads(result_file(results, commit).read_text())
        d["env_name"] = env
        (results / MACHINE / f"{commit[:8]}-{env}.json").write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    assert cmp.envs == ["added", "gone", "toyvenv-py3.11"]
    assert {r.status for r in cmp.rows if r.env == "gone"} == {"skipped"}  # not run on head
    assert {r.status for r in cmp.rows if r.env == "added"} == {"new"}
    assert "| `toy.Timing.time_work [added]` |  | — | 9.00±0.1ms | n/a |  |" in cmpmod.render_markdown(cmp)


def test_a_benchmark_with_two_parameters_names_both(recorded_results):
    """Bug caught: the parameters of a row run together, so n=1 with mode 'x' cannot be told from others."""
    results, h = recorded_results
    for commit in (h["base"], h["slow"]):
        edit_result(results, commit, "toy.Scaled.time_scaled", "params", [["1", "2"], ["'x'"]])
    bench = json.loads((results / "benchmarks.json").read_text())
    bench["toy.Scaled.time_scaled"]["param_names"] = ["n", "mode"]
    (results / "benchmarks.json").write_text(json.dumps(bench))
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    assert [r.params for r in cmp.rows if r.benchmark == "toy.Scaled.time_scaled"] == ["n=1, mode='x'", "n=2, mode='x'"]


def test_results_without_samples_fall_back_on_the_confidence_intervals(recorded_results):
    """asv run without --record-samples keeps stats but no samples: a change is then significant when the 99%
    CIs do not overlap (asv's fallback). Bugs caught: such rows not compared, or shown without their spread."""
    results, h = recorded_results
    for commit in (h["base"], h["slow"]):
        path = result_file(results, commit)
        d = json.loads(path.read_text())
        cut = d["result_columns"].index("samples")
        d["result_columns"] = d["result_columns"][:cut]
        d["results"] = {k: v[:cut] for k, v in d["results"].items()}
        path.write_text(json.dumps(d))
    cmp = cmpmod.compare(results, h["base"], h["slow"], factor=1.5)
    row = next(r for r in cmp.rows if r.benchmark == "toy.Timing.time_work")
    assert (row.status, row.insignificant) == ("regressed", False)
    assert "| `toy.Timing.time_work` |  | 3.00±0.04ms | 9.00±0.1ms | 3.00 |  |" in cmpmod.render_markdown(cmp)
