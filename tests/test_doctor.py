"""`ropebench doctor`: one line per check, what to do next, exit 0 only where a GPU benchmark can run."""

from __future__ import annotations

import json

import pytest
import torch

from ropebench import cli
from ropebench.commands import doctor

NAMES = ["python", "torch", "GPU", "nvcc", "ninja", "flashinfer", "vllm op", "NVML", "asv"]


@pytest.fixture(autouse=True)
def no_machine_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ASV_MACHINE_FILE", str(tmp_path / "machine.json"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the verdict on a machine without a GPU")
def test_doctor_on_a_cpu_machine(capsys):
    rc = cli.main(["doctor"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 1
    checks = lines[:len(NAMES)]
    assert [ln[5:].split(None, 1)[0] if not ln[5:].startswith("vllm op") else "vllm op" for ln in checks] == NAMES
    assert all(ln[:4].strip() in ("ok", "warn", "no") for ln in checks)
    assert checks[2].startswith("no   GPU")
    assert lines[len(NAMES)] == "=>   no GPU benchmark can run here"
    nexts = lines[len(NAMES) + 1:]
    assert nexts and all(ln.startswith("next: ") for ln in nexts)
    assert any("make demo" in ln for ln in nexts)


def test_doctor_json_and_exit_0_when_a_gpu_can_run(monkeypatch, capsys):
    fake = {name: (lambda n=name, s=status: doctor.Check(s, n, "fine")) for name, status in
            [("GPU", doctor.OK), ("asv", doctor.WARN)]}
    monkeypatch.setattr(doctor, "CHECKS", tuple(fake.values()))
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "a GPU benchmark can run here" in out
    assert cli.main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gpu_benchmark"] is True and [c["name"] for c in data["checks"]] == ["GPU", "asv"]


def test_asv_machine_file_is_read(tmp_path, monkeypatch):
    path = tmp_path / "machine.json"
    path.write_text(json.dumps({"h200": {"machine": "h200"}, "version": 1}))
    monkeypatch.setenv("ASV_MACHINE_FILE", str(path))
    c = doctor.check_asv()
    assert c.status == doctor.OK and "h200" in c.detail
    path.write_text("{broken")
    assert doctor.check_asv().status == doctor.WARN


class _Gpu:
    """An NVML monitor as the guard exposes it, with one other process optional."""

    available = True

    def __init__(self, others=()):
        self.others = list(others)

    def read(self, query, *args):
        return {"nvmlDeviceGetTemperature": 40, "nvmlDeviceGetTemperatureThreshold": 90,
                "nvmlDeviceGetRemappedRows": (0, 0, 0, 0)}.get(query, 0)

    def other_processes(self):
        return self.others

    def xid_errors(self, wait_ms=0):
        return []

    def sm_clock_mhz(self):
        return 1980.0

    def max_sm_clock_mhz(self):
        return 1980.0


def test_nvml_line_is_the_health_check(monkeypatch):
    import ropebench.guard

    monkeypatch.setattr(ropebench.guard, "monitor_for", lambda device: _Gpu())
    c = doctor.check_nvml()
    assert c.status == doctor.OK and c.detail == "SM clock 1980.0 of 1980.0 MHz, 40 C, no other process"
    monkeypatch.setattr(ropebench.guard, "monitor_for", lambda device: _Gpu(others=[4242]))
    c = doctor.check_nvml()
    assert c.status == doctor.WARN and "other processes on the GPU: 4242" in c.detail and c.hint
