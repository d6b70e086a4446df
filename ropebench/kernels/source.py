"""Read one vLLM tree's RoPE kernel: where it is, its host signature, its traits, its include
closure and the op schema the builder registers. Pure text work: no torch, no compiler.

A tree is anything with ``is_file(rel)`` and ``read_bytes(rel)`` (posix paths relative to the
top): a checkout on disk (``CheckoutTree``), or one commit of a git repository read without a
checkout (``ropebench.kernels.gittree``), so ``ropebench plan`` resolves a commit's kernel with
exactly the code ``build-kernel`` uses.

Eras differ only in data: the candidate paths below, and the host signature's parameters. Each
trait is a row of ``TRAITS`` (a name and how to read it off the parsed signature); each parameter
the op may take is a row of ``PARAMS`` (its schema type, mutation and default). Nothing here
branches on an era name.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from ropebench.errors import EXIT_NO_KERNEL, RopeBenchError

# Where each device's RoPE kernel has lived, newest layout first. The first file holding a host
# definition wins.
KERNEL_PATHS = {
    "cuda": ("csrc/libtorch_stable/pos_encoding_kernels.cu", "csrc/pos_encoding_kernels.cu"),
    "cpu": ("csrc/libtorch_stable/cpu/pos_encoding.cpp", "csrc/cpu/pos_encoding.cpp"),
}
# Quoted includes resolve against the including file's folder, then these (the builder passes
# -I<copy>/csrc, as vLLM's CMake does).
INCLUDE_ROOTS = ("csrc",)
# Host functions the op can wrap (``batched_rotary_embedding`` is a different op and is ignored).
FUNCTIONS = ("rotary_embedding", "rotary_embedding_neox")
OP_NAME = "rotary_embedding"  # what the builder registers, in every era


class NoKernel(RopeBenchError):
    """No RoPE kernel in the checkout, or a host signature we cannot read (exit EXIT_NO_KERNEL, 5)."""

    exit_code = EXIT_NO_KERNEL


@dataclass(frozen=True)
class Param:
    """How one host parameter appears in the op schema."""

    schema_type: str  # "Tensor", "int" or "bool" (optional-ness comes from the C++ type)
    mutable: bool = False
    default: str | None = None


# Every parameter a rotary_embedding host function has had, in any era. An unknown name is an
# unreadable signature: better exit EXIT_NO_KERNEL than register a wrong schema.
PARAMS = {
    "positions": Param("Tensor"),
    "query": Param("Tensor", mutable=True),
    "key": Param("Tensor", mutable=True),
    "head_size": Param("int"),
    "cos_sin_cache": Param("Tensor"),
    "is_neox": Param("bool"),
    "rope_dim_offset": Param("int", default="0"),
    "inverse": Param("bool", default="False"),
}
REQUIRED = ("positions", "query", "key", "head_size", "cos_sin_cache")

# C++ parameter types -> (schema type, optional?, ABI), tried in order on the normalized type.
_TENSOR = r"(?:torch::|at::)?(?P<stable>stable::)?Tensor"
CPP_TYPES = (
    (re.compile(rf"^(?:const )?(?:std|c10)::optional<{_TENSOR}>&?$"), "Tensor", True),
    (re.compile(rf"^(?:const )?{_TENSOR}&?$"), "Tensor", False),
    (re.compile(r"^(?:const )?(?:std::)?int64_t$"), "int", False),
    (re.compile(r"^(?:const )?int$"), "int", False),
    (re.compile(r"^(?:const )?bool$"), "bool", False),
)


@dataclass(frozen=True)
class HostParam:
    name: str
    cpp_type: str  # normalized C++ type text, e.g. "int64_t", "std::optional<torch::Tensor>"
    schema_type: str
    optional: bool
    stable: bool


@dataclass(frozen=True)
class Signature:
    function: str
    params: tuple[HostParam, ...]

    def has(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    def param(self, name: str) -> HostParam:
        return next(p for p in self.params if p.name == name)


# The traits kernel-info reports, in order: (key, how to read it off the signature).
TRAITS = (
    ("abi", lambda s: "stable" if any(p.stable for p in s.params) else "legacy"),
    ("function", lambda s: s.function),
    ("is_neox_arg", lambda s: s.has("is_neox")),
    ("key_optional", lambda s: s.param("key").optional),
    ("rope_dim_offset", lambda s: s.has("rope_dim_offset")),
    ("inverse", lambda s: s.has("inverse")),
    ("head_size_type", lambda s: s.param("head_size").cpp_type.replace("const ", "").replace("std::", "")),
)


class Tree(Protocol):
    """A source tree read by relative posix paths ("csrc/dispatch_utils.h")."""

    def is_file(self, rel: str) -> bool: ...

    def read_bytes(self, rel: str) -> bytes: ...


class CheckoutTree:
    """A checkout on disk. A path that leaves the top (``../x``) is not in the tree."""

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, rel: str) -> Path | None:
        # normpath first: "csrc/../../x" leaves the top as surely as "../x"; "" is an absolute path's first part
        if posixpath.normpath(rel).split("/")[0] in ("..", ""):
            return None
        return self.root / rel

    def is_file(self, rel: str) -> bool:
        path = self._path(rel)
        return path is not None and path.is_file()

    def read_bytes(self, rel: str) -> bytes:
        path = self._path(rel)
        if path is None:
            raise FileNotFoundError(rel)
        return path.read_bytes()


@dataclass(frozen=True)
class KernelSource:
    """One tree's RoPE kernel, as kernel-info prints it plus what the builder needs."""

    root: Path | None  # the checkout on disk; None for a tree read from git
    device: str  # "cuda" or "cpu"
    kernel: str  # path relative to root
    signature: Signature
    includes: tuple[str, ...]  # the quoted-include closure, relative to root, sorted
    tree: Tree | None = field(default=None, compare=False, repr=False)  # where the files are read

    @property
    def traits(self) -> dict:
        return {name: read(self.signature) for name, read in TRAITS}

    @property
    def abi(self) -> str:
        return self.traits["abi"]

    @property
    def schema(self) -> str:
        return schema_for(self.signature)

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the build copies: the kernel and its include closure."""
        return (self.kernel, *self.includes)

    def info(self) -> dict:
        """The kernel-info object: exactly the documented keys."""
        t = self.traits
        return {"kernel": self.kernel, "abi": t["abi"], "function": t["function"],
                "is_neox_arg": t["is_neox_arg"], "key_optional": t["key_optional"],
                "rope_dim_offset": t["rope_dim_offset"], "inverse": t["inverse"],
                "head_size_type": t["head_size_type"], "includes": list(self.includes),
                "schema": self.schema}


# ---- text helpers -----------------------------------------------------------------------------
_COMMENT_OR_STRING = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def strip_comments(text: str) -> str:
    """C/C++ text with each comment replaced by one space, as the preprocessor does (so a ``#include``
    after a comment that began behind code on an earlier line is no directive); string literals are
    left as they are."""

    def repl(m):
        s = m.group(0)
        return " " if s.startswith(("//", "/*")) else s

    return _COMMENT_OR_STRING.sub(repl, text)


def _normalize_type(text: str) -> str:
    """Collapse spaces: 'const torch::Tensor &' -> 'const torch::Tensor&'."""
    return re.sub(r"\s*([<>&:,*])\s*", r"\1", " ".join(text.split()))


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


_HOST_DEF = re.compile(r"(?<![\w:])void\s+(" + "|".join(FUNCTIONS) + r")\s*\(")


def find_host_definition(text: str) -> tuple[str, str] | None:
    """(function name, parameter text) of the first host *definition* (a body follows), or None."""
    code = strip_comments(text)
    for m in _HOST_DEF.finditer(code):
        depth = 1
        for close in range(m.end(), len(code)):  # find the ")" that closes the parameter list
            depth += {"(": 1, ")": -1}.get(code[close], 0)
            if not depth:
                break
        else:
            return None  # the text ends inside the parameter list
        if code[close + 1:].lstrip().startswith("{"):  # a definition; ";" would be a declaration
            return m.group(1), code[m.end(): close]
    return None


def parse_signature(function: str, params_text: str, where: str) -> Signature:
    params = []
    for raw in _split_top_level(params_text):
        decl = raw.split("=")[0].strip()  # drop a default value
        m = re.match(r"^(.*?)([A-Za-z_]\w*)$", decl, re.S)
        if not m or not m.group(1).strip():
            raise NoKernel(f"cannot parse parameter {' '.join(raw.split())!r} of {function} in {where}")
        cpp_type, name = _normalize_type(m.group(1)), m.group(2)
        if name not in PARAMS:
            raise NoKernel(f"unknown parameter {name!r} ({cpp_type}) of {function} in {where}")
        hit = next(((m, st, opt) for pat, st, opt in CPP_TYPES if (m := pat.match(cpp_type))), None)
        if hit is None:
            raise NoKernel(f"unsupported type {cpp_type!r} of parameter {name!r} of {function} in {where}")
        tm, schema_type, optional = hit
        if schema_type != PARAMS[name].schema_type:
            raise NoKernel(f"parameter {name!r} of {function} in {where} is {cpp_type}, "
                           f"expected a {PARAMS[name].schema_type}")
        stable = bool(tm.groupdict().get("stable"))
        params.append(HostParam(name, cpp_type, schema_type, optional, stable))
    names = [p.name for p in params]
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise NoKernel(f"{function} in {where} lacks parameter(s) {', '.join(missing)}")
    if len(set(names)) != len(names):
        raise NoKernel(f"{function} in {where} repeats a parameter name")
    if len({p.stable for p in params if p.schema_type == "Tensor"}) > 1:
        raise NoKernel(f"{function} in {where} mixes torch::Tensor and torch::stable::Tensor")
    return Signature(function, tuple(params))


def schema_for(sig: Signature) -> str:
    """The op schema: the host parameters in their order, as torch's schema language writes them."""
    args = []
    for p in sig.params:
        spec = PARAMS[p.name]
        text = spec.schema_type + ("!" if spec.mutable else "") + ("?" if p.optional else "")
        text += f" {p.name}" + (f"={spec.default}" if spec.default is not None else "")
        args.append(text)
    return f"{OP_NAME}({', '.join(args)}) -> ()"


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def quoted_includes(text: str) -> list[str]:
    return _INCLUDE.findall(strip_comments(text))


