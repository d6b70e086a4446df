"""Guard against throttled or shared GPUs, after nvbench's practice.

Each timing sample records the SM clock (NVML) and, once per measurement, whether other processes
use the GPU. Samples taken below THROTTLE_FRACTION of the maximum SM clock are dropped; a
measurement beside another process is marked (it cannot be repaired by dropping samples).
The readings come from a monitor object, so the logic is tested with recorded readings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

THROTTLE_FRACTION = 0.75  # nvbench's --throttle-threshold default
MIN_KEPT_FRACTION = 0.5  # fewer kept samples than this: the result is marked throttled


@dataclass
class GuardReport:
    kept: list[float]
    dropped: int = 0
    max_clock_mhz: float | None = None
    median_clock_mhz: float | None = None
    other_processes: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def trusted(self) -> bool:
        return not self.flags


def apply_guard(samples, clocks_mhz, max_clock_mhz, other_processes=(),
                threshold: float = THROTTLE_FRACTION) -> GuardReport:
    """Drop samples taken below threshold * max clock; flag throttling and contention.

    clocks_mhz: one reading per sample (None where it could not be read); max_clock_mhz: None
    when unknown, in which case no sample is dropped.
    """
    samples = list(samples)
    others = sorted(set(other_processes))
    known = [c for c in clocks_mhz if c is not None]
    report = GuardReport(kept=samples, max_clock_mhz=max_clock_mhz, other_processes=others)
    if known:
        known_sorted = sorted(known)
        report.median_clock_mhz = known_sorted[len(known_sorted) // 2]
    if max_clock_mhz and known:
        limit = threshold * max_clock_mhz
        kept = [s for s, c in zip(samples, clocks_mhz) if c is None or c >= limit]
        report.dropped = len(samples) - len(kept)
        if len(kept) < MIN_KEPT_FRACTION * len(samples):
            # Too few good samples: keep them all and say the result is throttled.
            report.flags.append(f"throttled: {report.dropped}/{len(samples)} samples below "
                                f"{threshold:.0%} of {max_clock_mhz:.0f} MHz")
        else:
            report.kept = kept
    if others:
        report.flags.append(f"shared GPU: other processes {', '.join(map(str, others))}")
    return report


class NullMonitor:
    """No NVML: nothing is read, nothing is dropped."""

    available = False

    def sm_clock_mhz(self):
        return None

    def max_sm_clock_mhz(self):
        return None

    def other_processes(self):
        return []

    def describe(self) -> str:
        return "no NVML: clocks and GPU sharing not checked"

    def read(self, query: str, *args):
        return None

    def xid_errors(self, wait_ms: int = 0):
        return None


class NvmlMonitor:
    """Reads one GPU through NVML (nvidia-ml-py). Errors read as 'unknown', never fail a run."""

    available = True

    def __init__(self, cuda_index: int = 0):
        import pynvml

        self._nvml = pynvml
        pynvml.nvmlInit()
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index(cuda_index))
        self._own_pid = os.getpid()

    def sm_clock_mhz(self):
        try:
            return float(self._nvml.nvmlDeviceGetClockInfo(self._handle, self._nvml.NVML_CLOCK_SM))
        except Exception:  # noqa: BLE001 - a missing reading is not an error
            return None

    def max_sm_clock_mhz(self):
        try:
            return float(self._nvml.nvmlDeviceGetMaxClockInfo(self._handle, self._nvml.NVML_CLOCK_SM))
        except Exception:  # noqa: BLE001
            return None

    def other_processes(self):
        pids = set()
        for query in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                for proc in getattr(self._nvml, query)(self._handle):
                    pids.add(int(proc.pid))
            except Exception:  # noqa: BLE001
                continue
        # Inside containers NVML may report host pids; our own process is never "other".
        pids.discard(self._own_pid)
        return sorted(pids)

    def describe(self) -> str:
        return f"NVML: max SM clock {self.max_sm_clock_mhz()} MHz"

    def read(self, query: str, *args):
        """One NVML device query by name, e.g. read("nvmlDeviceGetTemperature", 0); None where unsupported."""
        try:
            return getattr(self._nvml, query)(self._handle, *args)
        except Exception:  # noqa: BLE001 - older drivers and GPUs lack some queries
            return None

    def xid_errors(self, wait_ms: int = 0):
        """Critical XIDs NVML delivers while we listen wait_ms (it keeps no history); None: unsupported."""
        nvml = self._nvml
        try:
            events = nvml.nvmlEventSetCreate()
            nvml.nvmlDeviceRegisterEvents(self._handle, nvml.nvmlEventTypeXidCriticalError, events)
        except Exception:  # noqa: BLE001
            return None
        xids = []
        try:
            while len(xids) < 100:
                xids.append(int(nvml.nvmlEventSetWait(events, wait_ms).eventData))
        except Exception:  # noqa: BLE001 - the wait timed out: no (more) events
            pass
        finally:
            nvml.nvmlEventSetFree(events)
        return xids


def nvml_index(cuda_index: int) -> int:
    """NVML numbers every GPU; CUDA only the visible ones. Map through CUDA_VISIBLE_DEVICES."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        entries = [v.strip() for v in visible.split(",") if v.strip()]
        if cuda_index < len(entries) and entries[cuda_index].isdigit():
            return int(entries[cuda_index])
    return cuda_index


GUARD_MODES = ("strict", "mark", "off")  # ROPEBENCH_GUARD; strict is the default


def guard_mode() -> str:
    """ROPEBENCH_GUARD, parsed once for everyone: strict (an untrusted measurement is a failure under
    asv), mark (recorded with a warning) or off (no NVML readings at all)."""
    mode = os.environ.get("ROPEBENCH_GUARD", "").strip().lower() or "strict"
    if mode not in GUARD_MODES:
        from ropebench.errors import RopeBenchError

        raise RopeBenchError(f"ROPEBENCH_GUARD={mode!r}: choose {', '.join(GUARD_MODES)}")
    return mode


def monitor_for(device: str):
    """An NVML monitor for a cuda device, or a NullMonitor (CPU, no NVML, ROPEBENCH_GUARD=off)."""
    if not device.startswith("cuda") or guard_mode() == "off":
        return NullMonitor()
    try:
        return NvmlMonitor(int(device.split(":")[1]) if ":" in device else 0)
    except Exception:  # noqa: BLE001 - no pynvml, no driver access: measure anyway, unguarded
        return NullMonitor()
