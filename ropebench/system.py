"""What machine and software a measurement ran on: recorded beside every number."""

from __future__ import annotations

import datetime
import platform
import subprocess


def _driver_version() -> str:
    try:
        import pynvml

        pynvml.nvmlInit()
        v = pynvml.nvmlSystemGetDriverVersion()
        return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:  # noqa: BLE001 - fall back to nvidia-smi
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def describe(device: str = "cuda:0") -> dict:
    """GPU name, driver, CUDA, torch, python and host facts. Touches CUDA only for a cuda device."""
    import torch

    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "",
        "device": device,
        "gpu": "",
        "gpu_count": 0,
        "driver": "",
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_count=torch.cuda.device_count(), driver=_driver_version(),
                    sm_count=props.multi_processor_count, l2_mb=round(getattr(props, "L2_cache_size", 0) / 1e6),
                    memory_gb=round(props.total_memory / 1e9))
    return info


def one_line(info: dict) -> str:
    gpu = f"{info['gpu']} (driver {info['driver']}, CUDA {info['cuda']})" if info.get("gpu") else "CPU only"
    return f"{gpu}, torch {info['torch']}, python {info['python']}, {info['date']}"
