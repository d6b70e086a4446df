"""Timer logic that runs anywhere: L2 rotation sizing, statistics, the CPU timer."""

import time

import pytest

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


def test_cpu_timer_times_each_call():
    calls = [lambda: time.sleep(0.002)] * 2
    t = timing.time_cpu(calls, samples=10, max_seconds=5)
    assert len(t.samples_us) == 10
    assert 1900 < t.median_us < 20000


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
                                              (0.1, 512)])
def test_laps_make_a_replay_span_the_minimum_within_the_call_cap(one_lap_us, calls):
    laps = timing.laps_for(one_lap_us, calls)
    assert laps >= 1 and laps * calls <= max(timing.MAX_GRAPH_CALLS, calls)
    if laps * one_lap_us >= timing.MIN_REPLAY_US:  # enough laps, and no more than needed
        assert laps == 1 or (laps - 1) * one_lap_us < timing.MIN_REPLAY_US
    else:  # short of the span only where the cap on calls per graph stops it
        assert laps == timing.MAX_GRAPH_CALLS // calls


def test_laps_without_a_usable_estimate_is_one_lap():
    assert timing.laps_for(0.0, 4) == 1 and timing.laps_for(float("nan"), 4) == 1
