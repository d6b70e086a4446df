"""Wheel mode: install vLLM's precompiled wheel of one exact commit (``ropebench install-vllm``).

vLLM publishes a wheel for (almost) every main-branch commit under ``<index>/<sha>/``. We look
for that commit's wheel only, never VLLM_USE_PRECOMPILED's merge-base guess (which silently falls
back to the nightly wheel on asv's detached HEAD). Where to look, in order (``LOCATIONS``):
``<sha>/<variant>/vllm/metadata.json`` (when a variant is given), ``<sha>/vllm/metadata.json``,
``<sha>/index.html``, and the early fixed file name. Offline, a folder of wheels stands in for the
index: ``DIR/<sha>/*.whl`` or ``DIR/vllm-<version>+g<short sha>-....whl``.

A commit with no wheel raises NoWheel (exit 4: asv skips it); anything else that goes wrong is a
failure (exit 2).
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from ropebench.errors import EXIT_NO_WHEEL, RopeBenchError

DEFAULT_INDEX = "https://wheels.vllm.ai"
LEGACY_WHEEL = "vllm-1.0.0.dev-cp38-abi3-manylinux1_x86_64.whl"  # per-commit name before metadata.json
TIMEOUT_S = 60
_SHA = re.compile(r"^[0-9a-f]{40}$")
_LOCAL_SHA = re.compile(r"^vllm-[^-]*\+g([0-9a-f]{7,40})(?:\.[^-]*)?-", re.I)


class NoWheel(RopeBenchError):
    """vLLM published no wheel for this commit: a skip, not a failure."""

    exit_code = EXIT_NO_WHEEL


def check_sha(commit: str) -> str:
    sha = str(commit).strip().lower()
    if not _SHA.match(sha):
        raise RopeBenchError(f"--commit must be a full 40-hex commit sha, got {commit!r} "
                             "(a short sha or a branch name would be a guess)")
    return sha


def _arch_ok(name: str) -> bool:
    """Does a wheel file name (or platform tag) fit this machine's architecture?"""
    machine = platform.machine().lower()
    aliases = {"x86_64": ("x86_64", "amd64"), "amd64": ("x86_64", "amd64"),
               "aarch64": ("aarch64", "arm64"), "arm64": ("aarch64", "arm64")}.get(machine, (machine,))
    low = urllib.parse.unquote(name).lower()
    return low.endswith("-any.whl") or low == "any" or any(a in low for a in aliases)


