"""The device side of the timers (timing.CudaEvents, capture_graph, l2_bytes, the copy-bandwidth probe)
on a fake torch.cuda, so that a CPU machine checks what the CUDA calls are asked to do: which work sits
between which events, when the host waits, what is divided by what.

The fake GPU is one stream with a clock in µs that advances only by the duration of the work queued on
it; events read that clock when recorded; ``log`` keeps, in order, what the host queued and where it
waited or read the SM clock. On a real GPU this code runs in tests/test_gpu.py (H200)."""

import contextlib
from types import SimpleNamespace

import pytest
import torch

from ropebench import timing


class Device:
    def __init__(self):
        self.now_us = 0.0
        self.log = []
        self.records = 0  # events recorded so far: an event's index is its place in that order
        self.capturing = None  # the graph being captured, if any: work then goes into it, not the stream
        self.allocated = []  # buffers handed out by torch.empty / empty_like

    def launch(self, name, us):
        if self.capturing is not None:
            self.capturing.nodes.append((name, us))
        else:
            self.log.append(name)
            self.now_us += us

    def kernel(self, name, us):
        """A call as the timers get it: launches one kernel of ``us`` µs."""
        return lambda: self.launch(name, us)

    @contextlib.contextmanager
    def capture(self, graph):
        if not isinstance(graph, Graph):
            raise TypeError(f"torch.cuda.graph needs a CUDAGraph, not {graph!r}")
        self.capturing = graph
        try:
            yield
        finally:
            self.capturing = None


class Event:
    def __init__(self, dev, enable_timing=False):
        self.dev, self.enable_timing, self.at, self.idx = dev, enable_timing, None, None

    def record(self):
        self.at, self.idx = self.dev.now_us, self.dev.records
        self.dev.records += 1
        self.dev.log.append(("record", self.idx))

    def synchronize(self):
        self.dev.log.append(("wait", self.idx))  # None: an event never recorded (CUDA returns at once)

    def elapsed_time(self, end):
        if self.enable_timing is not True or end.enable_timing is not True:
            raise RuntimeError("Both events must be created with enable_timing=True")
        if self.at is None or end.at is None:
            raise RuntimeError("event not recorded")
        return (end.at - self.at) / 1e3


class Graph:
    def __init__(self, dev):
        self.dev, self.nodes = dev, []

    def replay(self):
        self.dev.log.append("replay")
        self.dev.now_us += sum(us for _, us in self.nodes)


class VaryingGraph:
    """A captured graph whose k-th replay takes durations[k] µs."""

    def __init__(self, dev, durations):
        self.dev, self.durations = dev, iter(durations)

    def replay(self):
        self.dev.log.append("replay")
        self.dev.now_us += next(self.durations)


class Monitor:
    """SM clock readings 1, 2, 3, ... MHz, each logged where it is read."""

    def __init__(self, dev):
        self.dev, self.reads = dev, 0

    def sm_clock_mhz(self):
        self.dev.log.append("clock")
        self.reads += 1
        return float(self.reads)

    def max_sm_clock_mhz(self):
        return None

    def other_processes(self):
        return []


SPIN_MHZ = 2000.0  # the fake spin kernel runs its cycles at this clock


@pytest.fixture
def gpu(monkeypatch):
    dev = Device()
    monkeypatch.setattr(torch.cuda, "Event", lambda enable_timing=False: Event(dev, enable_timing))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: dev.log.append("sync"))
    monkeypatch.setattr(torch.cuda, "_sleep", lambda cycles: dev.launch(("spin", cycles), cycles / SPIN_MHZ))
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: Graph(dev))
    monkeypatch.setattr(torch.cuda, "graph", dev.capture)
    return dev


def test_each_replay_sample_spans_its_own_replay_alone(gpu):
    """Bugs caught: events around the wrong work (the spin kernel inside a sample, two replays or none),
    a sample skipped or timed twice, a replay's time given to another sample. Replay k takes 100 + k µs;
    the spin kernel before each batch takes 100 µs and must appear in no sample."""
    samples = 2 * timing.BATCH + 3
    graph = VaryingGraph(gpu, [100.0 + k for k in range(samples)])
    spans_ms, _ = timing.CudaEvents().replay_ms(graph, samples, Monitor(gpu))
    assert spans_ms == pytest.approx([(100.0 + k) / 1e3 for k in range(samples)], rel=1e-12)


