"""Timers. Nothing but the kernel sits inside a timed region: no clone, no allocation, no sync.

GPU kernel time ("graph"): the R in-place calls, one per rotating input set, are captured in one
CUDA graph, going round the R sets as many laps as make a replay last at least MIN_REPLAY_US; each
sample is CUDA events around one replay, divided by its calls. The host's launch overhead is thereby
excluded, and the device-side cost of starting a graph (about 3 µs on the H200: docs/fidelity.md) is
spread over half a millisecond of kernels; the steps between nodes remain. A short spin kernel queued
before each batch of replays keeps the GPU busy while the host queues the events and graph launches,
so no host latency leaks in. The SM clock is read once per batch of replays, while the batch runs.

GPU host-inclusive latency ("eager"): events around R back-to-back eager calls after a sync,
divided by R: the per-call cost a caller without graphs sees, max(host dispatch, GPU time).

Cold L2, the same for every backend: R rotating input sets (positions, q, k), R chosen so that
between two uses of one set at least COLD_L2_FACTOR x L2 of other data is touched. The small cos/sin
cache stays shared and warm, as in a model. Where memory or graph size caps R, the result says
cold_l2=False.

CPU ("cpu"): wall clock (perf_counter) around single calls; "cpu-thread": the calling thread's CPU time,
single-threaded, which the asv server uses on CPU-only machines (preemption does not inflate it).

Anchors (triton's python/triton/testing.py, FlashInfer's flashinfer/testing/utils.py). The graph timer is
triton.testing's ``do_bench_cudagraph`` (many calls captured in one graph, events around a replay,
divided by the calls) made cold, and close to FlashInfer's ``bench_gpu_time_with_cudagraph(
cold_l2_cache=True)``, which also gets cold L2 from rotating input clones rather than a flush. It
differs on purpose in three ways:
- rotation depth: sets spanning 2x L2 between two uses of one set (FlashInfer clones 5x L2). Each
  set is touched once per lap, and 2x L2 of other traffic evicts it under LRU-like replacement while
  the graph stays small enough for the smallest shapes (MAX_SETS); do_bench_cudagraph does not flush.
- the clock guard: the SM clock is read per batch of replays and samples taken throttled are dropped
  or the result flagged (guard.py, after nvbench); neither anchor looks at clocks.
- the spin kernel: a short busy kernel queued before each batch keeps the GPU ahead of the host's
  queueing, as nvbench's blocking kernel does, so no host latency sits between replays' events.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field

from ropebench.guard import NullMonitor, apply_guard

# What a timed number means. asv keys every benchmark's history by its version and drops results whose
# version differs, so bump this only when the meaning of a measured number changes (what a sample
# spans, what the timed region holds, how cold L2 is): never for a refactor (it would orphan the
# history), and never derive it from a source hash. Every timing class in benchmarks/ uses it.
# "2": each graph replay spans >= MIN_REPLAY_US (laps over the rotating sets), spreading the graph start.
MEASUREMENT_VERSION = "2"
# The plain-asv comparison suite (tools/plain_asv): asv's own wall timer around one launch and a sync.
PLAIN_MEASUREMENT_VERSION = "1"

COLD_L2_FACTOR = 2.0
MAX_SETS = 512  # graph nodes grow with R; past this the tiniest shapes stay partly L2-warm
MAX_ROTATION_BYTES = 8 << 30
SAMPLES = 100
BATCH = 10  # graph samples queued between clock readings
MIN_REPLAY_US = 500.0  # one replay spans this much kernel time: graph start (~3 µs) is then <= 0.7% of it
MAX_GRAPH_CALLS = 4096  # calls per graph (its nodes, capture time and memory grow with them)
SPIN_CYCLES = 200_000  # ~100 us at H200 clocks: covers the host's queueing of one batch
COPY_BYTES = 2 << 30  # copy-bandwidth probe: 2 GiB read + 2 GiB written


@dataclass
class Timing:
    method: str  # "graph" | "eager" | "cpu" | "cpu-thread"
    samples_us: list[float]
    sets: int = 1
    cold_l2: bool = True
    dropped: int = 0
    clock_mhz: float | None = None
    flags: list[str] = field(default_factory=list)

    def quantile(self, q: float) -> float:
        import numpy as np  # here, not at the top: the asv suite imports this module for its version

        return float(np.percentile(self.samples_us, 100 * q)) if self.samples_us else math.nan

    @property
    def median_us(self) -> float:
        return self.quantile(0.5)

    @property
    def p20_us(self) -> float:
        return self.quantile(0.2)

    @property
    def p80_us(self) -> float:
        return self.quantile(0.8)


def rotating_sets(set_bytes: int, l2_bytes: int, max_sets: int = MAX_SETS,
                  max_bytes: int = MAX_ROTATION_BYTES) -> tuple[int, bool]:
    """(R, cold): how many input sets to rotate so each launch finds its data out of L2."""
    need = math.ceil(COLD_L2_FACTOR * l2_bytes / max(set_bytes, 1)) + 1
    cap = max(2, min(max_sets, max_bytes // max(set_bytes, 1)))
    sets = max(2, min(need, cap))
    return sets, (sets - 1) * set_bytes >= COLD_L2_FACTOR * l2_bytes


def l2_bytes(device) -> int:
    import torch

    props = torch.cuda.get_device_properties(device)
    return int(getattr(props, "L2_cache_size", 50 << 20))


def _guarded(method, per_call_us, clocks, monitor, sets, cold) -> Timing:
    report = apply_guard(per_call_us, clocks, monitor.max_sm_clock_mhz(), monitor.other_processes())
    return Timing(method=method, samples_us=report.kept, sets=sets, cold_l2=cold, dropped=report.dropped,
                  clock_mhz=report.median_clock_mhz, flags=report.flags)


def per_call_us(span_ms: float, calls: int) -> float:
    """µs per call from one event-timed span (ms) holding ``calls`` back-to-back calls."""
    return span_ms * 1e3 / calls


def copy_gbps(nbytes: int, seconds: float) -> float:
    """Bandwidth of copying nbytes in the given time, counting bytes read AND written (2 x nbytes)."""
    return 2 * nbytes / seconds / 1e9


def capture_graph(calls, laps: int):
    """One CUDA graph holding the R calls in order, ``laps`` times over; replayed as one unit. Going
    round the sets again keeps each set's reuse distance, so the inputs stay as cold as with one lap."""
    import torch

    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(laps):
            for call in calls:
                call()
    for _ in range(3):  # warm-up replays
        graph.replay()
    torch.cuda.synchronize()
    return graph


