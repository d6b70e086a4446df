"""Build one vLLM checkout's RoPE kernel into an installable wheel (``ropebench build-kernel``).

Steps: probe the toolchain (toolchain.py), read the kernel (source.py), copy it and its include
closure into a private temp folder keeping relative paths, generate the one-op binding (binding.py),
compile it in a child process with ``torch.utils.cpp_extension.load`` (so nvcc/g++ flags come from
torch, and a library that does not load is a failed build), then package ``ropebench_vllm_kernel``
(the library + build.json) as a wheel and move it into the output folder atomically. Compiled
libraries are cached by a key of the source hash, torch/CUDA versions, arch and flags; a cache hit
only re-packages the wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ropebench.errors import RopeBenchError
from ropebench.kernels import binding
from ropebench.kernels.loader import PACKAGE
from ropebench.kernels.source import OP_NAME, CheckoutTree, KernelSource, read_kernel
from ropebench.kernels.toolchain import (
    CPU_EXTRA,
    cpu_isa_flags,
    cuda_home,
    nvcc_version,
    pip_cuda_include_dirs,
    resolve_arch,
    resolve_device,
    torch_versions,
)
from ropebench.kernels.wheel import write_wheel

BUILDER_VERSION = "1"  # bump when the binding or the wheel layout changes: it is part of the cache key
BASE_VERSION = "0.1.0"
ENV_CACHE = "ROPEBENCH_CACHE"

class BuildFailed(RopeBenchError):
    """The compiler or the loader refused the kernel; the full log is in a file."""


@dataclass
class BuildResult:
    wheel: Path
    cached: bool
    log: Path | None
    info: dict
    seconds: float


def default_cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ropebench" / "kernels"


def source_hash(src: KernelSource, tree=None) -> str:
    """The kernel's build key: device, then each file of the closure (path and bytes). The files
    are read from ``tree`` (default: the tree the source was read from), so ``ropebench plan``,
    reading git objects, gets the same key as a build of the same files on disk."""
    tree = tree or src.tree or CheckoutTree(src.root)
    h = hashlib.sha256(f"ropebench-kernel {src.device}\n".encode())
    for rel in sorted(src.files):
        h.update(rel.encode() + b"\0" + tree.read_bytes(rel) + b"\0")
    return h.hexdigest()


def git_commit(root: Path) -> tuple[str | None, bool]:
    """(HEAD sha, dirty) when root is the top of a git work tree, else (None, False)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode or Path(top.stdout.strip()).resolve() != root.resolve():
            return None, False
        sha = git("rev-parse", "HEAD").stdout.strip()
        dirty = bool(git("status", "--porcelain", "--", "csrc").stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, False
    return (sha if re.fullmatch(r"[0-9a-f]{40}", sha) else None), dirty


def compile_flags(src: KernelSource, device: str) -> dict:
    """Flags beyond torch's own, without machine-specific paths (they enter the cache key)."""
    abi = binding.ABIS[src.abi]
    cflags = ["-O3", *abi.cflags]
    cuda_cflags: list[str] = []
    ldflags: list[str] = []
    if device == "cpu":
        cflags += [*cpu_isa_flags(), *CPU_EXTRA]
        ldflags += list(CPU_EXTRA)
    else:
        cflags += list(abi.cuda_defines)
        cuda_cflags = ["-O3", *abi.cflags, *abi.cuda_defines]
    return {"cflags": cflags, "cuda_cflags": cuda_cflags, "ldflags": ldflags, "include_dirs": ["csrc"]}


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if re.search(r"\berror\b|undefined symbol|fatal", line, re.I) and "ninja: build stopped" not in line:
            return " ".join(line.split())[:300]
    lines = [ln for ln in log.splitlines() if ln.strip()]
    return " ".join(lines[-1].split())[:300] if lines else "no output"


def _copy_atomically(src_file: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / src_file.name
    partial = dest_dir / f".{src_file.name}.partial-{os.getpid()}"
    shutil.copyfile(src_file, partial)
    os.replace(partial, final)
    return final


def build_kernel(checkout, out_dir, device: str = "auto", arch: str | None = None,
                 cache_dir=None, use_cache: bool = True, verbose: bool = False) -> BuildResult:
    started = time.monotonic()
    root = Path(checkout)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise RopeBenchError(f"--out must be a folder, not a file: {out_dir}")
    device = resolve_device(device)
    src = read_kernel(root, device)
    torch_version, torch_cuda = torch_versions()
    if device == "cuda" and torch_cuda is None:
        raise RopeBenchError(f"torch {torch_version} has no CUDA build: cannot build a CUDA kernel "
                             "(use --device cpu, or a CUDA-enabled torch)")
    arch = resolve_arch(arch, device)
    home = cuda_home() if device == "cuda" else None
    shash = source_hash(src)
    namespace = f"rb_{shash[:10]}"
    library = f"{namespace}.so"
    flags = compile_flags(src, device)
    commit, dirty = git_commit(root)
    record = {
        "namespace": namespace, "library": library, "op": OP_NAME, "device": device,
        "traits": src.info(), "abi": src.abi, "kernel": src.kernel, "schema": src.schema,
        "flags": flags, "torch": torch_version, "torch_cuda": torch_cuda,
        "cuda": nvcc_version(home) if device == "cuda" else None,
        "arch": arch if device == "cuda" else platform.machine(),
        "source_hash": shash, "builder_version": BUILDER_VERSION,
        "python": platform.python_version(),
    }
    key_fields = {k: record[k] for k in ("source_hash", "device", "abi", "flags", "torch", "torch_cuda",
                                         "cuda", "arch", "builder_version")}
    cache_key = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()[:20]
    record["cache_key"] = cache_key
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    entry = cache / cache_key
    out_dir = Path(out_dir)

    log_path = None
    cached = use_cache and (entry / library).is_file() and (entry / "build.json").is_file()
    if cached:
        record.update({k: v for k, v in json.loads((entry / "build.json").read_text()).items()
                       if k in ("built_at", "build_seconds")})
    else:
        log_path, lib_bytes = _compile(src, record, home, cache, verbose)
        record["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        record["build_seconds"] = round(time.monotonic() - started, 1)
        if use_cache:
            tmp_entry = Path(tempfile.mkdtemp(prefix=f".{cache_key}.", dir=_mkdir(cache)))
            (tmp_entry / library).write_bytes(lib_bytes)
            (tmp_entry / "build.json").write_text(json.dumps(record, indent=2) + "\n")
            try:
                os.replace(tmp_entry, entry)
            except OSError:  # a concurrent build got there first: theirs is as good
                shutil.rmtree(tmp_entry, ignore_errors=True)
        lib_source = lib_bytes
    if cached:
        lib_source = (entry / library).read_bytes()

    record["commit"] = commit
    record["dirty"] = dirty
    version = f"{BASE_VERSION}+{shash[:10]}"
    files = {
        f"{PACKAGE}/__init__.py": _PACKAGE_INIT.encode(),
        f"{PACKAGE}/build.json": (json.dumps(record, indent=2) + "\n").encode(),
        f"{PACKAGE}/{library}": lib_source,
    }
    with tempfile.TemporaryDirectory(prefix="ropebench-wheel-") as tmp:
        built = write_wheel(Path(tmp), PACKAGE, version, files,
                            summary=f"vLLM RoPE kernel {src.kernel} ({(commit or 'no commit')[:12]}), "
                                    f"built by ropebench")
        final = _copy_atomically(built, out_dir)
    return BuildResult(wheel=final, cached=cached, log=log_path, info=record,
                       seconds=time.monotonic() - started)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _compile(src: KernelSource, record: dict, home: str | None, cache: Path, verbose: bool):
    """Compile in a child process; return (log path, library bytes) or raise BuildFailed."""
    logs = _mkdir(cache / "logs")
    log_path = logs / f"{record['namespace']}-{record['device']}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    with tempfile.TemporaryDirectory(prefix="ropebench-build-") as tmp:
        tmp = Path(tmp)
        tree = tmp / "src"
        for rel in src.files:
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.root / rel, tree / rel)
        binding_file = tree / f"rb_binding{binding.SOURCE_SUFFIX[src.device]}"
        binding_file.write_text(binding.binding_source(src, record["namespace"], src.kernel))
        flags = record["flags"]
        cflags, cuda_cflags = list(flags["cflags"]), list(flags["cuda_cflags"])
        if src.device == "cuda":
            for inc in pip_cuda_include_dirs():
                cflags += ["-idirafter", inc]
                cuda_cflags += ["-Xcompiler", f"-idirafter,{inc}"]
        spec = {
            "name": record["namespace"], "sources": [str(binding_file)],
            "extra_cflags": cflags, "extra_cuda_cflags": cuda_cflags, "extra_ldflags": flags["ldflags"],
            "extra_include_paths": [str(tree / d) for d in flags["include_dirs"]],
            "build_directory": str(_mkdir(tmp / "build")), "with_cuda": src.device == "cuda",
        }
        (tmp / "spec.json").write_text(json.dumps(spec))
        env = dict(os.environ)
        if src.device == "cuda":
            env["TORCH_CUDA_ARCH_LIST"] = record["arch"]
            if home:
                env["CUDA_HOME"] = home
        cmd = [sys.executable, "-m", "ropebench.kernels._compile", str(tmp / "spec.json")]
        with open(log_path, "w") as log:
            log.write(f"# ropebench build-kernel: {src.root} {src.kernel} ({src.device}, {src.abi})\n"
                      f"# {' '.join(cmd)}\n# spec: {json.dumps(spec)}\n")
            log.flush()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
            try:
                for line in proc.stdout:
                    log.write(line)
                    if verbose:
                        sys.stderr.write(line)
                rc = proc.wait()
            finally:  # interrupted (Ctrl-C, SIGTERM): the compiler must not outlive its temp tree
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        text = log_path.read_text(errors="replace")
        lib = Path(spec["build_directory"]) / record["library"]
        if rc != 0 or not lib.is_file():
            raise BuildFailed(f"building {src.kernel} failed: {_first_error(text)} "
                              f"(full compiler log: {log_path})")
        return log_path, lib.read_bytes()


_PACKAGE_INIT = '''"""One vLLM commit's RoPE kernel, built by ``ropebench build-kernel``.

``build.json`` beside this file says which op it registers (namespace, library, schema), from
which source and commit, and with which compiler flags and torch/CUDA versions.
ropebench.kernels.loader finds and loads it; importing this package loads nothing.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_info() -> dict:
    import json

    return json.loads((HERE / "build.json").read_text())
'''
