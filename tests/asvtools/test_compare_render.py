"""The Markdown of `ropebench compare`, whole: what a PR comment or a job summary shows.

Whole pages for the recorded asv results (tests/fixtures/asv_results: one real asv run of the toy suite, fixed
samples), then the parts of a page on rows built in-process (sections, order, cells, values, ratios)."""

from __future__ import annotations

import math

import pytest

from ropebench.asvtools import compare as cmpmod

EXPLAIN = (
    "Machine `toybox`, env `toyvenv-py3.11`. A row regressed or improved when the ratio head/base is beyond 1.5 "
    "and the difference is significant (asv's test: Mann-Whitney U, p < 0.002, on raw samples; else "
    "non-overlapping 99% CIs); `track_` rows by the factor alone. Lower is better. `~` marks a ratio beyond the "
    "factor that is not significant."
)
HEAD = "| Benchmark | Parameters | Base | Head | Ratio | Note |\n|---|---|---:|---:|---:|---|\n"

PAGES = {
    "slow": f"""\
## RoPE benchmarks: `3d174aa5` → `5af9fb8c`

**FAIL**: 4 regressed, 0 failed, 0 improved, 2 unchanged, 0 skipped, 0 new

{EXPLAIN}

### Regressed (4)

{HEAD}\
| `toy.Scaled.time_scaled` | n=1 | 3.00±0.04ms | 9.00±0.1ms | 3.00 |  |
| `toy.Scaled.time_scaled` | n=2 | 6.00±0.07ms | 18.0±0.2ms | 3.00 |  |
| `toy.Timing.time_work` |  | 3.00±0.04ms | 9.00±0.1ms | 3.00 |  |
| `toy.track_value` |  | 10 widgets | 20 widgets | 2.00 |  |

<details><summary>Unchanged (2)</summary>

{HEAD}\
| `toy.Flaky.time_maybe_broken` |  | 1.00±0.01ms | 1.00±0.01ms | 1.00 |  |
| `toy.Flaky.time_maybe_skipped` |  | 1.00±0.01ms | 1.00±0.01ms | 1.00 |  |

</details>
""",
    "fast": f"""\
## RoPE benchmarks: `3d174aa5` → `81e7a95c`

**OK**: 0 regressed, 0 failed, 4 improved, 0 unchanged, 2 skipped, 0 new

{EXPLAIN}

### Improved (4)

{HEAD}\
| `toy.Scaled.time_scaled` | n=1 | 3.00±0.04ms | 990±10μs | 0.33 |  |
| `toy.Scaled.time_scaled` | n=2 | 6.00±0.07ms | 1.98±0.02ms | 0.33 |  |
| `toy.Timing.time_work` |  | 3.00±0.04ms | 990±10μs | 0.33 |  |
| `toy.track_value` |  | 10 widgets | 5 widgets | 0.50 |  |

<details><summary>Skipped or not comparable (2)</summary>

{HEAD}\
| `toy.Flaky.time_maybe_broken` |  | 1.00±0.01ms | skipped | n/a | skipped on head |
| `toy.Flaky.time_maybe_skipped` |  | 1.00±0.01ms | skipped | n/a | skipped on head |

</details>
""",
    "broken": f"""\
## RoPE benchmarks: `3d174aa5` → `386f8473`

**FAIL**: 0 regressed, 1 failed, 0 improved, 5 unchanged, 0 skipped, 0 new

{EXPLAIN}

### Failed (1)

{HEAD}\
| `toy.Flaky.time_maybe_broken` |  | 1.00±0.01ms | failed | n/a | newly failing |

<details><summary>Unchanged (5)</summary>

{HEAD}\
| `toy.Flaky.time_maybe_skipped` |  | 1.00±0.01ms | 1.00±0.01ms | 1.00 |  |
| `toy.Scaled.time_scaled` | n=1 | 3.00±0.04ms | 3.00±0.04ms | 1.00 |  |
| `toy.Scaled.time_scaled` | n=2 | 6.00±0.07ms | 6.00±0.07ms | 1.00 |  |
| `toy.Timing.time_work` |  | 3.00±0.04ms | 3.00±0.04ms | 1.00 |  |
| `toy.track_value` |  | 10 widgets | 10 widgets | 1.00 |  |

</details>
""",
}


