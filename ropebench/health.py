"""``ropebench health``: is this GPU fit to measure? Checked before a GPU job runs asv.

Built on the measurement guard's own NVML monitor (ropebench/guard.py), so the job, the guard and
``ropebench doctor`` read the GPU one way. A check fails on: another process on the GPU, a clock
slowdown for a hardware, thermal or power-brake reason, uncorrected ECC errors or pending row
remapping / page retirement, a critical XID delivered while it listens, or a temperature within
TEMP_MARGIN_C of the GPU's slowdown threshold. Idle, power-cap and application-clock reasons are
recorded but pass: they are how a healthy idle GPU reads.

The reading is written as JSON (``--out``) and, after the run, into the sidecar of every result
file (``--attach``), with the installed versions: never into asv's machine file, whose keys would
split every series. Exit 0: fit; 1: not fit, or no NVML (nothing could be checked) - do not measure.
"""

from __future__ import annotations

from pathlib import Path

from ropebench.asvtools import sidecar

# NVML's clock-event (throttle) reason bits, from nvml.h.
SLOWDOWNS = {0x8: "hardware slowdown", 0x20: "software thermal slowdown", 0x40: "hardware thermal slowdown",
             0x80: "hardware power brake"}
BENIGN = {0x1: "idle", 0x2: "application clocks", 0x4: "software power cap", 0x10: "sync boost",
          0x100: "display clocks"}
TEMPERATURE_GPU, THRESHOLD_SLOWDOWN = 0, 1  # nvmlTemperatureSensors_t, nvmlTemperatureThresholds_t
UNCORRECTED, VOLATILE = 1, 0  # nvmlMemoryErrorType_t, nvmlEccCounterType_t
TEMP_MARGIN_C = 5
TEMP_LIMIT_C = 85  # when the GPU does not report its slowdown threshold
XID_LISTEN_MS = 200


def _names(mask: int, table: dict) -> list[str]:
    return [name for bit, name in table.items() if mask & bit]


def check(monitor) -> dict:
    """The health reading of the monitor's GPU: {"ok", "problems", ...readings}."""
    if not getattr(monitor, "available", False):
        return {"ok": False, "nvml": False,
                "problems": ["no NVML on this machine (no NVIDIA driver or nvidia-ml-py): GPU health not checked"]}
    problems = []
    others = monitor.other_processes()
    if others:
        problems.append(f"other processes on the GPU: {', '.join(map(str, others))}")
    reasons = monitor.read("nvmlDeviceGetCurrentClocksEventReasons")
    if reasons is None:
        reasons = monitor.read("nvmlDeviceGetCurrentClocksThrottleReasons")  # name before driver 535
    if reasons is not None and _names(reasons, SLOWDOWNS):
        problems.append(f"clocks held down: {', '.join(_names(reasons, SLOWDOWNS))}")
    temp = monitor.read("nvmlDeviceGetTemperature", TEMPERATURE_GPU)
    slowdown = monitor.read("nvmlDeviceGetTemperatureThreshold", THRESHOLD_SLOWDOWN)
    limit = slowdown - TEMP_MARGIN_C if slowdown else TEMP_LIMIT_C
    if temp is not None and temp >= limit:
        problems.append(f"temperature {temp} C, at or above {limit} C")
    ecc = monitor.read("nvmlDeviceGetTotalEccErrors", UNCORRECTED, VOLATILE)
    if ecc:
        problems.append(f"{ecc} uncorrected ECC error(s) since the driver loaded")
    rows = monitor.read("nvmlDeviceGetRemappedRows")  # (correctable, uncorrectable, pending, failure)
    if rows is not None and (rows[2] or rows[3]):
        problems.append("row remapping " + ("failed" if rows[3] else "pending: reset the GPU"))
    if monitor.read("nvmlDeviceGetRetiredPagesPendingStatus"):
        problems.append("retired pages pending: reset the GPU")
    xids = monitor.xid_errors(XID_LISTEN_MS)
    if xids:
        problems.append(f"XID error(s) {', '.join(map(str, sorted(set(xids))))}")
    return {"ok": not problems, "nvml": True, "problems": problems, "other_processes": others,
            "clock_event_reasons": None if reasons is None else _names(reasons, {**SLOWDOWNS, **BENIGN}),
            "temperature_c": temp, "slowdown_c": slowdown, "ecc_uncorrected_volatile": ecc,
            "remapped_rows": None if rows is None else list(rows), "xid": xids,
            "sm_clock_mhz": monitor.sm_clock_mhz(), "max_sm_clock_mhz": monitor.max_sm_clock_mhz()}


def summary(reading: dict) -> str:
    if reading["ok"]:
        return (f"GPU health: ok ({reading.get('temperature_c')} C, SM {reading.get('sm_clock_mhz')}/"
                f"{reading.get('max_sm_clock_mhz')} MHz, no other process)")
    return "GPU health: not fit to measure: " + "; ".join(reading["problems"])


def attach(results_dir, reading: dict) -> int:
    """Put the reading and the installed versions into the sidecar of every result file."""
    n = 0
    for f in sorted(Path(results_dir).glob("*/*.json")):
        if f.name != "machine.json":
            sidecar.update(f, "health", reading)
            sidecar.update(f, "versions", sidecar.versions())
            n += 1
    return n
