"""FlashInfer's ``apply_rope_with_cos_sin_cache_inplace`` (the entry point vLLM and SGLang call).

It needs a float32 cos_sin_cache and fp16/bf16 q/k, and for head sizes 64/128/256/512 its kernel
reads and writes whole heads, so its own traffic is the full-head byte count.
"""

from __future__ import annotations

import importlib.util

from ropebench.backends.base import Backend
from ropebench.errors import RopeBenchError

FAST_HEAD_SIZES = (64, 128, 256, 512)


class FlashInferBackend(Backend):
    name = "flashinfer"
    label = "FlashInfer"
    device_types = ("cuda",)
    dtypes = ("bfloat16", "float16")
    traffic = "full_head"

    def available(self, device_type: str = "cuda") -> tuple[bool, str]:
        if device_type != "cuda":
            return False, "flashinfer runs on CUDA GPUs only"
        if importlib.util.find_spec("flashinfer") is None:
            return False, "flashinfer is not installed (pip install 'ropebench[flashinfer]')"
        return True, ""

    def unsupported(self, workload):
        if workload.dtype == "float32":
            return "FlashInfer's RoPE takes fp16/bf16 q/k only (it refuses fp32)"
        if workload.head_size not in FAST_HEAD_SIZES:
            # vLLM enables FlashInfer's RoPE only for these head sizes too; on the H200 its generic
            # kernel faulted (misaligned address) on heads of 80 and 96, which poisons the CUDA context.
            return f"FlashInfer's RoPE is used for head sizes {'/'.join(map(str, FAST_HEAD_SIZES))} only"
        return super().unsupported(workload)

    def input_problem(self, positions, query, cos_sin_cache):
        import torch

        if cos_sin_cache.dtype != torch.float32:
            return f"flashinfer needs a float32 cos_sin_cache, got {cos_sin_cache.dtype}"
        return super().input_problem(positions, query, cos_sin_cache)

    def cache_dtype(self, workload):
        import torch

        return torch.float32


    def apply(self, positions, query, key, head_size, cos_sin_cache, is_neox):
        from flashinfer.rope import apply_rope_with_cos_sin_cache_inplace

        if key is None:
            raise RopeBenchError("the flashinfer backend needs a key tensor")
        pos = positions.reshape(-1)
        num_tokens = pos.numel()
        apply_rope_with_cos_sin_cache_inplace(
            positions=pos, query=query.view(num_tokens, -1), key=key.view(num_tokens, -1),
            head_size=head_size, cos_sin_cache=cos_sin_cache, is_neox=is_neox)

    def prepare(self, workload, inputs):
        from flashinfer.rope import apply_rope_with_cos_sin_cache_inplace

        reason = self.unsupported(workload)
        if reason:
            from ropebench.errors import Unsupported

            raise Unsupported(reason)
        # Views made once, outside the timed call.
        n = workload.num_tokens
        kwargs = dict(positions=inputs.positions.reshape(-1), query=inputs.query.view(n, -1),
                      key=inputs.key.view(n, -1), head_size=workload.head_size,
                      cos_sin_cache=inputs.cos_sin_cache, is_neox=workload.is_neox)

        def call():
            apply_rope_with_cos_sin_cache_inplace(**kwargs)

        return call
