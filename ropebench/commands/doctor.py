"""``ropebench doctor``: what this machine can run, one line per check, then what to do next.

Exit 0 when a GPU benchmark can run here (a CUDA torch that sees a GPU), 1 when it cannot. Each check
only reads: nothing is built, installed or written. GPU readings are ``ropebench health``'s check, on
the guard's NVML monitor that the measurements use.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

OK, WARN, NO = "ok", "warn", "no"


@dataclass
class Check:
    status: str  # ok | warn | no
    name: str
    detail: str
    hint: str = ""  # what to do, when not ok

    def line(self) -> str:
        return f"{self.status:<4} {self.name:<10} {self.detail}"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    return Check(OK, "python", f"{platform.python_version()} ({sys.executable})")


def check_torch() -> Check:
    import torch

    if torch.version.cuda is None:
        return Check(WARN, "torch", f"{torch.__version__}, a CPU build: GPU benchmarks cannot run",
                     "on a GPU machine: pip install torch (PyPI's default is a CUDA build)")
    return Check(OK, "torch", f"{torch.__version__}, CUDA {torch.version.cuda}")


def check_gpu() -> Check:
    import torch

    if not torch.cuda.is_available():
        return Check(NO, "GPU", "none visible to torch (no NVIDIA GPU, driver or CUDA build of torch)",
                     "no GPU here: `make demo` shows the asv flow and `ropebench run --quick` times the CPU")
    from ropebench import system

    info = system.describe("cuda:0")
    return Check(OK, "GPU", f"{info['gpu']} x{info['gpu_count']}, driver {info['driver'] or 'unknown'}, "
                            f"{info.get('memory_gb')} GB")


def check_nvcc() -> Check:
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    nvcc = shutil.which("nvcc") or (str(Path(home) / "bin" / "nvcc") if home else None)
    if not nvcc or not Path(nvcc).exists():
        default = Path("/usr/local/cuda/bin/nvcc")
        hint = ("export CUDA_HOME=/usr/local/cuda" if default.exists()
                else "install the CUDA toolkit (nvcc) to build vLLM kernels and FlashInfer's JIT")
        return Check(WARN, "nvcc", f"not found (CUDA_HOME={home or 'unset'})", hint)
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=30).stdout
    release = re.search(r"release ([\d.]+)", out)
    guess = "/usr/local/cuda" if Path("/usr/local/cuda/bin/nvcc").exists() else Path(nvcc).resolve().parent.parent
    status, hint = (OK, "") if home else (WARN, f"export CUDA_HOME={guess} (CUDA builds read it)")
    return Check(status, "nvcc", f"{release.group(1) if release else '?'} at {nvcc}, CUDA_HOME={home or 'unset'}",
                 hint)


def check_ninja() -> Check:
    ninja = shutil.which("ninja")
    if not ninja:
        return Check(WARN, "ninja", "not found (torch's extension builds and FlashInfer's JIT need it)",
                     "pip install ninja")
    out = subprocess.run([ninja, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return Check(OK, "ninja", f"{out} at {ninja}")


def check_flashinfer() -> Check:
    if importlib.util.find_spec("flashinfer") is None:
        return Check(WARN, "flashinfer", "not installed", "pip install 'ropebench[flashinfer]' (GPU machines)")
    version = _version("flashinfer-python") or "?"
    cache = Path(os.environ.get("FLASHINFER_WORKSPACE_BASE") or Path.home() / ".cache") / "flashinfer"
    built = sorted(p.name for p in cache.rglob("*rope*")) if cache.is_dir() else []
    if built:
        return Check(OK, "flashinfer", f"{version}; JIT cache {cache} has its RoPE kernel")
    return Check(WARN, "flashinfer", f"{version}; no RoPE kernel in the JIT cache {cache} yet",
                 "the first FlashInfer point JIT-compiles its RoPE kernel (about a minute; needs nvcc, ninja)")


def check_vllm_op() -> Check:
    from ropebench.kernels.loader import find_op

    op, why = find_op(None)
    if op is None:
        return Check(WARN, "vllm op", why, "ropebench build-kernel <vllm checkout> --out wheels/, then pip install "
                                           "the wheel (or ropebench run --vllm-op DIR)")
    if op.device != "cuda":
        return Check(WARN, "vllm op", f"{op.describe()}: a {op.device} kernel, not for GPU runs",
                     "ropebench build-kernel <vllm checkout> --device cuda --out wheels/")
    return Check(OK, "vllm op", f"{op.describe()} (cuda)")


def check_nvml() -> Check:
    """The GPU's health through ``ropebench health``'s own check (the guard's NVML monitor)."""
    from ropebench import health
    from ropebench.guard import monitor_for

    reading = health.check(monitor_for("cuda:0"))
    if not reading["nvml"]:
        return Check(WARN, "NVML", "no readings: clocks and GPU sharing are not checked while measuring",
                     "pip install 'ropebench[gpu]' (nvidia-ml-py) on GPU machines")
    clocks = f"SM clock {reading['sm_clock_mhz']} of {reading['max_sm_clock_mhz']} MHz, {reading['temperature_c']} C"
    if reading["ok"]:
        return Check(OK, "NVML", f"{clocks}, no other process")
    return Check(WARN, "NVML", f"{clocks}; not fit to measure now: {'; '.join(reading['problems'])}",
                 "ropebench health --out health.json before measuring; numbers taken now would be marked")


def check_asv() -> Check:
    version = _version("asv")
    if version is None:
        return Check(WARN, "asv", "not installed", "pip install 'ropebench[asv]' for history runs")
    path = Path(os.environ.get("ASV_MACHINE_FILE") or Path.home() / ".asv-machine.json")
    try:
        machines = [k for k in json.loads(path.read_text()) if k != "version"]
    except FileNotFoundError:
        return Check(WARN, "asv", f"{version}; no machine file {path}", "ropebench machine (writes it)")
    except (OSError, ValueError) as exc:
        return Check(WARN, "asv", f"{version}; machine file {path} unreadable: {exc}",
                     f"move {path} away and run ropebench machine")
    return Check(OK, "asv", f"{version}; machine file {path}: {', '.join(machines) or 'empty'}")


CHECKS = (check_python, check_torch, check_gpu, check_nvcc, check_ninja, check_flashinfer, check_vllm_op,
          check_nvml, check_asv)


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the checks as one JSON object instead")


def diagnose() -> list[Check]:
    return [check() for check in CHECKS]


def gpu_can_run(checks: list[Check]) -> bool:
    return any(c.name == "GPU" and c.status == OK for c in checks)


def run(args) -> int:
    checks = diagnose()
    can = gpu_can_run(checks)
    if args.json:
        print(json.dumps({"gpu_benchmark": can, "checks": [c.__dict__ for c in checks]}, indent=1))
        return 0 if can else 1
    for c in checks:
        print(c.line())
    steps = list(dict.fromkeys(c.hint for c in checks if c.hint and c.status != OK))
    verdict = ("a GPU benchmark can run here: ropebench run --quick, then make bench" if can
               else "no GPU benchmark can run here")
    print(f"=>   {verdict}")
    for step in steps:
        print(f"next: {step}")
    return 0 if can else 1
