"""Timer logic that runs anywhere: L2 rotation sizing, statistics, the CPU timer."""

import itertools
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ropebench import timing


def test_rotating_sets_make_reuse_distance_exceed_twice_l2():
    l2 = 60 << 20
    for set_bytes in (1 << 20, 7 << 20, 50 << 20, 200 << 20, 1600 << 20):
        sets, cold = timing.rotating_sets(set_bytes, l2)
        assert sets >= 2
        assert cold == ((sets - 1) * set_bytes >= timing.COLD_L2_FACTOR * l2)
        assert cold  # these sizes fit under the caps
    # A decode-sized set hits the cap and is reported as not cold.
    sets, cold = timing.rotating_sets(16 << 10, l2)
    assert sets == timing.MAX_SETS and not cold


def test_rotating_sets_respect_memory_cap():
    sets, _ = timing.rotating_sets(3 << 30, 60 << 20, max_bytes=8 << 30)
    assert sets == 2


def test_timing_quantiles():
    t = timing.Timing("graph", [float(x) for x in range(1, 101)])
    assert t.median_us == 50.5
    assert abs(t.p20_us - 20.8) < 1e-9 and abs(t.p80_us - 80.2) < 1e-9


def test_a_timing_without_samples_has_no_quantiles():
    """Bug caught: a timing whose samples the guard all dropped crashing the run (numpy raises on an
    empty percentile) instead of reading as no number (nan, a blank cell)."""
    t = timing.Timing("graph", [], dropped=100)
    assert math.isnan(t.median_us) and math.isnan(t.p20_us) and math.isnan(t.p80_us)


def _fake_wall_clock(monkeypatch):
    """The CPU timer's wall clock, moved only by the calls: call(s) makes a call that takes s seconds."""
    now = [0.0]

    def call(seconds):
        def run():
            now[0] += seconds
        return run

    monkeypatch.setitem(timing.CPU_CLOCKS, "wall", lambda: now[0])
    return call


def test_cpu_timer_times_each_call(monkeypatch):
    """Bug caught: the CPU timer dividing, summing or mixing up calls. A fake clock moves only inside the
    calls, by 2 ms for the first set and 4 ms for the second: the samples alternate 2000, 4000 µs."""
    call = _fake_wall_clock(monkeypatch)
    t = timing.time_cpu([call(0.002), call(0.004)], samples=10, max_seconds=5)
    assert t.samples_us == pytest.approx([2000.0, 4000.0] * 5)
    assert (t.method, t.sets, t.cold_l2) == ("cpu", 2, False)


def test_thread_clock_counts_work_not_waiting():
    def busy():
        t = time.thread_time()
        while time.thread_time() - t < 0.002:
            pass

    def wait():
        time.sleep(0.002)

    assert timing.time_cpu([busy], samples=5, clock="thread").median_us > 1500
    waited = timing.time_cpu([wait], samples=5, clock="thread")
    assert waited.method == "cpu-thread" and waited.median_us < 500  # asleep (as if preempted): not counted


@pytest.mark.parametrize("one_lap_us,calls", [(96.0, 2), (1.9 * 512, 512), (3.0, 8), (0.5, 1), (5000.0, 2),
                                              (0.1, 512), (0.01, 3), (0.01, 1)])
def test_laps_make_a_replay_span_the_minimum_within_the_call_cap(one_lap_us, calls):
    laps = timing.laps_for(one_lap_us, calls)
    assert laps >= 1 and laps * calls <= max(timing.MAX_GRAPH_CALLS, calls)
    if laps * one_lap_us >= timing.MIN_REPLAY_US:  # enough laps, and no more than needed
        assert laps == 1 or (laps - 1) * one_lap_us < timing.MIN_REPLAY_US
    else:  # short of the span only where the cap on calls per graph stops it
        assert laps == timing.MAX_GRAPH_CALLS // calls


def test_laps_without_a_usable_estimate_is_one_lap():
    assert timing.laps_for(0.0, 4) == 1 and timing.laps_for(float("nan"), 4) == 1


class FakeGPU:
    """Stands in for timing.CudaEvents: every call takes ``call_us`` of kernel time, a graph replay adds
    ``graph_start_us`` once, an eager batch adds ``host_us`` per call. The spans it returns are what CUDA
    events would read around those, in ms."""

    def __init__(self, call_us, graph_start_us=0.0, host_us=0.0):
        self.call_us, self.graph_start_us, self.host_us = call_us, graph_start_us, host_us
        self.captured = []  # laps of each captured graph

    def capture(self, calls, laps):
        self.captured.append(laps)
        return len(calls), laps

    def replay_ms(self, graph, samples, monitor):
        n, laps = graph
        return ([(self.graph_start_us + n * laps * self.call_us) / 1e3] * samples,
                [monitor.sm_clock_mhz() for _ in range(samples)])

    def eager_ms(self, calls, samples, monitor):
        return ([len(calls) * (self.call_us + self.host_us) / 1e3] * samples,
                [monitor.sm_clock_mhz() for _ in range(samples)])


