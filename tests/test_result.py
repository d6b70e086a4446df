"""What a result says against the floor and against torch, on hand-computed cases.

The seed's headline point (16 x 512 tokens, 32 + 32 heads, rotary 32 of head 128, bf16) moves, at
the floor, the rotated part of q and k read and written once:
    2 (read + write) x 8192 tokens x 64 heads x 32 elements x 2 bytes = 67,108,864 bytes.
At a copy bandwidth of 4000 GB/s (4e12 B/s) that takes 67,108,864 / 4e12 s = 16.777216 µs.
"""

import math

import pytest

from ropebench.measure import fill_speedups
from ropebench.result import Result, gbps, pct_of_floor
from ropebench.timing import Timing
from ropebench.workload import Workload

SEED = Workload(batch_size=16, seq_len=512, num_heads=32, head_size=128, rotary_dim=32, dtype="bfloat16")


def ok(backend, us, workload=SEED, copy_gbps=4000.0):
    return Result(backend, workload, "ok", kernel=Timing("graph", [us] * 3), copy_gbps=copy_gbps)


def test_floor_is_the_rotated_part_read_and_written():
    """Bug caught: the floor taken from whole heads (4x here: 128 of 128 vs 32 columns), or only read."""
    assert SEED.floor_bytes() == 67_108_864
    assert SEED.full_head_bytes() == 268_435_456  # 2 x 8192 x 64 x 128 x 2
    # GQA, full rotary, fp16: 2 x (4 x 8 tokens) x (8 + 2 heads) x 64 x 2 bytes = 81,920
    assert Workload(batch_size=4, seq_len=8, num_heads=8, num_kv_heads=2, head_size=64, rotary_dim=64,
                    dtype="float16").floor_bytes() == 81_920
    # float32 is 4 bytes: 2 x 1 token x 2 heads x 8 x 4 = 128
    assert Workload(batch_size=1, seq_len=1, num_heads=1, head_size=16, rotary_dim=8,
                    dtype="float32").floor_bytes() == 128


def test_floor_time_and_percent_by_hand():
    """Bugs caught: pct_of_floor inverted (measured/floor), floor time off by a unit factor, the
    effective bandwidth taken from full heads."""
    r = ok("vllm", 33.554432)  # twice the floor's 16.777216 µs
    assert r.floor_us == pytest.approx(16.777216)
    assert r.pct_of_floor == pytest.approx(50.0)
    assert r.gbps == pytest.approx(2000.0)  # 67,108,864 B in 33.554432 µs
    row = r.row()
    assert (row["floor_bytes"], row["floor_us"], row["pct_of_floor"], row["gbps"]) == (
        67_108_864, "16.777", "50.0", "2000.0")
    at_floor = ok("vllm", 16.777216)
    assert at_floor.pct_of_floor == pytest.approx(100.0)


def test_traffic_bandwidth_uses_the_backends_own_bytes():
    """Bug caught: traffic_gbps computed from the floor's bytes instead of what the backend moves."""
    r = ok("flashinfer", 100.0)
    r.traffic_bytes = SEED.full_head_bytes()  # 268,435,456 B in 100 µs = 2684.35456 GB/s
    assert r.traffic_gbps == pytest.approx(2684.35456)
    assert r.gbps == pytest.approx(671.08864)  # the floor's 67,108,864 B in 100 µs


def test_no_copy_bandwidth_or_no_time_gives_blanks():
    r = ok("torch", 10.0, copy_gbps=None)
    assert math.isnan(r.floor_us) and math.isnan(r.pct_of_floor) and r.row()["floor_us"] == ""
    skipped = Result("vllm", SEED, "skipped", reason="no GPU")
    assert math.isnan(skipped.gbps) and skipped.row()["pct_of_floor"] == ""


