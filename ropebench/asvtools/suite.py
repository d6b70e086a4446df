"""What the asv classes in benchmarks/ share: the server client and the replay clock.

Nothing here imports torch: asv's per-point processes stay light (see server.py for why).

How a GPU sample becomes an asv sample: asv times ``number=1`` call of the ``time_`` method with the
class's ``timer``. That timer is a ReplayClock whose time advances, at each call, by the next kernel
time measured on the GPU. So asv records exactly the measured samples, and computes its median,
confidence interval and Mann-Whitney test on them, with no host overhead mixed in. This leans on
asv_runner's sampling loop (number=1, setup before every sample): asv_runner is pinned with asv in
constraints/runner.txt, and tests/asvtools/test_asv_records_server_samples.py runs real asv and checks
that the samples it records are exactly the server's, in order.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from multiprocessing.connection import Client
from pathlib import Path

from ropebench.asvtools.server import ASV_PID_ENV, KEY_ENV, LOG_NAME, SOCKET_NAME
from ropebench.guard import guard_mode

START_TIMEOUT = 180


class ReplayClock:
    """A clock that moves only when told, by the next recorded sample (seconds)."""

    def __init__(self):
        self.now = 0.0
        self.samples: list[float] = []
        self.index = 0
        self.key = None

    def load(self, key, samples):
        if key != self.key:  # asv re-runs setup before every sample: load once per point
            self.key, self.samples, self.index = key, list(samples), 0
        # Each sample starts from 0: asv's end - start is then the recorded sample exactly, bit for bit.
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.samples[self.index % len(self.samples)]
        self.index += 1


CLOCK = ReplayClock()


def start_server() -> dict:
    """Start the measurement server in asv's setup_cache folder (the cwd); return how to reach it."""
    folder = Path.cwd()
    authkey = os.urandom(16).hex()
    # setup_cache runs as a child of asv: the server leaves if that asv process dies.
    asv_pid = os.environ.get(ASV_PID_ENV) or str(os.getppid())
    env = dict(os.environ, **{KEY_ENV: authkey, ASV_PID_ENV: asv_pid})
    (folder / SOCKET_NAME).unlink(missing_ok=True)  # a server that died may have left its socket
    log = open(folder / LOG_NAME, "w")  # noqa: SIM115 - the child keeps it
    # Own session and no inherited pipes: asv waits for setup_cache's output to close.
    proc = subprocess.Popen([sys.executable, "-m", "ropebench.asvtools.server", str(folder)], cwd=folder,
                            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    info = {"address": str(folder / SOCKET_NAME), "authkey": authkey, "pid": proc.pid}
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ropebench measurement server exited ({proc.returncode}): {_tail(folder)}")
        if (folder / SOCKET_NAME).exists():
            try:
                info.update(request(info, {"kind": "hello"}))
            except (OSError, EOFError):  # bound but not yet listening
                time.sleep(0.1)
                continue
            print(f"ropebench server {proc.pid} measuring on {info['device']}")
            return info
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"ropebench measurement server did not start in {START_TIMEOUT} s: {_tail(folder)}")


def _tail(folder: Path) -> str:
    try:
        return " | ".join((folder / LOG_NAME).read_text().strip().splitlines()[-5:])
    except OSError:
        return "(no log)"


def request(info: dict, msg: dict) -> dict:
    with Client(info["address"], family="AF_UNIX", authkey=bytes.fromhex(info["authkey"])) as conn:
        conn.send(msg)
        return conn.recv()


_replies: dict[str, dict] = {}


def ask(info: dict, kind: str, backend: str, workload: dict, **extra) -> dict:
    """The server's answer for one point, asked once per process. Raises NotImplementedError for a
    skip (asv's skip), RuntimeError when the backend is wrong or the measurement failed."""
    key = json.dumps([kind, backend, workload], sort_keys=True)
    if key not in _replies:
        msg = {"kind": kind, "backend": backend, "workload": workload, **extra}
        try:
            _replies[key] = request(info, msg)
        except (OSError, EOFError):
            # The server left (a CUDA fault ends it on purpose): start a fresh one here, ask again.
            info.update(start_server())
            _replies[key] = request(info, msg)
    reply = _replies[key]
    if reply["status"] == "skipped":
        raise NotImplementedError(reply["reason"])
    if kind == "accuracy" and reply["status"] == "incorrect":
        return reply  # the error itself is the tracked value
    if reply["status"] != "ok":
        raise RuntimeError(f"{backend} {reply['status']}: {reply['reason']}")
    flags = reply.get("flags") or []
    if flags and guard_mode() == "strict":
        # A throttled or shared GPU gives numbers we would not trust: record a failure, not them.
        raise RuntimeError("measurement not trusted: " + "; ".join(flags))
    if flags:
        print("ropebench guard: " + "; ".join(flags), file=sys.stderr)
    return reply


class MeasuredBenchmark:
    """Base of the suite's classes: asv timing attributes for replayed GPU samples, one shared
    setup_cache (one server per commit and environment, whichever classes are selected)."""

    rounds = 1  # all samples come from one measurement; more rounds would only repeat it
    number = 1
    warmup_time = 0.0  # the server warms up before timing
    min_run_count = 1
    repeat = (1, 1, 1e9)  # replaced in setup by the number of samples the server returns
    timeout = 600  # per point: room for a FlashInfer JIT compile on first use
    timer = staticmethod(CLOCK.time)
    samples = 100

    def setup_cache(self):
        return start_server()

    def load(self, info: dict, backend: str, workload: dict) -> None:
        reply = ask(info, "time", backend, workload, samples=self.samples)
        n = len(reply["samples_s"])
        self.repeat = (n, n, 1e9)
        CLOCK.load((backend, json.dumps(workload, sort_keys=True)), reply["samples_s"])


def selection(cls, method: str, points) -> str:
    """asv's ``-b`` regex for some points of one benchmark, from the class itself: asv names a point
    ``<module>.<Class>.<method>(<repr of each param>)``. A point the class does not take is an error,
    never a regex that silently selects nothing."""
    if not callable(getattr(cls, method, None)):
        raise ValueError(f"{cls.__name__} has no benchmark {method}")
    names, allowed = list(cls.param_names), [list(v) for v in cls.params]
    out = []
    for point in points:
        if set(point) != set(names):
            raise ValueError(f"{cls.__name__} takes {', '.join(names)}, not {', '.join(point)}")
        values = [point[n] for n in names]
        bad = [f"{n}={v!r}" for n, v, ok in zip(names, values, allowed) if v not in ok]
        if bad:
            raise ValueError(f"{cls.__name__} has no point {', '.join(bad)}")
        out.append(re.escape(f"{cls.__qualname__}.{method}({', '.join(map(repr, values))})"))
    return "|".join(out)
