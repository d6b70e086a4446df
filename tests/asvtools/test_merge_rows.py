"""merge_rows / merge_result_data in-process, on hand-made asv rows: which run's numbers survive."""

from __future__ import annotations

import math

import pytest

from ropebench.asvtools import merge as mergemod
from ropebench.asvtools.merge import merge_result_data, merge_rows
from ropebench.errors import RopeBenchError

NAN = float("nan")


def row(result, started_at, params=None, version="v1", **extra):
    n = len(result)
    params = params or (tuple(str(i) for i in range(n)),)
    return {"result": list(result), "params": [list(p) for p in params], "version": version,
            "started_at": started_at, "duration": 1.0, "stats_ci_99_a": [f"a{started_at}"] * n,
            "stats_ci_99_b": None, "stats_q_25": None, "stats_q_75": None, "stats_number": [1] * n,
            "stats_repeat": [10] * n, "samples": [[started_at, i] for i in range(n)], "profile": None, **extra}


def same(x, y):
    return all((a is None and b is None) or (isinstance(a, float) and math.isnan(a) and math.isnan(b)) or a == b
               for a, b in zip(x, y, strict=True))


@pytest.mark.parametrize("change", [dict(params=(("1", "2", "3"),)), dict(version="v2")])
def test_a_changed_suite_keeps_the_newer_row_whichever_side_it_is(change):
    """Bug caught: merge keeping the older row after a params or version change (the suite changed;
    only the newer run describes it)."""
    old = row([1.0, 2.0], started_at=100)
    new = row([5.0, 6.0, 7.0] if "params" in change else [5.0, 6.0], started_at=200, **change)
    assert merge_rows(old, new) == new  # incoming is newer
    assert merge_rows(new, old) == new  # incoming is older: the one already there stays


def test_per_parameter_a_value_beats_a_skip_beats_a_failure():
    """Bug caught: "failed" outranking "skipped", or either outranking a measured value. The incoming
    row b is the later run, so only the rank can keep a's entries."""
    a = row([1.0, NAN, None, NAN], started_at=100, params=(("p", "q", "r", "s"),))
    b = row([NAN, None, None, 4.0], started_at=200, params=(("p", "q", "r", "s"),))
    out = merge_rows(a, b)
    assert same(out["result"], [1.0, NAN, None, 4.0])
    # Each entry brings its own run's stats and samples.
    assert out["samples"] == [[100, 0], [100, 1], [200, 2], [200, 3]]
    assert out["stats_ci_99_a"] == ["a100", "a100", "a200", "a200"]
    assert out["started_at"] == 200


@pytest.mark.parametrize("older,newer,kept", [
    ([None], [NAN], NAN),  # a later skip replaces a failure
    ([NAN], [None], NAN),  # a later failure does not replace a skip
    ([2.0], [None], 2.0),  # nor a measured value
    ([2.0], [NAN], 2.0),
])
def test_rank_decides_whichever_run_is_later(older, newer, kept):
    """Bug caught: ranks compared the wrong way round, or time deciding over rank."""
    for a, b in ((row(older, 100), row(newer, 200)), (row(newer, 200), row(older, 100))):
        assert same(merge_rows(a, b)["result"], [kept])


def test_two_measured_values_the_later_run_wins():
    """Bug caught: the earlier of two measurements kept (a re-run of a benchmark replaces it in asv)."""
    early, late = row([1.0, 2.0], 100), row([3.0, 4.0], 300)
    assert merge_rows(early, late)["result"] == [3.0, 4.0]
    assert merge_rows(late, early)["result"] == [3.0, 4.0]
    assert merge_rows(late, early)["samples"] == [[300, 0], [300, 1]]


def test_all_none_columns_stay_null():
    out = merge_rows(row([1.0], 100), row([2.0], 200))
    assert out["stats_ci_99_b"] is None and out["profile"] is None