class FakeMonitor:
    """SM clock readings in the order given; the GPU's maximum clock 2000 MHz; other processes as given."""

    def __init__(self, clocks, others=()):
        self.clocks, self.others = iter(clocks), list(others)

    def sm_clock_mhz(self):
        return next(self.clocks)

    def max_sm_clock_mhz(self):
        return 2000.0

    def other_processes(self):
        return self.others


def test_graph_time_is_per_call_across_all_laps():
    """Bug caught: graph time divided by the sets but not by the laps (or not at all): ~60x too slow.

    4 sets of a 2 µs kernel: one lap is 8 µs, so 63 laps (the first count >= 500 µs, 504 µs) are
    captured; a replay of 252 calls then reads 504 µs and each call is 2 µs."""
    gpu = FakeGPU(call_us=2.0)
    t = timing.time_graph([None] * 4, samples=7, gpu=gpu)
    assert gpu.captured == [1, 63]
    assert t.method == "graph" and t.sets == 4 and len(t.samples_us) == 7
    assert t.median_us == pytest.approx(2.0, rel=1e-12)


def test_graph_start_is_spread_over_the_replay():
    """Bug caught: one lap per replay (laps ignored), where a 3 µs graph start adds 1.5 µs to each of
    2 calls of 1 µs (2.5 µs a call). The one-lap probe reads 5 µs (3 + 2), so ceil(500 / 5) = 100 laps
    are captured: 200 calls, a replay of 203 µs, 1.015 µs a call."""
    gpu = FakeGPU(call_us=1.0, graph_start_us=3.0)
    t = timing.time_graph([None] * 2, samples=5, gpu=gpu)
    assert gpu.captured == [1, 100]
    assert t.median_us == pytest.approx(1.015)


def test_fidelity_entry_points_divide_by_calls_per_replay():
    """Bug caught: graph_for reporting the sets, not laps x sets, as the calls of one replay (fidelity's
    own timing path uses graph_for + replay_samples)."""
    gpu = FakeGPU(call_us=10.0)  # 3 sets x 10 µs = 30 µs a lap -> 17 laps (510 µs), 51 calls per replay
    graph, per_replay = timing.graph_for([None] * 3, gpu)
    assert per_replay == 51
    per_call, _ = timing.replay_samples(graph, per_replay, samples=3, gpu=gpu)
    assert per_call == pytest.approx([10.0] * 3)


def test_eager_time_is_per_call():
    """Bug caught: eager time not divided by R (the batch of R calls reported as one call's time).

    R = 6 calls of 2 µs kernel + 3 µs host overhead each: a batch spans 30 µs, 5 µs per call."""
    t = timing.time_eager([None] * 6, samples=4, gpu=FakeGPU(call_us=2.0, host_us=3.0))
    assert t.method == "eager" and t.sets == 6
    assert t.median_us == pytest.approx(5.0)


def test_copy_bandwidth_counts_read_and_write():
    """Bug caught: copy bandwidth counting only the bytes read (half the true figure), or inverted.

    Copying 1 GB in 0.5 s reads 1 GB and writes 1 GB: 2 GB / 0.5 s = 4 GB/s."""
    assert timing.copy_gbps(10**9, 0.5) == pytest.approx(4.0, rel=1e-12)
    assert timing.copy_gbps(3 * 10**9, 2.0) == pytest.approx(3.0, rel=1e-12)  # 6 GB in 2 s


def test_cpu_copy_probe_uses_read_plus_write(monkeypatch):
    """Bug caught: the CPU branch of the probe counting only one direction. Its copy is made to take
    exactly 1 ms (a fake clock); the buffer is COPY_BYTES/16 bytes, moved twice."""
    ticks = itertools.count()
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks) * 1e-3)
    monkeypatch.setattr(timing, "_copy_gbps", {})
    gbps = timing.copy_bandwidth_gbps("cpu", nbytes=16 * 10**6)
    # 1e6 bytes read + 1e6 written in 1 ms = 2 GB/s
    assert gbps == pytest.approx(2.0)


@pytest.mark.parametrize("set_mib,expected", [(16, 9), (50, 4), (100, 3), (200, 2)])
def test_rotating_sets_by_hand(set_mib, expected):
    """Bug caught: R sized from the wrong side of the L2 (too few sets: warm inputs). With a 60 MiB L2,
    2 x L2 = 120 MiB must lie between two uses of one set: (R-1) x set >= 120 MiB, the least such R
    (16 MiB: 8 sets of others = 128 MiB, so R = 9; 50 MiB: 3 x 50 = 150, R = 4; 100: R = 3; 200: R = 2)."""
    sets, cold = timing.rotating_sets(set_mib << 20, 60 << 20)
    assert (sets, cold) == (expected, True)