class CudaEvents:
    """The device side of the GPU timers: capture graphs, and event-timed spans (ms) of graph replays
    and of eager batches. Everything else (laps, division per call, guard) is plain arithmetic
    around it, which CPU tests run with a fake that has these three methods."""

    def capture(self, calls, laps: int):
        return capture_graph(calls, laps)

    def replay_ms(self, graph, samples: int, monitor) -> tuple[list, list]:
        """(ms per replay, SM clock per sample) from events around each replay."""
        import torch

        starts = [torch.cuda.Event(enable_timing=True) for _ in range(samples)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(samples)]
        clocks = []
        for lo in range(0, samples, BATCH):
            hi = min(lo + BATCH, samples)
            torch.cuda._sleep(SPIN_CYCLES)
            for i in range(lo, hi):
                starts[i].record()
                graph.replay()
                ends[i].record()
            # Read while the batch runs (the host queued it ahead of the GPU), not after it idles.
            clocks.extend([monitor.sm_clock_mhz()] * (hi - lo))
            ends[hi - 1].synchronize()
        return [s.elapsed_time(e) for s, e in zip(starts, ends)], clocks

    def eager_ms(self, calls, samples: int, monitor) -> tuple[list, list]:
        """(ms per batch of the R eager calls, SM clock per sample), each batch after a sync."""
        import torch

        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        spans, clocks = [], []
        for _ in range(samples):
            torch.cuda.synchronize()
            start.record()
            for call in calls:
                call()
            end.record()
            end.synchronize()
            spans.append(start.elapsed_time(end))
            clocks.append(monitor.sm_clock_mhz())
        return spans, clocks


CUDA_EVENTS = CudaEvents()


