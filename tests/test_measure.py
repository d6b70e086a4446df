"""measure(): the gate comes before the timer, and the rotating sets really are separate inputs."""

import torch

from ropebench import measure as measure_mod
from ropebench.backends.torch_native import TorchBackend
from ropebench.workload import Workload

W = Workload(batch_size=2, seq_len=8, num_heads=4, num_kv_heads=2, head_size=64, rotary_dim=32,
             dtype="float32")


class Wrong(TorchBackend):
    name = "wrong"

    def apply(self, positions, query, key, head_size, cache, is_neox):
        super().apply(positions, query, key, head_size, cache, not is_neox)


def _no_timer(*args, **kwargs):
    raise AssertionError("a backend that failed the gate was timed")


def test_a_backend_that_fails_the_gate_is_not_timed(monkeypatch):
    """Bug caught: the correctness gate bypassed (or its verdict ignored) in measure(): a wrong kernel
    would be timed and reported "ok"."""
    monkeypatch.setattr(measure_mod.timing, "time_cpu", _no_timer)
    monkeypatch.setattr(measure_mod.timing, "copy_bandwidth_gbps", _no_timer)
    r = measure_mod.measure(W, Wrong(), samples=3)
    assert (r.status, r.correct, r.kernel) == ("incorrect", False, None)
    assert "rel L2" in r.reason and r.row()["median_us"] == ""


def test_a_right_backend_is_checked_then_timed():
    """Bug caught: the gate's result not recorded on a passing row (correct left empty)."""
    r = measure_mod.measure(W, TorchBackend(), samples=3, cpu_seconds=0.5)
    assert r.status == "ok" and r.correct is True and 0 < r.rel_l2 < 1e-5
    assert r.kernel.method == "cpu" and len(r.kernel.samples_us) >= 3


class Recording(TorchBackend):
    def __init__(self):
        self.seen = []

    def prepare(self, workload, inputs):
        self.seen.append(inputs)
        return super().prepare(workload, inputs)


def test_rotating_sets_are_distinct_copies():
    """Bug caught: the R calls sharing one input set (the L2 stays warm and the time is too good)."""
    backend = Recording()
    calls = measure_mod.make_calls(backend, W, 3)
    assert len(calls) == 3 and len(backend.seen) == 3
    for name in ("query", "key", "positions"):
        tensors = [getattr(inp, name) for inp in backend.seen]
        assert len({t.data_ptr() for t in tensors}) == 3, name
        assert all(torch.equal(tensors[0], t) for t in tensors[1:])


def test_skips_are_decided_without_running_and_only_cuda_errors_are_sticky():
    """Bugs caught: a CPU point sent to a GPU-only backend instead of skipped; a run stopped by an error
    that is not a CUDA fault (or kept going after one, in a context that can no longer run anything)."""
    from ropebench.backends import get_backend
    from ropebench.result import Result

    assert get_backend("flashinfer").unsupported(W.replace(dtype="bfloat16")) == "flashinfer runs on cuda only"
    assert get_backend("torch").unsupported(W) is None
    fault = "RuntimeError: CUDA error: an illegal memory access was encountered"
    assert measure_mod.cuda_fault(Result("vllm", W, "error", reason=fault))
    assert not measure_mod.cuda_fault(Result("vllm", W, "error", reason="OutOfMemoryError: no room"))
    assert not measure_mod.cuda_fault(Result("vllm", W, "incorrect", reason=fault))


def test_a_skipped_point_says_which_backend_workload_and_why():
    """Bug caught: the skip's row losing its backend, workload, status or reason (a blank or wrong row in
    the CSV and in asv), or a name not resolved to its backend."""
    from ropebench.result import Result

    bf16 = W.replace(dtype="bfloat16")
    r = measure_mod.measure(bf16, "flashinfer")
    assert r == Result("flashinfer", bf16, "skipped", reason="flashinfer runs on cuda only")


class FullHead(TorchBackend):
    name = "fullhead"
    traffic = "full_head"


def test_a_timed_point_carries_its_backend_traffic_and_copy_bandwidth(monkeypatch):
    """Bugs caught: the row's backend name, its own traffic bytes (FlashInfer moves whole heads) or the copy
    bandwidth (the floor's denominator) not recorded. The copy probe is faked: 1234.5 GB/s."""
    monkeypatch.setattr(measure_mod.timing, "copy_bandwidth_gbps", lambda device: 1234.5)
    r = measure_mod.measure(W, FullHead(), samples=3, cpu_seconds=0.2)
    assert (r.backend, r.status, r.copy_gbps) == ("fullhead", "ok", 1234.5)
    assert r.traffic_bytes == W.full_head_bytes() != W.floor_bytes()
    by_name = measure_mod.measure(W, "torch", samples=3, cpu_seconds=0.2)
    assert (by_name.backend, by_name.status, by_name.traffic_bytes) == ("torch", "ok", W.floor_bytes())


