"""Write a small platform wheel by hand (zipfile): METADATA, WHEEL, RECORD with sha256.

Only what ``pip install --no-deps`` needs; no build backend, so it works offline and fast.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sysconfig
import zipfile
from pathlib import Path

DIST = "ropebench-vllm-kernel"


def platform_tag() -> str:
    """This machine's wheel platform tag, e.g. linux_x86_64."""
    return re.sub(r"[^A-Za-z0-9]", "_", sysconfig.get_platform())


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(dest_dir: Path, package: str, version: str, files: dict[str, bytes],
                summary: str = "", dist: str = DIST, tag: str | None = None,
                python_abi: str = "py3-none") -> Path:
    """Write ``files`` (archive path -> bytes) as a wheel of distribution ``dist`` into dest_dir.
    The wheel's tag is ``{python_abi}-{tag}`` (tag: this machine's platform unless given)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    norm = dist.replace("-", "_")
    info = f"{norm}-{version}.dist-info"
    tag = tag or platform_tag()
    meta = {
        f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
                             f"Summary: {summary}\n").encode(),
        f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: ropebench\nRoot-Is-Purelib: "
                          f"{'true' if tag == 'any' else 'false'}\nTag: {python_abi}-{tag}\n").encode(),
        f"{info}/top_level.txt": f"{package}\n".encode(),
    }
    everything = {**files, **meta}
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data in everything.items()]
    record.append(f"{info}/RECORD,,")
    path = dest_dir / f"{norm}-{version}-{python_abi}-{tag}.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in everything.items():
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)),
                    ("\n".join(record) + "\n").encode())
    return path
