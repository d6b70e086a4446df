"""`ropebench run`: nothing a user ran is lost, progress shows when piped, CPU numbers say what they are."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time

import pytest

from ropebench import cli, report
from ropebench.commands import run as run_command
from ropebench.commands.run_loop import spread
from ropebench.progress import CostModel, duration
from ropebench.timing import Timing
from ropebench.workload import Workload

SMALL = ["run", "--device", "cpu", "--samples", "5", "--grid-batch", "1", "--grid-seq-len", "8,16",
         "--grid-heads", "2"]


def rows(folder):
    return list(csv.DictReader((folder / "rope.csv").open()))


def test_each_run_keeps_its_own_folder_and_latest_points_at_the_newest(tmp_path, capsys):
    save = tmp_path / "out"
    assert cli.main([*SMALL, "--styles", "neox,gptj", "--save-path", str(save)]) == 0
    first = (save / "latest").resolve()
    grid_rows = rows(first)
    plots = sorted(p.name for p in first.glob("*.png"))
    assert len(grid_rows) == 4 and plots == ["rope-floor-gptj.png", "rope-floor-neox.png",
                                             "rope-perf-gptj.png", "rope-perf-neox.png"]
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    capsys.readouterr()
    # The README's --single example, into the same save path: the grid's files are untouched.
    assert cli.main(["run", "--device", "cpu", "--single", "--batch-size", "1", "--seq-len", "8", "--num-heads",
                     "2", "--samples", "5", "--save-path", str(save)]) == 0
    out = capsys.readouterr().out
    second = (save / "latest").resolve()
    assert second != first and second.parent == first.parent
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    assert len(rows(second)) == 1 and not list(second.glob("*.png"))
    assert "no plots were written" in out and str(second) in out
    assert sorted(p.name for p in save.iterdir()) == sorted(["latest", first.name, second.name])


def test_two_runs_in_one_second_get_two_folders(tmp_path):
    a, b = report.new_run_folder(tmp_path), report.new_run_folder(tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    assert (tmp_path / "latest").resolve() == b.resolve()
    assert os.readlink(tmp_path / "latest") == b.name  # relative: the folder can be moved or copied


def test_piped_progress_is_one_flushed_line_per_point(tmp_path):
    """Read through a pipe while the run is going: each line comes as its point ends, not at exit."""
    args = [sys.executable, "-m", "ropebench", *SMALL, "--grid-batch", "1,2,3", "--grid-seq-len", "8,16,32",
            "--samples", "20", "--save-path", str(tmp_path / "out")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, still_running = [], None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("[1/9]"):
            still_running = proc.poll() is None
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    progress = [ln for ln in lines if ln.startswith("[")]
    assert [ln.split("]")[0] for ln in progress] == [f"[{i}/9" for i in range(1, 10)]
    for ln in progress:
        assert "torch " in ln and "µs" in ln and ", ETA " in ln and " s, ETA" in ln
    assert still_running, "the first progress line arrived only after the run ended"
    announced = [ln for ln in lines if ln.startswith("expected duration: about")]
    assert len(announced) == 1 and "for 9 points" in announced[0]
    assert lines.index(announced[0]) < lines.index(progress[2])  # before the grid's remaining points


def test_cpu_numbers_say_what_they_are(tmp_path, capsys):
    save = tmp_path / "out"
    assert cli.main([*SMALL, "--save-path", str(save)]) == 0
    out = capsys.readouterr().out
    assert "1 torch thread" in out and "wall µs median" in out and "not a kernel time" in out
    meta = json.loads((save / "latest" / "run.json").read_text())
    assert meta["machine"]["torch_threads"] == 1
    import torch

    assert torch.get_num_threads() == 1


def test_threads_flag_sets_torch_threads(tmp_path, capsys):
    import torch

    assert cli.main([*SMALL, "--threads", "2", "--save-path", str(tmp_path)]) == 0
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)


def test_samples_past_the_cap_warn_and_say_the_number_used(tmp_path, capsys):
    from ropebench.preflight import MAX_SAMPLES

    assert cli.main(["run", "--device", "cpu", "--single", "--batch-size", "1", "--seq-len", "4", "--num-heads", "2",
                     "--samples", "100000000", "--save-path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"--samples 100000000 is past the time box; using {MAX_SAMPLES}" in out
    used = int(rows(tmp_path / "latest")[0]["samples"])
    assert used <= MAX_SAMPLES
    if used < MAX_SAMPLES:  # the CPU's 2 s box cut it further: said too, with the number
        assert f"below --samples {MAX_SAMPLES} (fewest: {used})" in out


def _args(**over):
    p = argparse.ArgumentParser()
    run_command.add_arguments(p)
    return p.parse_args([f"--{k.replace('_', '-')}={v}" if v is not True else f"--{k.replace('_', '-')}"
                         for k, v in over.items()])


def test_quick_is_a_few_points_of_the_seed_grid():
    base = Workload(device="cpu")
    quick = run_command.plan(_args(quick=True), base, ["torch"], ["neox", "gptj"])
    full = run_command.plan(_args(), base, ["torch"], ["neox", "gptj"])
    assert len(quick) == 8 and len(full) == 2 * 4 * 5 * 2
    assert {w for w, _ in quick} <= {w for w, _ in full}
    assert run_command.plan(_args(quick=True, grid_heads="48"), base, ["torch"], ["neox"])[0][0].num_heads == 48


def test_plan_order_is_style_then_shape_then_backend():
    points = run_command.plan(_args(grid_batch="1,2", grid_seq_len="8", grid_heads="2,4"), Workload(device="cpu"),
                              ["torch", "vllm"], ["neox", "gptj"])
    assert [(w.style, w.batch_size, w.num_heads, b) for w, b in points][:4] == [
        ("neox", 1, 2, "torch"), ("neox", 1, 2, "vllm"), ("neox", 1, 4, "torch"), ("neox", 1, 4, "vllm")]
    assert all(w.num_kv_heads == w.num_heads for w, _ in points)  # MHA follows the heads


def test_spread_and_table_units():
    w = Workload(batch_size=1, seq_len=4, num_heads=2)
    from ropebench.result import Result

    r = Result("torch", w, "ok", kernel=Timing("cpu", [10.0] * 5 + [30.0] * 5))
    assert spread(r) == pytest.approx(3.0)
    assert spread(Result("torch", w, "skipped")) is None
    assert report.fmt_time(12_345.0) == "12.3 ms" and report.fmt_time(9_999.0) == "9999.0 µs"
    assert report._t(12_345.0) == "12.3 ms" and report._t(150.0) == "150.0"


def test_cost_model_fits_and_predicts():
    m = CostModel()
    assert m.predict(10) is None
    m.add(0, 1.0)
    assert m.predict(1e9) == pytest.approx(1.0)
    m.add(100, 3.0)
    m.add(200, 5.0)
    assert m.predict(300) == pytest.approx(7.0)
    assert duration(59) == "59 s" and duration(61) == "1 min 01 s" and duration(3700) == "1 h 01 min"


def test_plot_lines_stay_within_one_family():
    """Families: every Workload field equal but seq_len; a point differing in any other field (here dtype,
    not a grid axis today) is its own family, so a new axis cannot make keys collide."""
    from ropebench.result import Result

    ws = [Workload(batch_size=b, seq_len=s, num_heads=h, dtype=d)
          for d in ("bfloat16", "float16") for b in (1, 2) for h in (2,) for s in (16, 8)]
    results = [Result("torch", w, "ok", kernel=Timing("cpu", [1.0, 2.0, 3.0]), copy_gbps=10.0) for w in ws]
    xs, ticks = report._layout(results)
    assert len(xs) == len(ws) == len(ticks)
    lines = list(report._lines(results, xs, "torch", lambda r: r.median_us, lambda r: r.kernel.p20_us,
                               lambda r: r.kernel.p80_us))
    assert len(lines) == 4  # 2 dtypes x 2 batches, each a line over seq_len 8, 16
    for x, y, err in lines:
        assert len(x) == 2 and x[1] == x[0] + 1  # neighbours, seq_len ascending
        assert y == [2.0, 2.0] and err == [[pytest.approx(0.6)] * 2, [pytest.approx(0.6)] * 2]


def test_write_is_refused_before_any_work_when_memory_cannot_fit(tmp_path, capsys):
    t0 = time.perf_counter()
    rc = cli.main(["run", "--device", "cpu", "--grid-batch", "1,100000", "--save-path", str(tmp_path / "o")])
    assert rc == 2 and time.perf_counter() - t0 < 10
    assert not (tmp_path / "o").exists()


def test_terminal_progress_is_a_bar_with_an_eta():
    import io

    from rich.console import Console

    from ropebench.progress import GridProgress

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with GridProgress(console, 3, lambda: 42.0) as progress:
        assert progress.terminal
        progress.start("torch 1x64")
        progress._bar.refresh()
        progress.done("torch 1x64", "ok")
        progress._bar.refresh()
        shown = buf.getvalue()
    assert "torch 1x64" in shown and "1/3" in shown and "ETA 42 s" in shown
    assert "[1/3]" not in shown  # no log lines in a terminal: the bar says it


def test_a_long_line_stays_one_line_in_a_log(tmp_path, capsys):
    """Piped, rich would wrap at the console width; a log line (here the closing one) must stay whole."""
    save = tmp_path / ("a-long-folder-name-" * 8)
    assert cli.main([*SMALL, "--save-path", str(save)]) == 0
    wrote = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("wrote ")]
    assert len(wrote) == 1 and len(wrote[0]) > 150 and wrote[0].endswith("points at it)")