def _file(rows, commit="c" * 40, env="venv-py3.11", durations=None):
    cols = list(next(iter(rows.values())).keys()) if rows else []
    return {"commit_hash": commit, "env_name": env, "result_columns": cols,
            "results": {name: list(r.values()) for name, r in rows.items()}, "durations": durations or {}}


def test_result_files_keep_benchmarks_only_one_side_has():
    """Bug caught: a benchmark only in the older file dropped by the merge."""
    a = _file({"b.only_a": row([1.0], 100), "b.both": row([1.0], 100)}, durations={"<build>": 5})
    b = _file({"b.only_b": row([2.0], 200), "b.both": row([None], 200)}, durations={"<setup_cache x>": 7})
    out = merge_result_data(a, b)
    assert sorted(out["results"]) == ["b.both", "b.only_a", "b.only_b"]
    cols = out["result_columns"]
    assert out["results"]["b.both"][cols.index("result")] == [1.0]  # the measured value over the failure
    assert out["results"]["b.only_a"][cols.index("result")] == [1.0]
    assert out["durations"] == {"<build>": 5, "<setup_cache x>": 7}


@pytest.mark.parametrize("key", ["commit_hash", "env_name"])
def test_files_of_different_commits_or_envs_do_not_merge(key):
    a, b = _file({"x": row([1.0], 1)}), _file({"x": row([1.0], 2)})
    b[key] = "other"
    with pytest.raises(RopeBenchError, match=f"different {key}"):
        merge_result_data(a, b)


# ---- checks before anything is written, and the rows' plumbing, in-process (the CLI tests run a subprocess)

def _corrupt(path):
    from ropebench.asvtools.merge import check_file

    with pytest.raises(RopeBenchError) as info:
        check_file(path)
    prefix = f"corrupt asv file {path}, nothing done: "
    assert str(info.value).startswith(prefix) and "\n" not in str(info.value)
    return str(info.value)[len(prefix):]


def test_each_kind_of_asv_file_is_checked_with_its_own_rule(tmp_path):
    """Bugs caught: a file checked by the wrong rule (a sidecar as a result file), asv's api version not
    checked, or the one-line reason lost, repeated ("Error loading results file ...") or replaced."""
    import json

    from ropebench.asvtools.merge import check_file

    (tmp_path / "m").mkdir()
    bench, machine, side = tmp_path / "benchmarks.json", tmp_path / "m" / "machine.json", tmp_path / "a.sidecar"
    bench.write_text(json.dumps({"version": 1}))
    assert _corrupt(bench).endswith("is stored in an old file format. Run `asv update` to update it.")
    machine.write_text(json.dumps({"version": 1}))
    assert _corrupt(machine) == "no machine name"
    machine.write_text(json.dumps({"version": 1, "machine": "box"}))
    check_file(machine)
    side.write_text("[]")
    assert _corrupt(side) == "not a JSON object"
    side.write_text("{}")
    check_file(side)
    result = tmp_path / "m" / "deadbeef-env.json"
    result.write_text('{"version": 2}')
    reason = _corrupt(result)
    assert reason and "Error loading results file" not in reason and str(result) not in reason


def test_a_machine_folder_without_machine_json_needs_another_source_for_it(tmp_path):
    """Bug caught: a machine folder whose machine.json nobody provides merged anyway (asv skips it, so its
    results vanish from the site), or one that another source provides refused."""
    import json

    from ropebench.asvtools.merge import check_tree

    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "a.sidecar").write_text("{}")
    with pytest.raises(RopeBenchError) as info:
        check_tree(tmp_path)
    assert str(info.value) == (f"machine folder {tmp_path / 'box'} has results but no machine.json (asv would "
                               "skip it), and no other folder gives one: nothing merged")
    assert [str(p) for p in check_tree(tmp_path, have_machine=("box",))] == ["box/a.sidecar"]
    (tmp_path / "box" / "machine.json").write_text(json.dumps({"version": 1, "machine": "box"}))
    assert sorted(str(p) for p in check_tree(tmp_path)) == ["box/a.sidecar", "box/machine.json"]


