"""vLLM's RoPE op: a kernel built by ``ropebench build-kernel`` (one vLLM commit's source), or an
installed vLLM's ``torch.ops._C.rotary_embedding``, each called with its era's convention.

Like vLLM's forward_cuda, it is given a cos_sin_cache in q's dtype.
"""

from __future__ import annotations

from ropebench.backends.base import Backend
from ropebench.errors import Unsupported
from ropebench.kernels.loader import KernelOp, find_op


class VllmBackend(Backend):
    name = "vllm"
    label = "vLLM op"
    device_types = ("cuda", "cpu")

    def __init__(self, op_dir: str | None = None):
        self._op_dir = op_dir
        self._found: tuple[KernelOp | None, str] | None = None

    def op(self) -> tuple[KernelOp | None, str]:
        if self._found is None:
            self._found = find_op(self._op_dir)
        return self._found

    def available(self, device_type: str = "cuda") -> tuple[bool, str]:
        op, why = self.op()
        if op is None:
            return False, why
        if op.device != device_type:
            return False, f"the vLLM op found is a {op.device} kernel ({op.describe()}), not {device_type}"
        return True, ""

    def unsupported(self, workload):
        reason = super().unsupported(workload)
        if reason:
            return reason
        return self.op()[0].unsupported(workload.is_neox)

    def input_problem(self, positions, query, cos_sin_cache):
        import torch

        if positions.dtype != torch.int64:
            return f"vLLM's op takes int64 positions, got {positions.dtype}"
        return super().input_problem(positions, query, cos_sin_cache)

    def apply(self, positions, query, key, head_size, cos_sin_cache, is_neox):
        op, why = self.op()
        if op is None:
            raise Unsupported(why)
        op(positions, query, key, head_size, cos_sin_cache, is_neox)

    def prepare(self, workload, inputs):
        reason = self.unsupported(workload)
        if reason:
            raise Unsupported(reason)
        return self.op()[0].bind(inputs.positions, inputs.query, inputs.key, workload.head_size,
                                 inputs.cos_sin_cache, workload.is_neox)

    def describe(self) -> str:
        op, why = self.op()
        return op.describe() if op else why
