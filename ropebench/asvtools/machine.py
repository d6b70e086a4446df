"""asv's machine file, with the GPU, driver, CUDA and torch versions added (``ropebench machine``).

asv keys results by machine name and records only CPU facts. Naming the machine after its GPU
keeps results from different GPUs apart, and the extra keys become filters on the asv site.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ropebench.errors import RopeBenchError


def default_name(info: dict) -> str:
    """Stable across reboots and runners of one kind: the GPU model (and count), else the CPU."""
    if info.get("gpu"):
        slug = re.sub(r"[^a-z0-9]+", "-", info["gpu"].lower()).strip("-")
        return slug if info.get("gpu_count", 1) <= 1 else f"{slug}-x{info['gpu_count']}"
    cpu = re.sub(r"[^a-z0-9]+", "-", (info.get("cpu") or "cpu").lower()).strip("-")
    return f"cpu-{cpu}"[:60]


def machine_entry(name: str | None = None) -> tuple[str, dict]:
    from asv.machine import Machine

    from ropebench import system

    info = system.describe("cuda:0")
    name = name or default_name(info)
    entry = dict(Machine.get_defaults())
    entry.update(machine=name, gpu=info["gpu"] or "none", gpu_count=str(info["gpu_count"]),
                 driver=info["driver"] or "none", cuda=info["cuda"] or "none", torch=info["torch"])
    return name, entry


def write_machine_file(path: Path, name: str, entry: dict) -> None:
    """Add or replace one machine in asv's machine file (other machines are kept)."""
    data = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise RopeBenchError(f"{path} is not valid JSON: {exc}") from None
    data[name] = entry
    data["version"] = 1
    path.write_text(json.dumps(data, indent=4, sort_keys=True))
