"""Measure one point: decide the skip, prove the backend right, then time it.

Used by ``ropebench run``, the asv suite and the fidelity report alike, so they all time the same
thing the same way.
"""

from __future__ import annotations

from ropebench import timing
from ropebench.backends import get_backend
from ropebench.correctness import check_backend
from ropebench.errors import RopeBenchError, is_cuda_fault
from ropebench.result import Result, speedup
from ropebench.workload import Workload


def make_calls(backend, workload: Workload, sets: int):
    """R in-place calls over R distinct input sets (set 0 random, the rest copies of it)."""
    first = workload.make_inputs(cache_dtype=backend.cache_dtype(workload))
    inputs = [first] + [first.clone() for _ in range(sets - 1)]
    return [backend.prepare(workload, inp) for inp in inputs]


def measure(workload: Workload, backend, *, samples: int = timing.SAMPLES, eager: bool = True,
            monitor=None, check: bool = True, cpu_seconds: float = 2.0, cpu_clock: str = "wall") -> Result:
    """Check then time one point. ``backend``: a registered name or a Backend instance."""
    if isinstance(backend, str):
        backend = get_backend(backend)
    backend_name = backend.name
    reason = backend.unsupported(workload)
    if reason:
        return Result(backend_name, workload, "skipped", reason=reason)
    result = Result(backend_name, workload, "ok", traffic_bytes=backend.traffic_bytes(workload))
    try:
        if check:
            c = check_backend(backend, workload)
            result.correct, result.rel_l2 = c.ok, c.rel_l2
            if not c.ok:
                result.status, result.reason = "incorrect", c.detail
                return result
        result.copy_gbps = timing.copy_bandwidth_gbps(workload.device)
        if workload.device == "cpu":
            calls = make_calls(backend, workload, 2)
            calls[0]()
            result.kernel = timing.time_cpu(calls, samples=samples, max_seconds=cpu_seconds, clock=cpu_clock)
            return result
        import torch

        with torch.cuda.device(workload.device):
            sets, cold = timing.rotating_sets(workload.set_bytes(), timing.l2_bytes(workload.device))
            calls = make_calls(backend, workload, sets)
            for call in calls:  # warm-up: lazy init, JIT, allocator
                call()
            torch.cuda.synchronize()
            result.kernel = timing.time_graph(calls, samples, monitor, cold)
            if eager:
                result.eager = timing.time_eager(calls, samples, monitor, cold)
            del calls
    except RopeBenchError as exc:
        result.status, result.reason = "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - a backend's failure (JIT compile, OOM, CUDA fault) is this
        # point's result, not the end of the run; the first line says what happened.
        first = (str(exc).strip().splitlines() or [""])[0]
        result.status, result.reason = "error", f"{type(exc).__name__}: {first}"
    return result


def cuda_fault(result: Result) -> bool:
    """A CUDA error is sticky: nothing more can run in this process's context."""
    return result.status == "error" and is_cuda_fault(result.reason)


def fill_speedups(results: list[Result]) -> None:
    """Speed-up of each result over the torch backend on the same workload."""
    torch_time = {r.workload: r.median_us for r in results if r.backend == "torch" and r.status == "ok"}
    for r in results:
        if r.status == "ok":
            r.speedup_vs_torch = speedup(torch_time.get(r.workload), r.median_us)