def test_rows_follow_the_files_own_column_order():
    """Bug caught: a file's result_columns ignored (asv's default order assumed), or a file without
    results failing."""
    from ropebench.asvtools.merge import _rows

    assert _rows({}) == {}
    assert _rows({"result_columns": ["version", "result"], "results": {"b": ["v9", [1.0]]}}) == {
        "b": {"version": "v9", "result": [1.0]}}


def test_ties_and_missing_start_times_go_to_the_incoming_row():
    """Bug caught: a tie (same start, or none recorded) kept the row already there instead of the incoming."""
    for t in (100, None):
        a, b = row([1.0], t), row([2.0], t)
        assert merge_rows(a, b)["result"] == [2.0]


def test_the_later_run_gives_the_rows_whole_columns():
    """Bug caught: the non-per-parameter columns (duration, ...) taken from the earlier run."""
    a, b = row([1.0], 300, duration=3.0), row([2.0], 100, duration=1.0)
    assert merge_rows(a, b)["duration"] == 3.0 and merge_rows(b, a)["duration"] == 3.0


def test_a_row_that_failed_whole_or_has_short_columns_still_merges():
    """Bug caught: a row whose result is null (failed before any parameter) or whose samples column is
    shorter than its parameters crashing the merge."""
    failed = dict(row([1.0, 2.0], 100), result=None)
    short = dict(row([3.0, 4.0], 200), samples=[[200, 0]])
    out = merge_rows(failed, short)
    assert out["result"] == [3.0, 4.0] and out["samples"] == [[200, 0], None]
    assert merge_rows(short, failed)["result"] == [3.0, 4.0]


# ---- the gaps of the last mutation report: whole-row replacement, start times, refusals, trees, machine.json

def test_after_a_version_change_the_newer_runs_failure_replaces_the_old_measurement():
    """Bug caught: a version change alone merged per parameter (a measured value of the OLD benchmark kept
    over the new one's failure, though it measured different code)."""
    old, new = row([1.0, 2.0], 100), row([None, 3.0], 200, version="v2")
    assert merge_rows(old, new) == new and merge_rows(new, old) == new


def test_a_row_with_no_start_time_is_the_older_one_and_the_merge_keeps_the_start_it_has():
    """Bug caught: a row without started_at (as older asv versions write) winning over a timed run, or the
    merged row losing the start time that one side recorded."""
    untimed, timed = row([1.0], None), row([2.0], 100)
    for a, b in ((untimed, timed), (timed, untimed)):
        out = merge_rows(a, b)
        assert out["result"] == [2.0] and out["started_at"] == 100 and out["samples"] == [[100, 0]]


def test_a_row_without_params_column_merges_as_one_value():
    """Bug caught: a short row (asv drops trailing nulls, so only a result may be left) crashing the merge."""
    assert merge_rows({"result": [1.0]}, {"result": [None]})["result"] == [1.0]
    assert same(merge_rows({"result": None}, {"result": [NAN]})["result"], [NAN])


