"""The measurement server behind the asv suite.

asv runs every parameter point in a fresh interpreter; importing torch and creating a CUDA context
there costs seconds per point (about 6 s on the H200), far more than the kernels. So the suite's
``setup_cache`` starts this server once per commit and environment: it imports torch, holds the
CUDA context, and measures the points that asv's per-point processes ask for, with the same
``ropebench.measure`` code as ``ropebench run``. The per-point processes never import torch; they
hand the GPU samples to asv through a replay clock (see ``suite.py``), so asv's own statistics,
``--record-samples`` and significance tests apply to real kernel times.

Lifetime: the server lives in asv's setup_cache folder (its working directory) and exits when asv
removes that folder after the last point, or after IDLE_SECONDS without requests. A lock per GPU
makes a new server wait until the previous one has gone, so two never share a GPU.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Listener
from pathlib import Path

from ropebench.errors import is_cuda_fault
from ropebench.kernels.loader import ENV_OP_DIR

SOCKET_NAME = "ropebench.sock"
LOG_NAME = "ropebench-server.log"
KEY_ENV = "ROPEBENCH_SERVER_KEY"
ASV_PID_ENV = "ROPEBENCH_ASV_PID"  # the asv process whose run this server serves
SAMPLES_LOG_ENV = "ROPEBENCH_SAMPLES_LOG"  # a file: each point's samples appended as one JSON line
IDLE_SECONDS = 900
LOCK_WAIT_SECONDS = 120


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gpu_lock_path() -> Path:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "all").replace(",", "_") or "none"
    return Path(tempfile.gettempdir()) / f"ropebench-server-{os.getuid()}-{visible}.lock"


class Server:
    def __init__(self, folder: Path):
        self.folder = folder
        self.last_request = time.monotonic()
        self.device = None
        self.monitor = None

    # ---- requests -------------------------------------------------------------------------------
    def handle(self, msg: dict) -> dict:
        kind = msg.get("kind")
        if kind == "hello":
            return {"ok": True, "device": self.pick_device(), "pid": os.getpid()}
        if kind in ("time", "accuracy"):
            return self.point(msg)
        return {"status": "error", "reason": f"unknown request {kind!r}"}

    def pick_device(self) -> str:
        if self.device is None:
            import torch

            device = os.environ.get("ROPEBENCH_DEVICE")
            self.device = device or ("cuda:0" if torch.cuda.is_available() else "cpu")
            if self.device == "cpu":
                torch.set_num_threads(1)  # with OMP_NUM_THREADS=1 (main): thread CPU time is the kernel's
        return self.device

    def point(self, msg: dict) -> dict:
        from ropebench.backends import get_backend
        from ropebench.errors import RopeBenchError
        from ropebench.measure import measure
        from ropebench.workload import Workload

        try:
            w = Workload(device=self.pick_device(), **msg["workload"])
        except RopeBenchError as exc:
            return {"status": "error", "reason": str(exc)}
        backend = msg["backend"]
        # Decided before this point touches CUDA: a skip costs one round trip, no GPU work.
        reason = get_backend(backend).unsupported(w)
        if reason:
            return {"status": "skipped", "reason": reason}
        if msg["kind"] == "accuracy":
            return self.accuracy(w, backend)
        if self.monitor is None:
            from ropebench.guard import monitor_for

            self.monitor = monitor_for(w.device)
        # On a CPU-only machine (CI) time single-threaded CPU time: shared runners preempt, and a
        # preempted wall clock would turn noise into "regressions".
        r = measure(w, backend, samples=msg.get("samples", 100), eager=False, monitor=self.monitor,
                    cpu_seconds=msg.get("cpu_seconds", 2.0), cpu_clock="thread")
        self.release_memory()
        if r.status != "ok":
            return {"status": r.status, "reason": r.reason}
        samples_s = [s * 1e-6 for s in r.kernel.samples_us]
        if os.environ.get(SAMPLES_LOG_ENV):  # tests: what asv records must be exactly these, in order
            with open(os.environ[SAMPLES_LOG_ENV], "a") as f:
                f.write(json.dumps({"backend": backend, "workload": msg["workload"], "samples_s": samples_s}) + "\n")
        return {"status": "ok", "samples_s": samples_s,
                "flags": r.guard_flags, "notes": r.flags[len(r.guard_flags):], "dropped": r.kernel.dropped,
                "rel_l2": r.rel_l2, "floor_us": r.floor_us, "sets": r.kernel.sets}

    def accuracy(self, w, backend: str) -> dict:
        from ropebench.backends import get_backend
        from ropebench.correctness import check_backend

        c = check_backend(get_backend(backend), w)
        self.release_memory()
        return {"status": "ok" if c.ok else "incorrect", "rel_l2": c.rel_l2, "reason": c.detail}

    def release_memory(self):
        if self.device and self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    # ---- lifetime ---------------------------------------------------------------------------------
    def watchdog(self, asv_pid: int | None):
        while True:
            time.sleep(0.5)
            gone = not self.folder.exists()
            idle = time.monotonic() - self.last_request > IDLE_SECONDS
            if gone or idle or (asv_pid and not _alive(asv_pid)):  # asv killed: do not hold the GPU
                (self.folder / SOCKET_NAME).unlink(missing_ok=True)
                os._exit(0)

    def serve(self, authkey: bytes, asv_pid: int | None = None):
        lock = open(gpu_lock_path(), "w")  # noqa: SIM115 - held for the process's lifetime
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:  # wait for a previous server on this GPU to leave
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    print("another ropebench server still holds the GPU lock; going on", flush=True)
                    break
                time.sleep(0.2)
        threading.Thread(target=self.watchdog, args=(asv_pid,), daemon=True).start()
        sock = self.folder / SOCKET_NAME
        with Listener(str(sock), family="AF_UNIX", authkey=authkey) as listener:
            print(f"listening on {sock}", flush=True)
            while True:
                with listener.accept() as conn:
                    msg = conn.recv()
                    self.last_request = time.monotonic()
                    try:
                        reply = self.handle(msg)
                    except Exception as exc:  # noqa: BLE001 - report it to the point, keep serving
                        traceback.print_exc()
                        reply = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
                    conn.send(reply)
                    self.last_request = time.monotonic()
                    if is_cuda_fault(reply.get("reason", "")):
                        # A CUDA fault is sticky: every later kernel in this context would fail too.
                        # Leave (socket removed); the next point starts a fresh server (suite.ask).
                        print("CUDA error: exiting so that later points get a clean context", flush=True)
                        sock.unlink(missing_ok=True)
                        os._exit(3)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]).resolve()
    # One OpenMP thread for CPU kernels (vLLM's CPU RoPE uses OpenMP): see Server.point. Set before any
    # library starts its thread pool; GPU runs do not use OpenMP.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Under asv the op to time is the one asv installed for this commit, never an override.
    if os.environ.pop(ENV_OP_DIR, None):
        print(f"ignoring {ENV_OP_DIR}: asv installed this commit's kernel", flush=True)
    authkey = bytes.fromhex(os.environ.pop(KEY_ENV))
    asv_pid = int(os.environ.pop(ASV_PID_ENV, "0") or 0) or None
    Server(folder).serve(authkey, asv_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
