"""The throttling / sharing guard, on recorded clock and process readings."""

from ropebench.guard import apply_guard

SAMPLES = [10.0 + 0.01 * i for i in range(100)]
MAX = 1980.0


def test_clean_run_keeps_every_sample():
    r = apply_guard(SAMPLES, [1980.0] * 100, MAX, [])
    assert r.kept == SAMPLES and r.dropped == 0 and r.trusted


def test_throttled_samples_are_dropped():
    clocks = [1980.0] * 90 + [1200.0] * 10  # 1200 < 75% of 1980
    slow = SAMPLES[:90] + [30.0] * 10
    r = apply_guard(slow, clocks, MAX, [])
    assert r.dropped == 10 and 30.0 not in r.kept and r.trusted


def test_mostly_throttled_run_is_marked_not_hidden():
    clocks = [900.0] * 80 + [1980.0] * 20
    r = apply_guard(SAMPLES, clocks, MAX, [])
    assert not r.trusted and "throttled" in r.flags[0]
    assert len(r.kept) == 100  # kept, but flagged


def test_contended_gpu_is_marked():
    r = apply_guard(SAMPLES, [1980.0] * 100, MAX, [4242])
    assert not r.trusted and "4242" in r.flags[0]


def test_unknown_clocks_drop_nothing():
    r = apply_guard(SAMPLES, [None] * 100, None, [])
    assert r.kept == SAMPLES and r.trusted


def test_guard_mode_is_parsed_once_with_one_default(monkeypatch):
    import pytest

    from ropebench.errors import RopeBenchError
    from ropebench.guard import NullMonitor, guard_mode, monitor_for

    monkeypatch.delenv("ROPEBENCH_GUARD", raising=False)
    assert guard_mode() == "strict"
    for text, mode in (("", "strict"), (" Mark ", "mark"), ("OFF", "off")):
        monkeypatch.setenv("ROPEBENCH_GUARD", text)
        assert guard_mode() == mode
    monkeypatch.setenv("ROPEBENCH_GUARD", "off")
    assert isinstance(monitor_for("cuda:0"), NullMonitor)
    monkeypatch.setenv("ROPEBENCH_GUARD", "lenient")
    with pytest.raises(RopeBenchError, match="choose strict, mark, off"):
        guard_mode()