def laps_for(one_lap_us: float, calls: int) -> int:
    """Laps over the R calls so one replay spans >= MIN_REPLAY_US, within MAX_GRAPH_CALLS nodes."""
    if not one_lap_us > 0:
        return 1
    return max(1, min(math.ceil(MIN_REPLAY_US / one_lap_us), MAX_GRAPH_CALLS // max(calls, 1)))


def graph_for(calls, gpu=CUDA_EVENTS) -> tuple[object, int]:
    """(graph, calls per replay): one lap is captured and timed, then as many laps as MIN_REPLAY_US needs."""
    graph = gpu.capture(calls, 1)
    one_lap, _ = replay_samples(graph, 1, samples=5, gpu=gpu)  # "1 call per replay": µs per lap
    laps = laps_for(float(statistics.median(one_lap)), len(calls))
    if laps > 1:
        del graph
        graph = gpu.capture(calls, laps)
    return graph, laps * len(calls)


def replay_samples(graph, calls_per_replay: int, samples: int = SAMPLES, monitor=None,
                   gpu=CUDA_EVENTS) -> tuple[list, list]:
    """(per-call µs, SM clock per sample) from events around each replay."""
    spans, clocks = gpu.replay_ms(graph, samples, monitor or NullMonitor())
    return [per_call_us(ms, calls_per_replay) for ms in spans], clocks


def time_graph(calls, samples: int = SAMPLES, monitor=None, cold: bool = True, gpu=CUDA_EVENTS) -> Timing:
    """Kernel time per call from CUDA-graph replays (launch overhead excluded)."""
    monitor = monitor or NullMonitor()
    graph, per_replay = graph_for(calls, gpu)
    per_call, clocks = replay_samples(graph, per_replay, samples, monitor, gpu)
    del graph
    return _guarded("graph", per_call, clocks, monitor, len(calls), cold)


def time_eager(calls, samples: int = SAMPLES, monitor=None, cold: bool = True, gpu=CUDA_EVENTS) -> Timing:
    """Host-inclusive per-call latency of eager launches."""
    monitor = monitor or NullMonitor()
    spans, clocks = gpu.eager_ms(calls, samples, monitor)
    return _guarded("eager", [per_call_us(ms, len(calls)) for ms in spans], clocks, monitor, len(calls), cold)


CPU_CLOCKS = {
    "wall": time.perf_counter,
    # CPU time of the calling thread: what the kernel costs, not inflated when other processes preempt
    # it. Meaningful only single-threaded (torch and OpenMP at one thread), as the asv server runs on CPU.
    "thread": time.thread_time,
}


def time_cpu(calls, samples: int = SAMPLES, max_seconds: float = 2.0, min_samples: int = 5,
             clock: str = "wall") -> Timing:
    """Time per call on the CPU (wall clock, or the thread's CPU time), rotating over the calls; time-boxed."""
    now = CPU_CLOCKS[clock]
    per_call = []
    deadline = time.perf_counter() + max_seconds
    i = 0
    while len(per_call) < samples and (len(per_call) < min_samples or time.perf_counter() < deadline):
        call = calls[i % len(calls)]
        t0 = now()
        call()
        per_call.append((now() - t0) * 1e6)
        i += 1
    return Timing(method="cpu" if clock == "wall" else f"cpu-{clock}", samples_us=per_call, sets=len(calls),
                  cold_l2=False)


_copy_gbps: dict[str, float] = {}


def copy_bandwidth_gbps(device: str, nbytes: int = COPY_BYTES, reps: int = 20) -> float:
    """Device-to-device copy bandwidth (bytes read + written per second), once per process."""
    if device in _copy_gbps:
        return _copy_gbps[device]
    import torch

    if device == "cpu":
        src = torch.empty(nbytes // 8 // 2, dtype=torch.uint8)  # a modest buffer for CPU runs
        dst = torch.empty_like(src)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            dst.copy_(src)
            times.append(time.perf_counter() - t0)
        gbps = copy_gbps(src.numel(), float(statistics.median(times)))
    else:
        with torch.cuda.device(device):
            free = torch.cuda.mem_get_info()[0]
            n = min(nbytes, free // 4)
            src = torch.empty(n, dtype=torch.uint8, device=device)
            dst = torch.empty_like(src)
            dst.copy_(src)
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                      for _ in range(reps)]
            torch.cuda.synchronize()
            for s, e in events:
                s.record()
                dst.copy_(src)
                e.record()
            torch.cuda.synchronize()
            ms = float(statistics.median([s.elapsed_time(e) for s, e in events]))
            gbps = copy_gbps(n, ms * 1e-3)
            del src, dst
    _copy_gbps[device] = gbps
    return gbps