class _Device:
    """torch.cuda.device stand-in: records which device the GPU branch entered."""

    entered = []

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        _Device.entered.append(self.device)

    def __exit__(self, *exc):
        return False


def test_the_gpu_branch_times_the_rotating_sets_it_sized(monkeypatch):
    """Bugs caught in measure()'s GPU branch, which CPU tests otherwise never reach: R sized from another
    number than the set's bytes and the device's L2, calls made for another backend/workload/R, no warm-up,
    time_graph or time_eager handed other calls, samples, monitor or cold flag, eager dropped by default.
    torch.cuda (device, synchronize), the L2 size, make_calls and both timers are fakes."""
    import torch

    from ropebench.timing import Timing

    w = W.replace(device="cuda:1")
    backend, monitor, seen, warm = TorchBackend(), object(), {}, []
    _Device.entered = []
    monkeypatch.setattr(torch.cuda, "device", _Device)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: seen.setdefault("synced_after", list(warm)))
    monkeypatch.setattr(measure_mod.timing, "copy_bandwidth_gbps", lambda device: 3000.0)
    monkeypatch.setattr(measure_mod.timing, "l2_bytes", lambda device: seen.setdefault("l2_device", device) and 8 << 20)
    monkeypatch.setattr(measure_mod.timing, "rotating_sets",
                        lambda set_bytes, l2: (seen.setdefault("rot", (set_bytes, l2)) and 3, False))

    def make_calls(b, wl, sets):
        seen["make_calls"] = (b, wl, sets)
        return [lambda i=i: warm.append(i) for i in range(sets)]

    def timer(method):
        def fake(calls, samples, mon, cold):
            seen[method] = (len(calls), samples, mon, cold)
            return Timing(method, [1.0])
        return fake

    monkeypatch.setattr(measure_mod, "make_calls", make_calls)
    monkeypatch.setattr(measure_mod.timing, "time_graph", timer("graph"))
    monkeypatch.setattr(measure_mod.timing, "time_eager", timer("eager"))
    r = measure_mod.measure(w, backend, samples=7, monitor=monitor, check=False)
    assert (r.status, r.reason, r.kernel.method, r.eager.method) == ("ok", "", "graph", "eager")
    assert _Device.entered == ["cuda:1"] and seen["l2_device"] == "cuda:1"
    assert seen["rot"] == (w.set_bytes(), 8 << 20) and seen["make_calls"] == (backend, w, 3)
    assert seen["synced_after"] == [0, 1, 2]  # every call warmed up once, then a sync, before timing
    assert seen["graph"] == seen["eager"] == (3, 7, monitor, False)
    assert measure_mod.measure(w, backend, samples=7, check=False, eager=False).eager is None


def test_a_ropebench_error_while_timing_is_the_points_error_row(monkeypatch):
    """Bug caught: a RopeBenchError (a one-line, user-facing error) turned into another status or losing
    its message."""
    from ropebench.errors import RopeBenchError

    def fail(device):
        raise RopeBenchError("device cuda:3 does not exist")

    monkeypatch.setattr(measure_mod.timing, "copy_bandwidth_gbps", fail)
    r = measure_mod.measure(W, TorchBackend(), samples=3)
    assert (r.status, r.reason) == ("error", "device cuda:3 does not exist")


def test_a_backend_error_without_a_message_is_its_type_alone(monkeypatch):
    """Bug caught: filler text in the reason of an exception that has no message."""
    def fail(device):
        raise MemoryError()

    monkeypatch.setattr(measure_mod.timing, "copy_bandwidth_gbps", fail)
    r = measure_mod.measure(W, TorchBackend(), samples=3)
    assert (r.status, r.reason) == ("error", "MemoryError: ")


def test_the_cpu_timer_gets_the_samples_time_box_and_clock_asked_for():
    """Bug caught: measure() not passing samples, cpu_seconds or cpu_clock on to the CPU timer (the asv
    server asks for the thread clock; `ropebench run --samples` for a count)."""
    r = measure_mod.measure(W, TorchBackend(), samples=3, cpu_clock="thread")
    assert (r.kernel.method, len(r.kernel.samples_us)) == ("cpu-thread", 3)
    boxed = measure_mod.measure(W, TorchBackend(), samples=50, cpu_seconds=0.0, check=False)
    assert len(boxed.kernel.samples_us) == 5  # a zero time box still takes time_cpu's minimum of 5


def test_the_timed_calls_get_the_cache_dtype_the_backend_asks_for():
    """Bug caught: the timed sets made with a cache in q's dtype whatever the backend asks (FlashInfer needs
    float32): the timed call would not be the checked one."""
    class F32Cache(Recording):
        def cache_dtype(self, workload):
            return torch.float32

    backend = F32Cache()
    measure_mod.make_calls(backend, W.replace(dtype="bfloat16"), 2)
    assert [inp.cos_sin_cache.dtype for inp in backend.seen] == [torch.float32] * 2