def test_replays_go_in_batches_behind_a_spin_kernel_with_one_clock_reading_each(gpu):
    """Bugs caught: the spin kernel left out or given no cycles (host latency then leaks between replays),
    the SM clock read per sample or after the batch drained, the host waiting on the wrong event (an
    earlier one: the next batch is queued while this one still runs; a later one: it waits on nothing),
    batches overlapping or a short last batch dropped. 23 samples: batches of 10, 10 and 3, each queued
    behind a spin, its clock read once while it runs (every sample of the batch gets that reading), then
    the host waits on the batch's last end event."""
    samples = 2 * timing.BATCH + 3
    monitor = Monitor(gpu)
    _, clocks = timing.CudaEvents().replay_ms(VaryingGraph(gpu, [50.0] * samples), samples, monitor)

    expected, first = [], 0
    for size in (timing.BATCH, timing.BATCH, 3):
        expected.append(("spin", timing.SPIN_CYCLES))
        for i in range(first, first + size):
            expected += [("record", 2 * i), "replay", ("record", 2 * i + 1)]  # start, replay, end
        expected += ["clock", ("wait", 2 * (first + size - 1) + 1)]
        first += size
    assert gpu.log == expected
    assert clocks == [1.0] * timing.BATCH + [2.0] * timing.BATCH + [3.0] * 3


def test_eager_samples_span_one_batch_of_the_calls_after_a_sync(gpu):
    """Bugs caught: an eager sample that starts before the previous batch drained (no sync), spans only
    part of the batch or more than it, reads no clock, or is taken from unrecorded/untimed events.
    R = 3 calls of 2, 3 and 4 µs: every sample spans 9 µs, and each gets its own clock reading."""
    calls = [gpu.kernel("a", 2.0), gpu.kernel("b", 3.0), gpu.kernel("c", 4.0)]
    spans_ms, clocks = timing.CudaEvents().eager_ms(calls, 4, Monitor(gpu))
    assert spans_ms == pytest.approx([9.0 / 1e3] * 4, rel=1e-12)
    assert clocks == [1.0, 2.0, 3.0, 4.0]
    expected = []
    for s in range(4):
        expected += ["sync", ("record", 2 * s), "a", "b", "c", ("record", 2 * s + 1), ("wait", 2 * s + 1), "clock"]
    assert gpu.log == expected


def test_capture_puts_the_sets_in_order_laps_times_and_warms_the_graph_up(gpu):
    """Bugs caught: a graph holding the wrong number of laps (the per-call division then is off by that
    factor), calls out of order, or a graph handed back before its warm-up replays finished (the first
    timed replays would pay the graph's upload). Sets a (2 µs) and b (3 µs), 3 laps: a b a b a b;
    then 3 warm-up replays and a sync before it is returned."""
    graph = timing.CudaEvents().capture([gpu.kernel("a", 2.0), gpu.kernel("b", 3.0)], 3)
    assert [name for name, _ in graph.nodes] == ["a", "b"] * 3
    assert gpu.log == ["replay"] * 3 + ["sync"]
    assert gpu.now_us == pytest.approx(3 * 15.0)  # nothing ran during capture: only the 3 replays of 15 µs


def test_graph_timer_on_the_device_side_reports_kernel_time_per_call(gpu):
    """Bugs caught (end to end through CudaEvents): the spin kernel, the probe or the graph's laps
    leaking into the per-call time. 4 sets of a 2 µs kernel: the one-lap probe reads 8 µs, 63 laps are
    captured (504 µs a replay), and every call reads 2 µs; the default is cold L2."""
    calls = [gpu.kernel(f"set{i}", 2.0) for i in range(4)]
    t = timing.time_graph(calls, samples=12, monitor=Monitor(gpu))
    assert (t.method, t.sets, t.cold_l2, len(t.samples_us)) == ("graph", 4, True, 12)
    assert t.samples_us == pytest.approx([2.0] * 12, rel=1e-12)


def test_eager_timer_on_the_device_side_reports_time_per_call(gpu):
    """Bug caught (end to end through CudaEvents): the batch's time reported as one call's. 3 calls of
    3 µs: 3 µs a call; the default is cold L2."""
    t = timing.time_eager([gpu.kernel(f"set{i}", 3.0) for i in range(3)], samples=5)
    assert (t.method, t.sets, t.cold_l2) == ("eager", 3, True)
    assert t.samples_us == pytest.approx([3.0] * 5, rel=1e-12)


def test_l2_size_is_read_from_the_devices_properties(monkeypatch):
    """Bugs caught: the L2 size read from another device or another property (the rotation is then sized
    for the wrong cache); without the property (older torch) the fallback is the H100/H200's 50 MiB."""
    asked = []

    def props(device):
        asked.append(device)
        return SimpleNamespace(L2_cache_size=60 << 20, total_memory=80 << 30) if device == "cuda:1" \
            else SimpleNamespace(total_memory=80 << 30)

    monkeypatch.setattr(torch.cuda, "get_device_properties", props)
    assert timing.l2_bytes("cuda:1") == 60 << 20
    assert timing.l2_bytes("cuda:0") == 50 * 1024 * 1024
    assert asked == ["cuda:1", "cuda:0"]