def test_a_merged_file_is_written_in_asvs_layout_with_the_incoming_header():
    """Bugs caught: rows kept in a source's own column order (asv would read the wrong columns), trailing
    nulls kept, the older file's header (date, python, ...) kept, durations of the incoming run losing
    to the older one's, or a file without durations failing."""
    a = {"commit_hash": "c", "env_name": "e", "python": "3.10", "result_columns": ["started_at", "version",
                                                                                  "params", "result"],
         "results": {"only_a": [100, "v9", [], [1.0]]}}
    b = _file({"both": row([2.0], 200)}, commit="c", env="e", durations={"<build>": 9})
    b["result_columns"], b["results"]["both"] = b["result_columns"][::-1], b["results"]["both"][::-1]
    a["results"]["both"] = [50, "v1", [["0"]], [1.0]]
    a["durations"] = {"<build>": 3, "<setup_cache a>": 1}
    b["python"] = "3.11"
    out = merge_result_data(a, b)
    assert out["python"] == "3.11" and out["result_columns"] == mergemod.COLUMNS
    assert out["results"]["only_a"] == [[1.0], [], "v9", 100]
    # b's row read in b's own (reversed) order, merged per parameter, written in asv's.
    assert out["results"]["both"] == [[2.0], [["0"]], "v1", 200, 1.0, ["a200"], None, None, None, [1], [10],
                                      [[200, 0]]]
    assert out["durations"] == {"<build>": 9, "<setup_cache a>": 1}
    assert merge_result_data({"commit_hash": "c"}, {"commit_hash": "c"})["durations"] == {}


def test_files_of_different_commits_refuse_with_both_names():
    """Bug caught: the refusal not saying which commits (or envs) differ."""
    with pytest.raises(RopeBenchError) as info:
        merge_result_data({"commit_hash": "aaa", "env_name": "e"}, {"commit_hash": "bbb", "env_name": "e"})
    assert str(info.value) == "cannot merge result files of different commit_hash: aaa vs bbb"


def _asv_result(commit="c" * 40, **results):
    return {"version": 2, "commit_hash": commit, "env_name": "e", "date": 1, "params": {"machine": "box"},
            "python": "3.11", "requirements": {}, "result_columns": mergemod.COLUMNS, "results": results,
            "durations": {}}


def test_a_result_file_whose_results_are_not_a_table_is_refused_in_one_line(tmp_path):
    """Bug caught (fixed in merge.py): a result file whose "results" is a list crashed the merge with a
    traceback (AttributeError) instead of refusing it in one line."""
    import json

    path = tmp_path / "deadbeef-e.json"
    path.write_text(json.dumps(dict(_asv_result(), results=[])))
    assert _corrupt(path) == "'list' object has no attribute 'items'"
    path.write_text(json.dumps({"version": 2}))
    assert _corrupt(path) == "missing key 'params'"  # asv's "Error loading results file ..." prefix dropped


def test_a_loader_error_of_several_lines_or_none_still_refuses_in_one_clear_line(tmp_path, monkeypatch):
    """Bugs caught: a multi-line loader message copied whole into the one-line refusal (or its second
    line taken), or an error without a message refused with an empty reason."""
    import asv.results
    from asv.util import UserError

    path = tmp_path / "deadbeef-e.json"
    path.write_text("{}")
    errors = iter([UserError(f"Error loading results file '{path}': first line\nsecond line"), KeyError()])

    def fail(*_):
        raise next(errors)

    monkeypatch.setattr(asv.results.Results, "load", fail)
    assert _corrupt(path) == "first line"
    assert _corrupt(path) == "KeyError"


def _tree(root, files, machine="box"):
    """A results folder: {relative path: JSON data}; machine.json for `machine` unless it is None."""
    import json

    if machine:
        files = {f"{machine}/machine.json": {"version": 1, "machine": machine}, **files}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(data if isinstance(data, str) else json.dumps(data))
    return root


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_corrupt_destination_file_refuses_the_merge_before_anything_is_written(tmp_path):
    """Bug caught (fixed in merge.py): a corrupt file in DEST that a source also has was found only half way
    through the merge, after other files had been written ("half a merge")."""
    dest = _tree(tmp_path / "dest", {"box/bbbbbbbb-e.json": "{broken"})
    src = _tree(tmp_path / "src", {"box/aaaaaaaa-e.json": _asv_result("a" * 40),
                                   "box/bbbbbbbb-e.json": _asv_result("b" * 40)})
    (src / "box" / "machine.json").write_text('{"version": 1, "machine": "box", "cpu": "new"}')
    before = _snapshot(dest)
    with pytest.raises(RopeBenchError) as info:
        mergemod.merge_trees(dest, [src])
    assert str(info.value).startswith(f"corrupt asv file {dest / 'box/bbbbbbbb-e.json'}, nothing done: ")
    assert _snapshot(dest) == before
    # A corrupt DEST file that no source has is not read, so it does not block a merge.
    (src / "box" / "bbbbbbbb-e.json").unlink()
    assert mergemod.merge_trees(dest, [src]) == {"added": 1, "merged": 1, "same": 0}