@pytest.mark.parametrize("head", sorted(PAGES))
def test_the_whole_page_for_recorded_results(recorded_results, head):
    """Bugs caught: any change to what a reader sees: the title's commits, the verdict and its counts, the
    explanation (with the factor), which sections lead and which fold, the row order, asv's units (ms, μs),
    the ± spreads, the ratios, the notes, the blank lines GitHub needs around a table and inside <details>."""
    results, h = recorded_results
    text = cmpmod.render_markdown(cmpmod.compare(results, h["base"], h[head], factor=1.5))
    assert text == PAGES[head]


# ---- pages of rows built in-process ------------------------------------------------------------------------


def row(benchmark, status, base=1.0, head=1.0, *, params="", env="e1", unit="s", ratio=None, note="",
        insignificant=False):
    return cmpmod.Row(benchmark=benchmark, params=params, env=env, status=status, base=base, head=head,
                      base_err=None, head_err=None, unit=unit, ratio=ratio, note=note, insignificant=insignificant)


def page(*rows, envs=("e1",), factor=1.1):
    cmp = cmpmod.Comparison(base="b" * 40, head="c" * 40, machine="box", envs=list(envs), factor=factor)
    cmp.rows = list(rows)
    return cmpmod.render_markdown(cmp)


def table_rows(text, title):
    """The first cells (benchmark names) of the table under the section titled `title`."""
    section = text.split(title, 1)[1].split("\n\n", 2)[1]
    return [ln.split(" | ")[0].removeprefix("| ") for ln in section.splitlines()[2:]]


def test_every_status_has_its_section_in_order_and_only_the_long_ones_fold():
    """Bugs caught: a section missing, out of order (what fails must lead), a failed or regressed table hidden
    in a fold, an unchanged one shown open, a wrong title or count, an empty section drawn."""
    text = page(row("n", "new", cmpmod.MISSING, 1.0), row("s", "skipped", 1.0, math.nan),
                row("u", "unchanged", ratio=1.0), row("u2", "unchanged", ratio=1.0), row("i", "improved", ratio=0.5),
                row("f", "failed", 1.0, None), row("r", "regressed", ratio=2.0))
    heads = [ln for ln in text.splitlines() if ln.startswith(("###", "<details>"))]
    assert heads == ["### Regressed (1)", "### Failed (1)", "### Improved (1)",
                     "<details><summary>Unchanged (2)</summary>",
                     "<details><summary>Skipped or not comparable (1)</summary>",
                     "<details><summary>New (1)</summary>"]
    assert text.count("</details>") == 3
    assert text.startswith("## RoPE benchmarks: `bbbbbbbb` → `cccccccc`\n\n**FAIL**: 1 regressed, 1 failed, "
                           "1 improved, 2 unchanged, 1 skipped, 1 new\n\nMachine `box`, env `e1`. ")
    assert text.endswith("| `n` |  | — | 1 s | n/a |  |\n\n</details>\n")
    assert "Regressed" not in page(row("u", "unchanged", ratio=1.0))


