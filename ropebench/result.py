"""One measured point: workload, backend, correctness, timings and what they mean against the floor."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ropebench.timing import Timing
from ropebench.workload import Workload

# CSV columns, documented in the README ("Reading the output").
CSV_COLUMNS = [
    "backend", "batch_size", "seq_len", "num_heads", "num_kv_heads", "head_size", "rotary_dim", "style",
    "dtype", "device", "status", "reason", "correct", "rel_l2_error",
    "method", "median_us", "p20_us", "p80_us", "samples",
    "eager_median_us", "eager_p20_us", "eager_p80_us",
    "speedup_vs_torch", "floor_us", "floor_bytes", "gbps", "pct_of_floor",
    "traffic_bytes", "traffic_gbps", "copy_gbps", "rotating_sets", "cold_l2",
    "sm_clock_mhz", "dropped_samples", "guard_flags",
]


@dataclass
class Result:
    backend: str
    workload: Workload
    status: str  # "ok" | "skipped" | "incorrect" | "error"
    reason: str = ""
    correct: bool | None = None
    rel_l2: float | None = None
    kernel: Timing | None = None  # graph replay on GPU, wall clock on CPU
    eager: Timing | None = None  # host-inclusive, GPU only
    copy_gbps: float | None = None
    traffic_bytes: int | None = None
    speedup_vs_torch: float | None = None

    @property
    def median_us(self) -> float:
        return self.kernel.median_us if self.kernel else math.nan

    @property
    def floor_us(self) -> float:
        return floor_us(self.workload.floor_bytes(), self.copy_gbps)

    @property
    def gbps(self) -> float:
        """Effective bandwidth: the floor's bytes over the measured time."""
        return gbps(self.workload.floor_bytes(), self.median_us)

    @property
    def pct_of_floor(self) -> float:
        """Floor time as a percentage of measured time: 100% means at the copy-bandwidth floor."""
        return pct_of_floor(self.floor_us, self.median_us)

    @property
    def traffic_gbps(self) -> float:
        return gbps(self.traffic_bytes, self.median_us) if self.traffic_bytes else math.nan

    @property
    def guard_flags(self) -> list[str]:
        """Why the guard does not trust this measurement (throttled, shared GPU); empty if trusted."""
        out = []
        for t in (self.kernel, self.eager):
            if t:
                out += [f for f in t.flags if f not in out]
        return out

    @property
    def flags(self) -> list[str]:
        """Guard flags plus notes on how the number was taken."""
        notes = []
        if self.kernel and not self.kernel.cold_l2 and not self.kernel.method.startswith("cpu"):
            notes.append("L2 partly warm (rotation capped)")
        return self.guard_flags + notes

    def row(self) -> dict:
        w = self.workload
        k, e = self.kernel, self.eager
        return {
            "backend": self.backend, "batch_size": w.batch_size, "seq_len": w.seq_len,
            "num_heads": w.num_heads, "num_kv_heads": w.num_kv_heads, "head_size": w.head_size,
            "rotary_dim": w.rotary_dim, "style": w.style, "dtype": w.dtype, "device": w.device,
            "status": self.status, "reason": self.reason,
            "correct": "" if self.correct is None else self.correct,
            "rel_l2_error": _fmt(self.rel_l2, ".3e"),
            "method": k.method if k else "", "median_us": _fmt(k and k.median_us),
            "p20_us": _fmt(k and k.p20_us), "p80_us": _fmt(k and k.p80_us),
            "samples": len(k.samples_us) if k else "",
            "eager_median_us": _fmt(e and e.median_us), "eager_p20_us": _fmt(e and e.p20_us),
            "eager_p80_us": _fmt(e and e.p80_us),
            "speedup_vs_torch": _fmt(self.speedup_vs_torch),
            "floor_us": _fmt(self.floor_us), "floor_bytes": w.floor_bytes(), "gbps": _fmt(self.gbps, ".1f"),
            "pct_of_floor": _fmt(self.pct_of_floor, ".1f"),
            "traffic_bytes": self.traffic_bytes or "", "traffic_gbps": _fmt(self.traffic_gbps, ".1f"),
            "copy_gbps": _fmt(self.copy_gbps, ".1f"), "rotating_sets": k.sets if k else "",
            "cold_l2": k.cold_l2 if k else "", "sm_clock_mhz": _fmt(k and k.clock_mhz, ".0f"),
            "dropped_samples": k.dropped if k else "", "guard_flags": "; ".join(self.flags),
        }


def _usable(t) -> bool:
    return bool(t) and not math.isnan(t)


def floor_us(floor_bytes: int, copy_gbps: float | None) -> float:
    """µs to move floor_bytes at the copy bandwidth (GB/s = 1e3 bytes per µs)."""
    return floor_bytes / (copy_gbps * 1e3) if copy_gbps else math.nan


def gbps(nbytes: int, t_us: float) -> float:
    """GB/s of nbytes moved in t_us."""
    return nbytes / (t_us * 1e3) if _usable(t_us) else math.nan


def pct_of_floor(floor_time_us: float, t_us: float) -> float:
    """The floor's time as a percentage of the measured time (100 = at the floor, less = slower)."""
    return 100.0 * floor_time_us / t_us if _usable(t_us) else math.nan


def speedup(base_us: float, t_us: float) -> float | None:
    """How many times faster than the base (torch) a time is; None without both times."""
    return base_us / t_us if base_us and _usable(t_us) else None


def _fmt(x, spec: str = ".3f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return format(x, spec)
