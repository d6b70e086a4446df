"""ropebench: honest GPU benchmarks of RoPE kernels across vLLM's history."""

from ropebench.errors import RopeBenchError

__version__ = "0.1.0"

__all__ = ["RopeBenchError", "Workload", "apply_rope", "__version__"]


def __getattr__(name):
    # Lazy, so that `import ropebench` (asv discovery, the CLI's --help) does not import torch.
    if name == "Workload":
        from ropebench.workload import Workload

        return Workload
    if name == "apply_rope":
        from ropebench.api import apply_rope

        return apply_rope
    raise AttributeError(name)