def test_a_machine_folder_without_machine_json_merges_when_dest_or_another_source_has_one(tmp_path):
    """Bugs caught: a collect step's folder without machine.json refused although DEST (or another source)
    has the machine, or merged when nobody has it (asv would skip it: its results vanish), with part of
    the merge written before the refusal."""
    bare = _tree(tmp_path / "bare", {"box/aaaaaaaa-e.json": _asv_result("a" * 40)}, machine=None)
    other = _tree(tmp_path / "other", {})
    with pytest.raises(RopeBenchError, match="has results but no machine.json"):
        mergemod.merge_trees(tmp_path / "d0", [_tree(tmp_path / "x", {}, machine="elsewhere"), bare])
    assert not (tmp_path / "d0").exists()
    assert mergemod.merge_trees(tmp_path / "d1", [bare, other])["added"] == 2
    assert (tmp_path / "d1" / "box" / "aaaaaaaa-e.json").is_file()
    dest = _tree(tmp_path / "d2", {})
    assert mergemod.merge_trees(dest, [bare]) == {"added": 1, "merged": 0, "same": 0}


def test_bad_folders_are_refused_in_one_line(tmp_path):
    """Bugs caught (in-process; the CLI test runs a subprocess): DEST being a file, or a missing source,
    not refused, or refused with a message that does not name it."""
    (tmp_path / "file").write_text("")
    with pytest.raises(RopeBenchError) as info:
        mergemod.merge_trees(tmp_path / "file", [_tree(tmp_path / "src", {})])
    assert str(info.value) == f"DEST must be a results folder, not a file: {tmp_path / 'file'}"
    with pytest.raises(RopeBenchError) as info:
        mergemod.merge_trees(tmp_path / "dest", [tmp_path / "src", tmp_path / "missing"])
    assert str(info.value) == f"results folder {tmp_path / 'missing'} does not exist"
    assert not (tmp_path / "dest").exists()


def test_only_asvs_files_are_merged(tmp_path):
    """Bugs caught: a hidden folder (.git of the results branch) or a stray file (notes, html) merged as
    results, or a machine folder's files listed in an unstable order."""
    root = _tree(tmp_path, {"benchmarks.json": {"version": 2}, "box/b.json": "{}", "box/a.sidecar": "{}",
                            "box/a.json": "{}", "box/notes.txt": "", ".git/y.json": "{}",
                            ".hidden/machine.json": "{}", "README.json": "{}"})
    assert [str(p) for p in mergemod.result_files(root)] == [
        "box/machine.json", "box/a.json", "box/a.sidecar", "box/b.json", "benchmarks.json"]


def test_a_file_that_differs_only_in_layout_counts_as_identical(tmp_path):
    """Bug caught: a machine.json that says the same in another layout (a hand-written one against asv's
    own) counted as merged, or the merge's summary names a count that does not exist."""
    import json

    from asv.util import write_json

    dest, src = tmp_path / "dest" / "machine.json", tmp_path / "src" / "machine.json"
    dest.parent.mkdir()
    dest.write_text(json.dumps({"version": 1, "machine": "box", "cpu": "x"}))
    write_json(str(src), {"machine": "box", "cpu": "x"}, api_version=1)  # as asv writes it
    assert dest.read_bytes() != src.read_bytes()
    assert mergemod.merge_file(dest, src) == "same"
    assert dest.read_bytes() == src.read_bytes()