def test_speedup_vs_torch_is_torch_time_over_own_time():
    """Bug caught: the speed-up inverted (own/torch). Only non-torch rows can show it: torch's own row
    is 1 whichever way round. torch 40 µs, vllm 20 µs (2x faster), flashinfer 80 µs (2x slower)."""
    other = SEED.replace(batch_size=4)
    rows = [ok("torch", 40.0), ok("vllm", 20.0), ok("flashinfer", 80.0),
            Result("vllm", SEED.replace(dtype="float16"), "error", reason="boom"),
            ok("vllm", 5.0, workload=other)]  # no torch row on this workload
    fill_speedups(rows)
    assert [r.speedup_vs_torch for r in rows[:3]] == [pytest.approx(1.0), pytest.approx(2.0), pytest.approx(0.5)]
    assert rows[3].speedup_vs_torch is None and rows[4].speedup_vs_torch is None
    assert rows[1].row()["speedup_vs_torch"] == "2.000"


def test_speedup_pairs_by_workload_not_by_order():
    """Bug caught: speed-ups taken against another workload's torch time."""
    small = SEED.replace(seq_len=64)
    rows = [ok("torch", 40.0), ok("torch", 6.0, workload=small), ok("vllm", 3.0, workload=small),
            ok("vllm", 10.0)]
    fill_speedups(rows)
    assert rows[2].speedup_vs_torch == pytest.approx(2.0) and rows[3].speedup_vs_torch == pytest.approx(4.0)


def test_every_timing_cell_of_a_row_by_hand():
    """Bugs caught: a CSV cell taken from the wrong timing (eager's from the kernel's, p20 from p80), left
    blank, or formatted differently from the README's columns (rel L2 in e-notation, speed-up to 3 places).
    Samples 1..5 µs: median 3, p20 1.8, p80 4.2 (numpy's linear interpolation); eager 10 times those."""
    kernel = Timing("graph", [1.0, 2.0, 3.0, 4.0, 5.0], sets=3, cold_l2=False, dropped=1, clock_mhz=1980.4,
                    flags=["throttled"])
    eager = Timing("eager", [10.0, 20.0, 30.0, 40.0, 50.0])
    r = Result("vllm", SEED, "ok", correct=True, rel_l2=1.2345e-3, kernel=kernel, eager=eager, copy_gbps=4000.0,
               traffic_bytes=268_435_456, speedup_vs_torch=1.5)
    row = r.row()
    assert {c: row[c] for c in ("correct", "rel_l2_error", "method", "median_us", "p20_us", "p80_us", "samples",
                                "eager_median_us", "eager_p20_us", "eager_p80_us", "speedup_vs_torch",
                                "traffic_bytes", "traffic_gbps", "copy_gbps", "rotating_sets", "cold_l2",
                                "sm_clock_mhz", "dropped_samples")} == {
        "correct": True, "rel_l2_error": "1.234e-03", "method": "graph", "median_us": "3.000", "p20_us": "1.800",
        "p80_us": "4.200", "samples": 5, "eager_median_us": "30.000", "eager_p20_us": "18.000",
        "eager_p80_us": "42.000", "speedup_vs_torch": "1.500", "traffic_bytes": 268_435_456,
        "traffic_gbps": "89478.5", "copy_gbps": "4000.0", "rotating_sets": 3, "cold_l2": False,
        "sm_clock_mhz": "1980", "dropped_samples": 1}
    assert row["guard_flags"] == "throttled; L2 partly warm (rotation capped)"


def test_a_row_without_timings_is_blank_where_nothing_was_measured():
    """Bug caught: placeholders ("XX", 0, "False") written into cells of a point that was never timed."""
    row = Result("vllm", SEED, "skipped", reason="no GPU").row()
    assert [row[c] for c in ("correct", "rel_l2_error", "method", "median_us", "samples", "eager_median_us",
                             "speedup_vs_torch", "traffic_bytes", "traffic_gbps", "rotating_sets", "cold_l2",
                             "sm_clock_mhz", "dropped_samples", "guard_flags")] == [""] * 14
    assert Result("vllm", SEED, "incorrect", correct=False).row()["correct"] is False


def test_a_zero_or_missing_time_gives_no_bandwidth_and_no_percent():
    """Bug caught: a time of 0 (a coarse clock's median) or nan treated as usable: division by zero, or a
    bandwidth printed for a point that has no time."""
    for t in (0.0, math.nan, None):
        assert math.isnan(gbps(1000, t)) and math.isnan(pct_of_floor(10.0, t))
    assert gbps(1000, 2.0) == 0.5 and pct_of_floor(1.0, 4.0) == 25.0
