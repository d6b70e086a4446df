"""Backend registry: the one list of backends. The CLI's --backends, the asv grids (ropebench.grid),
fidelity, the tests and the report take it from here. Adding a backend is one module (a Backend
subclass) and one line below. Modules are imported on first use, so listing names never imports torch.
"""

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


def register(name: str, module: str, cls: str) -> None:
    """Add a backend (a Backend subclass ``cls`` in ``module``). For plugins and tests; must run before
    ropebench.grid is imported for the asv grids to include it."""
    global NAMES
    _REGISTRY[name] = (module, cls)
    NAMES = tuple(_REGISTRY)
    _instances.pop(name, None)


def create(name: str, **options):
    """A new instance of a backend with its options (e.g. ``create("vllm", op_dir=...)``)."""
    try:
        module, cls = _REGISTRY[name]
    except KeyError:
        raise RopeBenchError(f"unknown backend {name!r}; choose from {', '.join(NAMES)}") from None
    return getattr(importlib.import_module(module), cls)(**options)


def get_backend(name: str):
    """The shared instance of a backend with its default options."""
    if name not in _instances:
        _instances[name] = create(name)
    return _instances[name]


def parse_backends(text: str) -> list[str]:
    names = [n.strip() for n in str(text).split(",") if n.strip()]
    if not names:
        raise RopeBenchError("--backends is empty")
    for n in names:
        if n not in _REGISTRY:
            raise RopeBenchError(f"unknown backend {n!r}; choose from {', '.join(NAMES)}")
    return names
