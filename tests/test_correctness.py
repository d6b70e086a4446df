"""The correctness check must catch wrong kernels, not just pass right ones."""

import pytest
import torch

from ropebench.backends.torch_native import TorchBackend
from ropebench.correctness import check_backend
from ropebench.workload import Workload

W = Workload(batch_size=2, seq_len=16, num_heads=8, num_kv_heads=4, head_size=128, rotary_dim=32,
             dtype="bfloat16")


class SwappedStyle(TorchBackend):
    def apply(self, positions, query, key, head_size, cache, is_neox):
        super().apply(positions, query, key, head_size, cache, not is_neox)


class TouchesPassThrough(TorchBackend):
    def apply(self, positions, query, key, head_size, cache, is_neox):
        super().apply(positions, query, key, head_size, cache, is_neox)
        query.view(-1, head_size)[:, -1] += 1e-2  # a kernel that writes past rotary_dim


class WrongRow(TorchBackend):
    def apply(self, positions, query, key, head_size, cache, is_neox):
        super().apply((positions + 1) % cache.shape[0], query, key, head_size, cache, is_neox)


class OneElementOff(TorchBackend):
    def apply(self, positions, query, key, head_size, cache, is_neox):
        super().apply(positions, query, key, head_size, cache, is_neox)
        query.view(-1, head_size)[3, 5] += 0.5  # small in L2 over the tensor, wrong as an element


class SkipsKey(TorchBackend):
    def apply(self, positions, query, key, head_size, cache, is_neox):
        super().apply(positions, query, None, head_size, cache, is_neox)


@pytest.mark.parametrize("wrong", [SwappedStyle, TouchesPassThrough, WrongRow, OneElementOff, SkipsKey])
def test_wrong_kernels_are_caught(wrong):
    check = check_backend(wrong(), W)
    assert not check.ok
    assert check.detail


def test_right_kernel_passes_and_reports_error():
    check = check_backend(TorchBackend(), W)
    assert check.ok
    assert 0 < check.rel_l2 < 1e-2


def test_pass_through_check_is_bitwise():
    class TinyChange(TorchBackend):
        def apply(self, positions, query, key, head_size, cache, is_neox):
            super().apply(positions, query, key, head_size, cache, is_neox)
            v = query.view(-1, head_size)[:, 100:101]
            v.copy_(torch.nextafter(v.float(), torch.full_like(v.float(), 1e9)).to(v.dtype))

    check = check_backend(TinyChange(), W.replace(dtype="float32"))
    assert check.changed_passthrough > 0 and not check.ok