@lru_cache(maxsize=8192)
def _parsed(data: bytes) -> tuple[tuple[str, str] | None, tuple[str, ...]]:
    """(host definition, quoted includes) of one file's bytes. A history walk meets the same blob
    in thousands of commits; parsing it once keeps planning fast."""
    text = data.decode(errors="replace")
    return find_host_definition(text), tuple(quoted_includes(text))


def include_closure(tree: Tree, kernel: str) -> tuple[str, ...]:
    """vLLM files reached through quoted includes, recursively, relative to the top and sorted.

    A quoted include resolves like the preprocessor with -I<top>/csrc: first beside the including
    file, then under csrc/. One that resolves nowhere in the tree (a torch header written with
    quotes, a ROCm-only branch's file, a path leaving the tree) is not a vLLM file and is left out.
    """
    seen = {kernel}
    todo = [kernel]
    while todo:
        rel = todo.pop()
        here = posixpath.dirname(rel)
        for inc in _parsed(tree.read_bytes(rel))[1]:
            for base in (here, *INCLUDE_ROOTS):
                cand = posixpath.normpath(posixpath.join(base, inc))
                if tree.is_file(cand):
                    if cand not in seen:
                        seen.add(cand)
                        todo.append(cand)
                    break
    return tuple(sorted(seen - {kernel}))