# ---- offline folder ---------------------------------------------------------------------------
def find_local(folder: Path, sha: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise RopeBenchError(f"--find-links folder does not exist: {folder}")
    candidates = sorted((folder / sha).glob("vllm-*.whl")) if (folder / sha).is_dir() else []
    for whl in sorted(folder.glob("vllm-*.whl")):
        m = _LOCAL_SHA.match(urllib.parse.unquote(whl.name))
        if m and sha.startswith(m.group(1).lower()):
            candidates.append(whl)
    fitting = [w for w in candidates if _arch_ok(w.name)]
    if not fitting:
        raise NoWheel(f"no vLLM wheel for commit {sha[:12]} in {folder} "
                      f"(looked for {sha}/vllm-*.whl and vllm-*+g<sha prefix>*.whl for {platform.machine()})")
    return fitting[0]


# ---- index -----------------------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _get(url: str) -> bytes | None:
    """The body, or None on 404/403 (S3 answers 403 for a missing key). Other errors fail."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):
            return None
        raise RopeBenchError(f"wheel index answered HTTP {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RopeBenchError(f"cannot reach the wheel index at {url}: {reason}") from None


def _from_metadata(url: str) -> str | None:
    body = _get(url)
    if body is None:
        return None
    try:
        entries = json.loads(body)
    except ValueError:
        raise RopeBenchError(f"unreadable metadata.json at {url}") from None
    if isinstance(entries, dict):
        entries = entries.get("wheels", [])
    for e in entries if isinstance(entries, list) else []:
        if (isinstance(e, dict) and e.get("package_name", "vllm") == "vllm" and e.get("path")
                and _arch_ok(e.get("platform_tag", "") or e["path"])):
            return urllib.parse.urljoin(url, e["path"])
    return None


def _from_index_html(url: str) -> str | None:
    body = _get(url)
    if body is None:
        return None
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    for href in parser.hrefs:
        name = urllib.parse.unquote(href.split("#")[0].split("?")[0].rsplit("/", 1)[-1])
        if name.startswith("vllm-") and name.endswith(".whl") and _arch_ok(name):
            return urllib.parse.urljoin(url, href.split("#")[0])
    return None


def _exists(url: str) -> str | None:
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=TIMEOUT_S):
            return url
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404, 405):
            return None
        raise RopeBenchError(f"wheel index answered HTTP {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RopeBenchError(f"cannot reach the wheel index at {url}: "
                             f"{getattr(exc, 'reason', exc)}") from None


def locations(index: str, sha: str, variant: str | None) -> list[tuple[str, object]]:
    base = index.rstrip("/")
    rows = []
    if variant:
        rows.append((f"{base}/{sha}/{variant}/vllm/metadata.json", _from_metadata))
    rows += [
        (f"{base}/{sha}/vllm/metadata.json", _from_metadata),
        (f"{base}/{sha}/index.html", _from_index_html),
        (f"{base}/{sha}/{LEGACY_WHEEL}", _exists),
    ]
    return rows


def find_remote(index: str, sha: str, variant: str | None = None) -> str:
    for url, how in locations(index, sha, variant):
        found = how(url)
        if found:
            return found
    raise NoWheel(f"vLLM published no wheel for commit {sha[:12]} at {index.rstrip('/')}/{sha}/ "
                  "(before v0.5.3, not on main, or not built yet)")


def download(url: str, dest_dir: Path) -> Path:
    name = urllib.parse.unquote(url.rsplit("/", 1)[-1])
    path = Path(dest_dir) / name
    body = _get(url)
    if body is None:
        raise NoWheel(f"the wheel listed for this commit is missing: {url}")
    path.write_bytes(body)
    return path


# ---- install ---------------------------------------------------------------------------------
def pip_install(wheel: Path, python: str | None = None) -> None:
    if not zipfile.is_zipfile(wheel):
        raise RopeBenchError(f"not a wheel (not a zip file): {wheel}")
    cmd = [python or sys.executable, "-m", "pip", "install", "--no-deps", "--force-reinstall",
           "--disable-pip-version-check", "--no-input", str(wheel)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        why = next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else f"exit {proc.returncode}")
        raise RopeBenchError(f"pip could not install {wheel.name}: {' '.join(why.split())}")


def fetch_vllm(commit: str, dest_dir, find_links=None, index_url: str = DEFAULT_INDEX,
               variant: str | None = None) -> Path:
    """Put the wheel of exactly ``commit`` into dest_dir (for asv's build step) and return its path."""
    sha = check_sha(commit)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    if find_links:
        wheel = find_local(Path(find_links), sha)
        return Path(shutil.copy2(wheel, dest / wheel.name))
    return download(find_remote(index_url, sha, variant), dest)


def stub_wheel(dest_dir, commit: str, reason: str) -> Path:
    """A placeholder kernel wheel saying why there is no vLLM op: the vllm backend then skips
    (asv records skips, not failures), while the other backends still run at this commit."""
    from ropebench.kernels.loader import PACKAGE
    from ropebench.kernels.wheel import write_wheel

    body = json.dumps({"missing": reason, "commit": commit}, indent=1).encode()
    return write_wheel(Path(dest_dir), PACKAGE, f"0.0.0+missing{commit[:10]}",
                       {f"{PACKAGE}/__init__.py": b"", f"{PACKAGE}/build.json": body},
                       summary="no vLLM wheel for this commit (ropebench placeholder)")


def install_vllm(commit: str, find_links=None, index_url: str = DEFAULT_INDEX,
                 variant: str | None = None) -> str:
    """Install the wheel of exactly ``commit`` into this interpreter; return where it came from."""
    sha = check_sha(commit)
    if find_links:
        wheel = find_local(Path(find_links), sha)
        pip_install(wheel)
        return str(wheel)
    url = find_remote(index_url, sha, variant)
    with tempfile.TemporaryDirectory(prefix="ropebench-vllm-wheel-") as tmp:
        wheel = download(url, Path(tmp))
        pip_install(wheel)
        return url
