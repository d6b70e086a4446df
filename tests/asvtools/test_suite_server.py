"""The asv suite's machinery without asv: the measurement server, the replay clock, the environment
plugin's site folders and the machine file."""

import json
import os
import shutil
import time

import pytest

from ropebench.asvtools import suite
from ropebench.asvtools.suite import ReplayClock


def test_replay_clock_replays_samples_once_per_point():
    clock = ReplayClock()
    clock.load("a", [1.0, 2.0, 3.0])
    deltas = []
    for _ in range(4):
        t0 = clock.time()
        clock.tick()
        deltas.append(clock.time() - t0)
        clock.load("a", [9.0])  # asv re-runs setup before every sample: must not restart
    assert deltas == [1.0, 2.0, 3.0, 1.0]
    clock.load("b", [5.0])
    t0 = clock.time()
    clock.tick()
    assert clock.time() - t0 == 5.0


@pytest.fixture
def server(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("ROPEBENCH_DEVICE", "cpu")
    info = suite.start_server()
    yield info, folder
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone too
        return f.read().split()[2] != "Z"


def test_server_measures_skips_and_leaves_with_its_folder(server):
    info, folder = server
    assert info["device"] == "cpu"
    w = dict(batch_size=1, seq_len=16, num_heads=4, head_size=64, rotary_dim=32, style="gptj", dtype="float32")
    reply = suite.ask(info, "time", "torch", w, samples=30, cpu_seconds=1.0)
    assert reply["status"] == "ok" and len(reply["samples_s"]) == 30
    assert all(0 < s < 0.1 for s in reply["samples_s"])
    with pytest.raises(NotImplementedError, match="cuda"):
        suite.ask(info, "time", "flashinfer", dict(w, dtype="bfloat16"))
    acc = suite.ask(info, "accuracy", "torch", w)
    assert 0 < acc["rel_l2"] < 1e-5
    with pytest.raises(RuntimeError, match="must be even"):
        suite.ask(info, "time", "torch", dict(w, rotary_dim=31))
    shutil.rmtree(folder)  # what asv does after the last point
    deadline = time.monotonic() + 10
    while _alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(info["pid"])


def test_env_plugin_links_the_runner_site_packages():
    pytest.importorskip("asv")
    import torch

    import ropebench
    from ropebench.asvtools.env_plugin import runner_site_dirs

    dirs = runner_site_dirs()
    assert any(os.path.dirname(os.path.dirname(torch.__file__)) == d for d in dirs)
    assert any(os.path.dirname(os.path.dirname(os.path.abspath(ropebench.__file__))) == d for d in dirs)


def test_machine_file_is_asv_loadable(cli, tmp_path):
    pytest.importorskip("asv")
    path = tmp_path / "machine.json"
    p = cli("machine", "--machine", "test-box", "--file", path)
    assert p.returncode == 0, p.stderr
    data = json.loads(path.read_text())
    entry = data["test-box"]
    for key in ("machine", "os", "arch", "cpu", "num_cpu", "ram", "gpu", "driver", "cuda", "torch"):
        assert entry[key]
    from asv.machine import Machine

    m = Machine.load(machine_name="test-box", _path=str(path))
    assert m.machine == "test-box" and m.torch == entry["torch"]
    bad = cli("machine", "--machine", "a b", "--file", path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_dead_server_is_replaced_for_the_next_point(server):
    import signal

    info, folder = server
    os.kill(info["pid"], signal.SIGKILL)  # as if it had died mid-run; its socket file stays behind
    deadline = time.monotonic() + 10
    while _alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (folder / suite.SOCKET_NAME).exists()
    w = dict(batch_size=1, seq_len=8, num_heads=2, head_size=64, rotary_dim=32, style="neox", dtype="float32")
    reply = suite.ask(info, "time", "torch", w, samples=10, cpu_seconds=0.5)
    assert reply["status"] == "ok" and len(reply["samples_s"]) == 10
    assert _alive(info["pid"])  # ask() updated info with the new server


def test_server_leaves_when_its_asv_process_dies(tmp_path, monkeypatch):
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("ROPEBENCH_DEVICE", "cpu")
    monkeypatch.setenv("ROPEBENCH_ASV_PID", str(parent.pid))
    info = suite.start_server()
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(info["pid"])