def read_tree(tree: Tree, device: str = "cuda", root: Path | None = None, where: str = "the tree") -> KernelSource:
    """Find and read the RoPE kernel of ``device`` ("cuda" or "cpu") in any tree."""
    if device not in KERNEL_PATHS:
        raise RopeBenchError(f"unknown device {device!r}; choose cuda or cpu")
    for rel in KERNEL_PATHS[device]:
        if not tree.is_file(rel):
            continue
        found = _parsed(tree.read_bytes(rel))[0]
        if found is None:
            continue
        sig = parse_signature(*found, where=rel)
        return KernelSource(root=root, device=device, kernel=rel, signature=sig,
                            includes=include_closure(tree, rel), tree=tree)
    tried = ", ".join(KERNEL_PATHS[device])
    raise NoKernel(f"no {device} RoPE kernel in {where} (looked for a host definition of "
                   f"{' or '.join(FUNCTIONS)} in {tried})")


def read_kernel(checkout, device: str = "cuda") -> KernelSource:
    """Find and read the RoPE kernel of ``device`` ("cuda" or "cpu") in a vLLM checkout."""
    root = Path(checkout)
    if not root.is_dir():
        raise RopeBenchError(f"not a folder: {checkout}")
    return read_tree(CheckoutTree(root), device, root=root, where=str(checkout))