def test_regressions_lead_worst_first_improvements_best_first_the_rest_by_name():
    """Bug caught: the worst regression buried under small ones (or the best improvement, a fixed failure
    first, under small ones), or
    the folded sections in the order rows happened to come in rather than by benchmark then parameters."""
    text = page(row("r_small", "regressed", ratio=1.2), row("r_worst", "regressed", ratio=5.0),
                row("r_mid", "regressed", ratio=2.0),
                row("i_small", "improved", ratio=0.8), row("i_best", "improved", ratio=0.2),
                row("i_mid", "improved", ratio=0.5), row("i_fixed", "improved", None, 1.0),
                row("u_b", "unchanged", ratio=1.0, params="n=2"), row("u_b", "unchanged", ratio=1.0, params="n=1"),
                row("u_a", "unchanged", ratio=1.0, params="n=3"))
    assert table_rows(text, "### Regressed (3)") == ["`r_worst`", "`r_mid`", "`r_small`"]
    assert table_rows(text, "### Improved (4)") == ["`i_fixed`", "`i_best`", "`i_mid`", "`i_small`"]
    unchanged = text.split("Unchanged (3)")[1]
    assert [ln.split(" | ")[:2] for ln in unchanged.splitlines() if ln.startswith("| `")] == [
        ["| `u_a`", "n=3"], ["| `u_b`", "n=1"], ["| `u_b`", "n=2"]]


def test_the_env_is_named_only_when_there_are_several():
    """Bug caught: rows of two envs side by side with nothing to tell them apart, or a lone env repeated."""
    two = page(row("x", "unchanged", ratio=1.0, env="py3.10"), row("x", "unchanged", ratio=1.0, env="py3.11"),
               envs=("py3.10", "py3.11"))
    assert "Machine `box`, env `py3.10`, `py3.11`. " in two
    assert table_rows(two, "Unchanged (2)") == ["`x [py3.10]`", "`x [py3.11]`"]
    one = page(row("x", "unchanged", ratio=1.0, env="py3.10"), envs=("py3.10",))
    assert table_rows(one, "Unchanged (1)") == ["`x`"]


def test_the_factor_in_the_explanation_is_the_one_used():
    """Bug caught: the page says 'beyond 1.1' while --factor 1.05 decided the rows."""
    assert "the ratio head/base is beyond 1.05 and" in page(row("x", "unchanged", ratio=1.0), factor=1.05)
    assert "the ratio head/base is beyond 2 and" in page(row("x", "unchanged", ratio=1.0), factor=2.0)


def test_a_pipe_or_newline_in_a_cell_does_not_break_the_table():
    """Bug caught: a parameter value or a note with '|' or a newline splitting or ending the Markdown table."""
    text = page(row("x", "skipped", 1.0, math.nan, params="mode=a|b", note="first\nsecond"))
    assert "| `x` | mode=a\\|b | 1 s | skipped | n/a | first second |" in text.splitlines()


@pytest.mark.parametrize("value, unit, err, shown", [
    (cmpmod.MISSING, "seconds", None, "—"),
    (None, "seconds", None, "failed"),
    (math.nan, "seconds", 0.1, "skipped"),
    (0.0025, "seconds", None, "2.50ms"),
    (0.003, "seconds", 0.00004, "3.00±0.04ms"),
    (1.5e9, "bytes", 1e7, "1.5±0.01G"),
    (123.456, "GB/s", 0.5, "123.5±0.5 GB/s"),
    (123.456, "GB/s", None, "123.5 GB/s"),
    (7, "unit", 0.123, "7±0.12"),
    (12345678.0, None, None, "1.235e+07"),
])
def test_values_read_as_asv_shows_them(value, unit, err, shown):
    """Bugs caught: a missing side, a failure or a skip shown as a number (or the other way round); seconds
    and bytes not in asv's own units; another unit dropped, or asv's placeholder unit "unit" printed."""
    assert cmpmod.fmt_value(value, unit, err) == shown


@pytest.mark.parametrize("ratio, insignificant, shown", [
    (None, False, "n/a"), (1.234, False, "1.23"), (2.0, True, "~2.00"), (0.5, False, "0.50"),
])
def test_ratio_cell(ratio, insignificant, shown):
    """Bug caught: asv's '~' (beyond the factor but not significant) lost or put on significant rows."""
    assert cmpmod.fmt_ratio(row("x", "unchanged", ratio=ratio, insignificant=insignificant)) == shown
