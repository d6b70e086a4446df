"""Find and call a vLLM RoPE op: one built by ``ropebench build-kernel``, or an installed vLLM's.

A built kernel is installed as the Python package ``ropebench_vllm_kernel``: the shared library
plus ``build.json`` (namespace, library file, device, kernel-info traits, commit, flags, versions).
Its op is registered under a private namespace, so it never clashes with an installed vLLM's ``_C``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ropebench.errors import RopeBenchError, Unsupported

PACKAGE = "ropebench_vllm_kernel"
ENV_OP_DIR = "ROPEBENCH_VLLM_OP"  # a folder holding build.json and the library, or a build.json path


@dataclass
class KernelOp:
    """A loadable vLLM RoPE op and the calling convention of its era."""

    source: str  # "build" or "vllm"
    device: str  # "cuda" or "cpu"
    traits: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # build.json, or what we know of an installed vLLM
    path: Path | None = None
    _op: object = None

    @property
    def has_is_neox(self) -> bool:
        return self.traits.get("is_neox_arg", True)

    @property
    def key_optional(self) -> bool:
        return self.traits.get("key_optional", False)

    def describe(self) -> str:
        commit = (self.info.get("commit") or "")[:12] or "unknown commit"
        where = f"built kernel ({self.info.get('abi', self.traits.get('abi', '?'))} ABI, {commit})" \
            if self.source == "build" else f"installed vLLM {self.info.get('version', '')}".strip()
        return f"{where} on {self.device}"

    def unsupported(self, is_neox: bool, has_key: bool = True) -> str | None:
        if not is_neox and not self.has_is_neox:
            return "this vLLM era's kernel (rotary_embedding_neox) has no GPT-J style"
        if not has_key and not self.key_optional:
            return "this vLLM era's kernel requires a key tensor"
        return None

    def load(self):
        if self._op is None:
            self._op = _load_build(self) if self.source == "build" else _load_installed_vllm(self)
        return self._op

    def bind(self, positions, query, key, head_size: int, cos_sin_cache, is_neox: bool):
        """A zero-argument call of the op in this era's convention, views made once (outside any timing)."""
        reason = self.unsupported(is_neox, key is not None)
        if reason:
            raise Unsupported(reason)
        op = self.load()
        # Every era accepts 1-D int64 positions and 2-D [T, heads*head_size] q/k; E1 accepted
        # nothing else, so always pass those views (they share storage: still in place).
        pos = positions.reshape(-1)
        n = pos.numel()
        args = [pos, query.view(n, -1), None if key is None else key.view(n, -1), head_size, cos_sin_cache]
        if self.has_is_neox:
            args.append(is_neox)

        def call():
            op(*args)

        return call

    def __call__(self, positions, query, key, head_size: int, cos_sin_cache, is_neox: bool) -> None:
        self.bind(positions, query, key, head_size, cos_sin_cache, is_neox)()


def _load_build(kop: KernelOp):
    import torch

    lib = kop.path / kop.info["library"]
    try:
        torch.ops.load_library(str(lib))
    except (OSError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RopeBenchError(f"cannot load built vLLM kernel {lib}: {first}") from None
    namespace = getattr(torch.ops, kop.info["namespace"])
    return getattr(namespace, kop.info.get("op", "rotary_embedding"))


def _load_installed_vllm(kop: KernelOp):
    import importlib

    import torch

    # Newest first: the stable-ABI library, the legacy _C (TORCH_LIBRARY), then pybind eras.
    for module in ("vllm._C_stable_libtorch", "vllm._C"):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(torch.ops._C, "rotary_embedding"):
            return torch.ops._C.rotary_embedding
    try:
        from vllm._C import ops  # pybind era (before June 2024)

        return ops.rotary_embedding
    except ImportError:
        pass
    try:
        from vllm import pos_encoding_ops  # first era: NeoX only

        kop.traits["is_neox_arg"] = False
        return pos_encoding_ops.rotary_embedding_neox
    except ImportError:
        pass
    raise RopeBenchError("vLLM is installed but exposes no rotary_embedding op")


def read_build(path: Path) -> KernelOp:
    path = Path(path)
    meta = path if path.name == "build.json" else path / "build.json"
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise RopeBenchError(f"no usable build.json at {meta}: {exc}") from None
    return KernelOp(source="build", device=info.get("device", "cuda"), traits=info.get("traits", {}),
                    info=info, path=meta.parent)


def _ours(spec) -> bool:
    """Under asv (which sets ASV=true) only a package installed in asv's own environment counts: the
    environment also sees the runner's site-packages, where an unrelated kernel or vLLM may sit."""
    if os.environ.get("ASV") != "true":
        return True
    origin = spec.origin or next(iter(spec.submodule_search_locations or []), "")
    return Path(origin).resolve().is_relative_to(Path(sys.prefix).resolve())


def find_op(explicit: str | os.PathLike | None = None) -> tuple[KernelOp | None, str]:
    """(op, "") or (None, why not). Looks, in order, at an explicit folder (argument or
    $ROPEBENCH_VLLM_OP), an installed built kernel, then an installed vLLM. Does not touch CUDA."""
    explicit = explicit or os.environ.get(ENV_OP_DIR)
    if explicit:
        return read_build(Path(explicit)), ""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations and _ours(spec):
        op = read_build(Path(next(iter(spec.submodule_search_locations))))
        if op.info.get("missing"):  # wheel mode's placeholder: this commit has no vLLM wheel
            return None, op.info["missing"]
        return op, ""
    spec = importlib.util.find_spec("vllm")
    if spec is not None and _ours(spec):
        version = ""
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("vllm")
        except Exception:  # noqa: BLE001 - metadata is only decoration here
            pass
        return KernelOp(source="vllm", device="cuda", info={"version": version},
                        traits={"is_neox_arg": True, "key_optional": True}), ""
    return None, ("no vLLM RoPE op: build one with `ropebench build-kernel <vllm-checkout>` "
                  f"(or set ${ENV_OP_DIR}), or install vLLM")
