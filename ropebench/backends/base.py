"""The one interface every RoPE backend implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from ropebench.errors import Unsupported
from ropebench.workload import DTYPES, Inputs, Workload


class Backend:
    """A RoPE implementation that rotates query and key in place, vLLM's op convention.

    Subclasses set the class attributes and implement ``available`` and ``apply``.
    """

    name: ClassVar[str]
    label: ClassVar[str]  # shown in tables and plots
    device_types: ClassVar[tuple[str, ...]] = ("cuda",)
    dtypes: ClassVar[tuple[str, ...]] = DTYPES
    # Which bytes this backend really moves: "rotary" (only the rotated part, the floor's model)
    # or "full_head" (reads and writes whole heads).
    traffic: ClassVar[str] = "rotary"

    def available(self, device_type: str = "cuda") -> tuple[bool, str]:
        """(ok, reason). Must answer without creating a CUDA context where it can."""
        raise NotImplementedError

    def cache_dtype(self, workload: Workload):
        """dtype of cos_sin_cache this backend is given (vLLM matches it to q; FlashInfer needs fp32)."""
        return workload.torch_dtype

    def unavailable(self, device: str) -> str | None:
        """Why this backend cannot run on this device ("cuda:1", "cpu") at all, or None: the one
        "can it run here" decision (run, fidelity, apply_rope and every point's skip use it).
        Decided without touching CUDA."""
        if device.split(":")[0] not in self.device_types:
            return f"runs on {'/'.join(self.device_types)} only"
        ok, reason = self.available(device.split(":")[0])
        return None if ok else reason

    def unsupported(self, workload: Workload) -> str | None:
        """Why this backend cannot run the workload, or None. Decided without touching CUDA."""
        why = self.unavailable(workload.device)
        if why and workload.device.split(":")[0] not in self.device_types:
            return f"{self.name} {why}"
        if workload.dtype not in self.dtypes:
            return f"{self.name} does not take {workload.dtype} q/k"
        return why

    def input_problem(self, positions, query, cos_sin_cache) -> str | None:
        """What in these tensors this backend cannot take (checked by apply_rope before any launch)."""
        dtype = str(query.dtype).replace("torch.", "")
        if dtype not in self.dtypes:
            return f"{self.name} does not take {dtype} q/k"
        return None

    def apply(self, positions, query, key, head_size: int, cos_sin_cache, is_neox: bool) -> None:
        """Rotate query and key (key may be None) in place."""
        raise NotImplementedError

    def prepare(self, workload: Workload, inputs: Inputs) -> Callable[[], None]:
        """An in-place call over these pre-allocated tensors; nothing is allocated by the caller."""
        reason = self.unsupported(workload)
        if reason:
            raise Unsupported(reason)
        args = (inputs.positions, inputs.query, inputs.key, workload.head_size, inputs.cos_sin_cache,
                workload.is_neox)
        apply = self.apply

        def call():
            apply(*args)

        return call

    def describe(self) -> str:
        """One line on what exactly runs (a version, a kernel's commit); shown by ``ropebench run``."""
        return self.label

    def traffic_bytes(self, workload: Workload) -> int | None:
        if self.traffic == "full_head":
            return workload.full_head_bytes()
        return workload.floor_bytes()