@pytest.mark.parametrize("timer", ["graph", "eager"])
def test_the_guard_sees_every_samples_clock(timer):
    """Bugs caught: the GPU timers not passing the clocks, the monitor or the cold flag on to the guard
    and the Timing. 10 samples; the last 2 read at 900 MHz, below 75% of 2000 (1500): dropped, 8 kept,
    median clock 1980. A second process on the GPU is flagged."""
    clocks = [1980.0] * 8 + [900.0] * 2
    if timer == "graph":  # the graph's probe replays read no clock: only the timed ones do
        t = timing.time_graph([None] * 2, samples=10, monitor=FakeMonitor(clocks, [4242]), cold=False,
                              gpu=FakeGPU(call_us=4.0))
    else:
        t = timing.time_eager([None] * 2, samples=10, monitor=FakeMonitor(clocks, [4242]), cold=False,
                              gpu=FakeGPU(call_us=4.0))
    assert (t.method, len(t.samples_us), t.dropped, t.clock_mhz, t.cold_l2, t.sets) == (timer, 8, 2, 1980.0,
                                                                                        False, 2)
    assert t.flags == ["shared GPU: other processes 4242"]


def test_a_lap_long_enough_is_captured_once():
    """Bug caught: the graph captured again (a second capture's time and memory) when one lap already
    spans MIN_REPLAY_US. 2 sets of 300 µs: one lap is 600 µs, so the one-lap graph is timed as it is."""
    gpu = FakeGPU(call_us=300.0)
    t = timing.time_graph([None] * 2, samples=3, gpu=gpu)
    assert gpu.captured == [1]
    assert t.median_us == pytest.approx(300.0, rel=1e-12)


def test_two_laps_are_captured_as_two_laps():
    """Bug caught: the one-lap graph kept while the division assumes two laps (every call reads half its
    time). 2 sets of 150 µs: one lap is 300 µs, two laps make 600 µs."""
    gpu = FakeGPU(call_us=150.0)
    t = timing.time_graph([None] * 2, samples=3, gpu=gpu)
    assert gpu.captured == [1, 2]
    assert t.median_us == pytest.approx(150.0, rel=1e-12)


@given(set_bytes=st.integers(1, 1 << 33), l2=st.integers(1, 1 << 28), max_sets=st.integers(2, 1024),
       max_bytes=st.integers(1, 1 << 34))
def test_rotation_is_the_fewest_cold_sets_unless_a_cap_stops_it(set_bytes, l2, max_sets, max_bytes):
    """Bugs caught: R sized with a margin or a shortfall, a cap ignored or applied with float division,
    the cold flag claimed where the caps cut R short. Cold means at least 2 x L2 of other sets between two
    uses of one set: R is the least such count; where a cap (sets, or their bytes) stops R first, R sits
    at that cap and cold is False. Never fewer than 2 sets."""
    sets, cold = timing.rotating_sets(set_bytes, l2, max_sets, max_bytes)
    assert isinstance(sets, int) and sets >= 2
    assert sets <= max_sets and (sets * set_bytes <= max_bytes or sets == 2)
    others = (sets - 1) * set_bytes
    assert cold == (others >= 2 * l2)
    if cold:
        assert sets == 2 or others - set_bytes < 2 * l2  # one set fewer would not be cold
    else:
        assert sets == max_sets or (sets + 1) * set_bytes > max_bytes  # one set more breaks a cap


def test_tiny_sets_rotate_until_twice_the_l2_lies_between():
    """Bug caught: the byte-sized edge of the sizing (sets of 1 byte) rounded as if sets were 2 bytes.
    A 100-byte L2 and 1-byte sets: 201 sets (200 bytes of others between two uses); with room for only
    10 bytes of sets, 10 sets, not cold."""
    assert timing.rotating_sets(1, 100) == (201, True)
    assert timing.rotating_sets(1, 100, max_bytes=10) == (10, False)
    assert timing.rotating_sets(3 << 30, 4 << 30, max_bytes=8 << 30) == (2, False)  # room for two sets


def test_cpu_timer_stops_once_its_time_box_is_spent(monkeypatch):
    """Bug caught: the CPU timer running past its time box (a slow point would take samples x its time).
    Each call takes 0.25 s of a fake clock; the default box of 2 s holds 8 calls: the 8th ends at 2.0 s
    exactly, and no call starts at or after the deadline."""
    now = [0.0]

    def slow():
        now[0] += 0.25

    monkeypatch.setitem(timing.CPU_CLOCKS, "wall", lambda: now[0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])
    t = timing.time_cpu([slow])
    assert len(t.samples_us) == 8 and t.samples_us == pytest.approx([250_000.0] * 8)


def test_cpu_timer_goes_round_the_sets_in_order(monkeypatch):
    """Bug caught: the CPU timer going round the sets backwards or skipping some: with 3 sets of 1, 2 and
    3 ms the samples read 1, 2, 3, 1, 2, 3 ms."""
    call = _fake_wall_clock(monkeypatch)
    t = timing.time_cpu([call(0.001), call(0.002), call(0.003)], samples=6, max_seconds=5)
    assert t.samples_us == pytest.approx([1000.0, 2000.0, 3000.0] * 2)