RATE_GBPS = 3000.0  # the fake device's copy engine: bytes read + written per second, in GB/s


class Buffer:
    def __init__(self, dev, numel, dtype, device):
        if not isinstance(numel, int):  # as torch.empty: a size is an int
            raise TypeError(f"empty(): size must be an int, not {numel!r}")
        self.dev, self.n, self.dtype, self.device = dev, numel, dtype, device
        self.nbytes = numel * torch.tensor([], dtype=dtype).element_size()

    def numel(self):
        return self.n

    def copy_(self, src):
        if not isinstance(src, Buffer):
            raise TypeError(f"copy_ from {src!r}")
        self.dev.launch("copy", (src.nbytes + self.nbytes) / (RATE_GBPS * 1e3))  # bytes / (bytes per µs)


class CudaDevice:
    """torch.cuda.device stand-in: records which device the probe entered."""

    def __init__(self, dev, device):
        self.dev, self.device = dev, device

    def __enter__(self):
        self.dev.log.append(("device", self.device))

    def __exit__(self, *exc):
        return False


@pytest.fixture
def memory(gpu, monkeypatch):
    """Fake device memory: torch.empty / empty_like hand out Buffers; 4 MB free of 80 MB."""

    def empty(numel, dtype=None, device=None):
        buf = Buffer(gpu, numel, dtype, device)
        gpu.allocated.append(buf)
        return buf

    monkeypatch.setattr(torch, "empty", empty)
    monkeypatch.setattr(torch, "empty_like", lambda src: empty(src.n, src.dtype, src.device))
    monkeypatch.setattr(torch.cuda, "device", lambda device: CudaDevice(gpu, device))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (4_000_000, 80_000_000))
    monkeypatch.setattr(timing, "_copy_gbps", {})
    monkeypatch.setattr(timing.time, "perf_counter", lambda: gpu.now_us * 1e-6)
    return gpu


def test_cuda_copy_probe_reads_the_devices_copy_bandwidth(memory):
    """Bugs caught: the CUDA probe counting only the bytes read (half the bandwidth), converting ms
    wrongly, timing untimed events, or copying other than bytes (a float buffer is 4x the bytes it
    counts). The fake copy engine moves 3000 GB/s (read + written): the probe must report 3000. It runs
    on the device asked for, with byte buffers there."""
    gbps = timing.copy_bandwidth_gbps("cuda:1", nbytes=200_000, reps=7)
    assert gbps == pytest.approx(RATE_GBPS, rel=1e-9)
    assert memory.log[0] == ("device", "cuda:1")
    assert [(b.n, b.dtype, b.device) for b in memory.allocated] == [(200_000, torch.uint8, "cuda:1")] * 2
    assert memory.log.count("copy") == 1 + 7  # one untimed warm-up copy, then the timed ones
    assert memory.log[-1] == "sync" and memory.log[1:3] == ["copy", "sync"]  # timed copies after the warm-up


def test_cuda_copy_probe_fits_its_buffers_in_half_the_free_memory(memory):
    """Bug caught: the probe sizing its buffers from the total memory, or past the free memory (an OOM on
    a busy GPU). Asked for 1 TB with 4 MB free of 80 MB: source and destination 1 MB each, half of what
    is free; the bandwidth is still right."""
    gbps = timing.copy_bandwidth_gbps("cuda:0", nbytes=10**12)
    assert [b.nbytes for b in memory.allocated] == [1_000_000, 1_000_000]
    assert gbps == pytest.approx(RATE_GBPS, rel=1e-9)


def test_the_probe_runs_once_per_device_per_process(memory):
    """Bug caught: the probe's result not kept (each point would re-copy gigabytes), or kept as nothing."""
    first = timing.copy_bandwidth_gbps("cuda:0", nbytes=100_000, reps=3)
    copies = memory.log.count("copy")
    assert timing.copy_bandwidth_gbps("cuda:0", nbytes=100_000, reps=3) == first == pytest.approx(RATE_GBPS)
    assert memory.log.count("copy") == copies


def test_cpu_copy_probe_copies_bytes(memory):
    """Bug caught: the CPU probe's buffer not of bytes while its elements are counted as bytes (a float32
    buffer moves 4x the bytes in the time measured: a quarter of the bandwidth). The fake copy moves
    3000 GB/s; the CPU probe, on nbytes / 16 bytes, must report that."""
    gbps = timing.copy_bandwidth_gbps("cpu", nbytes=1_600_000)
    assert [(b.n, b.dtype) for b in memory.allocated] == [(100_000, torch.uint8)] * 2
    assert gbps == pytest.approx(RATE_GBPS, rel=1e-9)
