"""Checks of a run's inputs made before any work starts, each failing with one line (exit 2).

Memory: each point's peak is estimated from the workload's byte model (what measure() allocates:
the correctness check's float64 reference, then the rotating input sets of the timer) and compared
with the device's free memory, so an impossible size is refused up front, not after an hour of grid.
"""

from __future__ import annotations

import os
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.workload import Workload

MAX_SAMPLES = 10_000  # beyond this a point's samples take minutes on any device; more says nothing new
HEADROOM = 0.9  # leave this fraction of the free memory for the allocator, torch and the rest


def qk_elements(w: Workload) -> int:
    return w.num_tokens * (w.num_heads + w.num_kv_heads) * w.head_size


def peak_bytes(w: Workload, timing_sets: int = 2) -> int:
    """Estimated peak memory of measure() on one point: the larger of the check and the timer.

    The check holds the inputs and their clones, the float64 reference of q and k, and the larger of
    the reference's second copy of one tensor and the comparison's float64 temporaries of its rotated part
    (about six). Measured on the CPU at 64 x 1024, 48 heads, bf16: 14.7 GB peak RSS, estimated 14.5 GB.
    """
    cache = w.max_position * w.rotary_dim * (8 + 4)  # float64 master + a copy in the backend's dtype
    largest = w.num_tokens * max(w.num_heads, w.num_kv_heads) * w.head_size  # elements of q or k
    transient = max(8 * largest, int(6 * 8 * largest * w.rotary_dim / w.head_size))
    check = 2 * w.set_bytes() + 8 * qk_elements(w) + transient
    timer = timing_sets * w.set_bytes()
    return max(check, timer) + cache


def free_bytes(device: str) -> int | None:
    """Free memory of the device (MemAvailable for the CPU), or None where it cannot be read."""
    if device == "cpu":
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    import torch

    with torch.cuda.device(device):
        return int(torch.cuda.mem_get_info()[0])


def timing_sets(w: Workload) -> int:
    if w.device == "cpu":
        return 2
    from ropebench import timing

    return timing.rotating_sets(w.set_bytes(), timing.l2_bytes(w.device))[0]


def check_memory(workloads: list[Workload], device: str, flags: str) -> None:
    """Refuse the run if its largest point cannot fit the device's free memory."""
    if not workloads:
        return
    free = free_bytes(device)
    if free is None:
        return
    biggest = max(workloads, key=lambda w: w.set_bytes())
    need = peak_bytes(biggest, timing_sets(biggest))
    if need > HEADROOM * free:
        raise RopeBenchError(
            f"{biggest.batch_size} x {biggest.seq_len}, {biggest.num_heads} heads needs about {_gb(need)} on "
            f"{device}, which has {_gb(free)} free; lower {flags}")


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n < 1e12 else f"{n / 1e12:.1f} TB"


def save_folder(text: str) -> Path:
    """--save-path: not empty, and not a file (a folder, or nothing yet)."""
    if not str(text).strip():
        raise RopeBenchError("--save-path is empty; give a folder, e.g. --save-path out/rope")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise RopeBenchError(f"--save-path {text} is a file; give a folder (each run writes a new sub-folder)")
    latest = path / "latest"
    if latest.exists() and not latest.is_symlink():
        raise RopeBenchError(f"{latest} is not a link to a run; move it away (each run links latest to itself)")
    for parent in path.parents:  # a file on the way (out/rope.csv/x) cannot hold a folder either
        if parent.exists() and not parent.is_dir():
            raise RopeBenchError(f"--save-path {text}: {parent} is a file, not a folder")
    return path


def unique(values: list, flag: str) -> list:
    dup = sorted({str(v) for v in values if values.count(v) > 1})
    if dup:
        raise RopeBenchError(f"{flag} names {', '.join(dup)} more than once")
    return values


def samples(requested: int, warn) -> int:
    """The sample count used: at least 1, at most MAX_SAMPLES (with a warning that says so)."""
    if requested < 1:
        raise RopeBenchError(f"--samples must be at least 1 (got {requested})")
    if requested > MAX_SAMPLES:
        warn(f"--samples {requested} is past the time box; using {MAX_SAMPLES}")
        return MAX_SAMPLES
    return requested
