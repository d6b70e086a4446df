"""`ropebench health` on recorded NVML readings (CI has no GPU): what passes, what refuses, and the sidecar."""

from __future__ import annotations

import json
from types import SimpleNamespace

from ropebench import health
from ropebench.asvtools import sidecar
from ropebench.commands import health as health_command


class FakeNvml:
    """A GPU as NVML reads it; each query by the name the guard's monitor passes to read()."""

    available = True

    def __init__(self, others=(), reasons=0x1, temp=40, slowdown=90, ecc=0, rows=(0, 0, 0, 0), xids=()):
        self.others, self.xids = list(others), list(xids)
        self.answers = {"nvmlDeviceGetCurrentClocksEventReasons": reasons, "nvmlDeviceGetTemperature": temp,
                        "nvmlDeviceGetTemperatureThreshold": slowdown, "nvmlDeviceGetTotalEccErrors": ecc,
                        "nvmlDeviceGetRemappedRows": rows, "nvmlDeviceGetRetiredPagesPendingStatus": 0}

    def read(self, query, *args):
        return self.answers.get(query)

    def other_processes(self):
        return self.others

    def xid_errors(self, wait_ms=0):
        return self.xids

    def sm_clock_mhz(self):
        return 1980.0

    def max_sm_clock_mhz(self):
        return 1980.0


def test_an_idle_cool_gpu_passes_and_its_idle_reason_is_only_recorded():
    r = health.check(FakeNvml(reasons=0x1 | 0x4))
    assert r["ok"] and r["problems"] == []
    assert r["clock_event_reasons"] == ["idle", "software power cap"]


def test_each_problem_refuses_the_gpu_with_its_reason():
    cases = {
        "other processes on the GPU: 4242": FakeNvml(others=[4242]),
        "clocks held down: hardware slowdown, hardware thermal slowdown": FakeNvml(reasons=0x8 | 0x40),
        "temperature 86 C, at or above 85 C": FakeNvml(temp=86, slowdown=90),
        "3 uncorrected ECC error(s) since the driver loaded": FakeNvml(ecc=3),
        "row remapping pending: reset the GPU": FakeNvml(rows=(0, 1, 1, 0)),
        "XID error(s) 48, 79": FakeNvml(xids=[79, 48, 79]),
    }
    for problem, gpu in cases.items():
        r = health.check(gpu)
        assert not r["ok"] and r["problems"] == [problem]
    # Without the GPU's own threshold, a fixed limit applies.
    assert health.check(FakeNvml(temp=85, slowdown=None))["problems"] == ["temperature 85 C, at or above 85 C"]
    # Older drivers name the throttle query differently.
    old = FakeNvml()
    old.answers["nvmlDeviceGetCurrentClocksThrottleReasons"] = old.answers.pop("nvmlDeviceGetCurrentClocksEventReasons")
    old.answers["nvmlDeviceGetCurrentClocksThrottleReasons"] = 0x20
    assert health.check(old)["problems"] == ["clocks held down: software thermal slowdown"]


def test_exit_codes_and_the_one_line_without_nvml(tmp_path, capsys):
    args = SimpleNamespace(attach=None, reading=None, device="cuda:0", out=str(tmp_path / "h.json"))
    assert health_command.run(args, monitor=FakeNvml()) == 0
    assert json.loads((tmp_path / "h.json").read_text())["ok"] is True
    assert health_command.run(args, monitor=FakeNvml(others=[7])) == 1
    from ropebench.guard import NullMonitor

    capsys.readouterr()
    assert health_command.run(args, monitor=NullMonitor()) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["GPU health: not fit to measure: no NVML on this machine (no NVIDIA driver or nvidia-ml-py): "
                   "GPU health not checked"]


def test_cli_without_nvml_is_one_line(cli):
    proc = cli("health", env={"LD_LIBRARY_PATH": "/nonexistent"})
    assert proc.returncode == 1 and len(proc.stdout.strip().splitlines()) == 1 and not proc.stderr


def test_attach_puts_the_reading_in_every_sidecar_never_in_the_machine_file(tmp_path, cli):
    machine = tmp_path / "res" / "box"
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    for c in ("aaaaaaaa", "bbbbbbbb"):
        (machine / f"{c}-env.json").write_text("{}")
    reading = tmp_path / "h.json"
    reading.write_text(json.dumps(health.check(FakeNvml())))
    proc = cli("health", "--attach", tmp_path / "res", "--reading", reading)
    assert proc.returncode == 0, proc.stderr
    for c in ("aaaaaaaa", "bbbbbbbb"):
        side = sidecar.read(machine / f"{c}-env.json")
        assert side["health"]["ok"] is True and "asv" in side["versions"]
    assert json.loads((machine / "machine.json").read_text()) == {"machine": "box", "version": 1}
    assert not (machine / "machine.sidecar").exists()
