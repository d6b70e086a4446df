"""Backend registry. Modules are imported on first use, so listing names never imports torch."""

from __future__ import annotations

import importlib

from ropebench.errors import RopeBenchError

# name -> (module, class); the order is the order of tables and plots.
_REGISTRY = {
    "torch": ("ropebench.backends.torch_native", "TorchBackend"),
    "flashinfer": ("ropebench.backends.flashinfer", "FlashInferBackend"),
    "vllm": ("ropebench.backends.vllm", "VllmBackend"),
}
NAMES = tuple(_REGISTRY)
_instances: dict[str, object] = {}


def get_backend(name: str):
    try:
        module, cls = _REGISTRY[name]
    except KeyError:
        raise RopeBenchError(f"unknown backend {name!r}; choose from {', '.join(NAMES)}") from None
    if name not in _instances:
        _instances[name] = getattr(importlib.import_module(module), cls)()
    return _instances[name]


def parse_backends(text: str) -> list[str]:
    names = [n.strip() for n in str(text).split(",") if n.strip()]
    if not names:
        raise RopeBenchError("--backends is empty")
    for n in names:
        if n not in _REGISTRY:
            raise RopeBenchError(f"unknown backend {n!r}; choose from {', '.join(NAMES)}")
    return names
