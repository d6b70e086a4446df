"""The build toolchain, probed: torch and its CUDA version, the local GPU's capability and arch, CUDA_HOME
and nvcc, CUDA headers from pip packages, the host CPU's ISA flags. The builder (builder.py) turns
these into a cache key and compiler flags."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from ropebench.errors import RopeBenchError

DEVICES = ("auto", "cuda", "cpu")

# Host-compiler ISA flags for CPU kernels, as vLLM's CPU CMake picks them: (cpu flag, gcc flags).
# vLLM's cpu_types.hpp selects its vector code from the macros these flags define.
CPU_ISA = (
    ("avx512f", ("-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mf16c")),
    ("avx512_bf16", ("-mavx512bf16",)),
)
CPU_ISA_FALLBACK = (("avx2", ("-mavx2", "-mfma", "-mf16c")),)  # only without avx512f
CPU_EXTRA = ("-fopenmp",)  # vLLM's CPU kernels parallelize with OpenMP

_ARCH = re.compile(r"^(?:sm_|compute_)?(\d+?)\.?(\d)([af]?)(\+PTX)?$", re.I)


def torch_versions() -> tuple[str, str | None]:
    """(torch version, its CUDA version), read from torch/version.py without importing torch: the
    import costs 1-2 s, more than a whole cached build should."""
    spec = importlib.util.find_spec("torch")
    try:
        text = (Path(spec.origin).parent / "version.py").read_text()
        version = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)", text, re.M).group(1)
        cuda = re.search(r"^cuda\s*(?::[^=]*)?=\s*(None|['\"]([^'\"]*)['\"])", text, re.M)
        return version, (cuda.group(2) if cuda.group(1) != "None" else None)
    except (AttributeError, OSError, TypeError):
        import torch

        return torch.__version__, torch.version.cuda


def local_gpu_capability() -> tuple[int, int] | None:
    """The first visible GPU's compute capability, through NVML (fast) or else torch; None: no GPU."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return None
    if sys.platform.startswith("linux") and not Path("/dev/nvidiactl").exists():
        return None  # no NVIDIA driver on this machine
    try:
        import pynvml

        from ropebench.guard import nvml_index

        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() == 0:
            return None
        return tuple(pynvml.nvmlDeviceGetCudaComputeCapability(pynvml.nvmlDeviceGetHandleByIndex(nvml_index(0))))
    except Exception:  # noqa: BLE001 - no NVML: ask torch
        import torch

        return torch.cuda.get_device_capability() if torch.cuda.is_available() else None


def resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise RopeBenchError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device != "auto":
        return device
    return "cuda" if local_gpu_capability() is not None else "cpu"


def normalize_arch(text: str) -> str:
    """'9.0', '90', 'sm_90', '9.0a', '8.0;9.0+PTX' -> torch's TORCH_CUDA_ARCH_LIST form."""
    items = [t for t in re.split(r"[;,\s]+", str(text).strip()) if t]
    out = []
    for item in items:
        m = _ARCH.match(item)
        if not m:
            raise RopeBenchError(f"cannot read CUDA arch {item!r}; write it like 9.0, 90 or sm_90")
        out.append(f"{int(m.group(1))}.{m.group(2)}{m.group(3).lower()}{'+PTX' if m.group(4) else ''}")
    if not out:
        raise RopeBenchError("empty CUDA arch")
    return ";".join(out)


def resolve_arch(arch: str | None, device: str) -> str | None:
    """--arch, else $TORCH_CUDA_ARCH_LIST, else the local GPU's (torch's own order); None on CPU."""
    if device == "cpu":
        return None
    if arch:
        return normalize_arch(arch)
    env = os.environ.get("TORCH_CUDA_ARCH_LIST")
    if env and env.strip():
        return normalize_arch(env)
    capability = local_gpu_capability()
    if capability is not None:
        return f"{capability[0]}.{capability[1]}"
    raise RopeBenchError("no GPU here to read the CUDA arch from: pass --arch (e.g. 9.0), set "
                         "TORCH_CUDA_ARCH_LIST, or build the CPU kernel with --device cpu")


def cpu_isa_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    m = re.search(r"^flags\s*:(.*)$", text, re.M)
    have = set(m.group(1).split()) if m else set()
    flags = [f for cpu, fl in CPU_ISA if cpu in have for f in fl]
    if "avx512f" not in have:
        flags += [f for cpu, fl in CPU_ISA_FALLBACK if cpu in have for f in fl]
    return flags


def pip_cuda_include_dirs() -> list[str]:
    """CUDA headers shipped by pip packages (nvidia/*/include): torch's headers may need them
    (e.g. cusparse.h) when the system toolkit lacks them. Searched last (-idirafter)."""
    found = []
    for entry in sys.path:
        base = Path(entry) / "nvidia"
        if base.is_dir():
            found += sorted(str(p) for p in base.glob("*/include") if p.is_dir())
    return list(dict.fromkeys(found))


def cuda_home() -> str | None:
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home:
        return home
    # torch guesses from `which nvcc`, which may be a wrapper outside the toolkit root.
    return "/usr/local/cuda" if Path("/usr/local/cuda/bin/nvcc").exists() else None


def nvcc_version(home: str | None) -> str | None:
    nvcc = Path(home) / "bin" / "nvcc" if home else None
    if not nvcc or not nvcc.exists():
        return None
    try:
        out = subprocess.run([str(nvcc), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"V(\d+\.\d+\.\d+)", out) or re.search(r"release (\d+\.\d+)", out)
    return m.group(1) if m else None
