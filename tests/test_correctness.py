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


# ---- the gate near its tolerances -------------------------------------------------------------------
# compare() is fed float64 tensors, so the injected error is exact; the workload's dtype sets the bounds.
# Before the call every element is 1.0, so each rotated pair has |a| + |b| = 2 and the elementwise bound
# is 8 ulps x 2: bf16 (unit roundoff 2^-8) 8 x 2^-8 x 2 = 0.0625; fp16 (2^-11) 8 x 2^-11 x 2 = 0.0078125.
# The relative L2 bounds are bf16 1e-2, fp16 5e-3.
GATE = Workload(batch_size=1, seq_len=16, num_heads=2, num_kv_heads=1, head_size=16, rotary_dim=8,
                dtype="bfloat16", max_position=64)


def _gate_case(workload, edit):
    """(before, after, reference) where after = reference (pass-through unchanged), then edit(q_after)."""
    from ropebench.correctness import compare
    from ropebench.reference import rope_reference
    from ropebench.workload import cos_sin_cache

    n = workload.num_tokens
    q0 = torch.ones(n, workload.num_heads * workload.head_size, dtype=torch.float64)
    k0 = torch.ones(n, workload.num_kv_heads * workload.head_size, dtype=torch.float64)
    positions = torch.arange(n) * 3 + 1
    cache = cos_sin_cache(workload.max_position, workload.rotary_dim)
    rq, rk = rope_reference(positions, q0, k0, workload.head_size, cache, workload.is_neox)
    q1, k1 = rq.clone(), rk.clone()
    edit(q1.view(n, -1, workload.head_size), k1.view(n, -1, workload.head_size))
    return compare(workload, (q0, k0), (q1, k1), (rq, rk))


def _scale_rotated(factor, rot):
    def edit(q, k):
        q[..., :rot] *= factor
        k[..., :rot] *= factor
    return edit


@pytest.mark.parametrize("dtype,bound", [("bfloat16", 1e-2), ("float16", 5e-3)])
def test_l2_alone_decides_near_its_bound(dtype, bound):
    """Bugs caught: the L2 verdict dropped, or the L2 bound loosened (10x). Every rotated element is off
    by the same relative amount e, so rel L2 = e exactly, while each element stays within its own bound
    (e x |r| <= e x (|a|+|b|) = 2e, below 0.0625 and 0.0078 for these e)."""
    rot = GATE.rotary_dim
    w = GATE.replace(dtype=dtype)
    inside = _gate_case(w, _scale_rotated(1 + 0.99 * bound, rot))
    assert inside.ok and inside.rel_l2 == pytest.approx(0.99 * bound)
    outside = _gate_case(w, _scale_rotated(1 + 1.01 * bound, rot))
    assert not outside.ok and outside.bad_rotated == 0 and outside.changed_passthrough == 0
    assert outside.detail.startswith("rel L2")


@pytest.mark.parametrize("style", ["neox", "gptj"])
# NeoX: first of (1,5), second of (2,6); GPT-J: second of (0,1), first of (6,7)
@pytest.mark.parametrize("column", [1, 6])
@pytest.mark.parametrize("dtype,bound", [("bfloat16", 0.0625), ("float16", 0.0078125)])
def test_one_element_decides_near_its_bound(style, column, dtype, bound):
    """Bugs caught: the elementwise bound loosened (10x), or only one member of each pair checked. One
    element of one head is off; the L2 over the whole output stays far below its bound."""
    w = GATE.replace(style=style, dtype=dtype)

    def off_by(amount):
        def edit(q, k):
            q[2, 1, column] += amount
        return edit

    inside = _gate_case(w, off_by(0.98 * bound))
    assert inside.ok, inside.detail
    outside = _gate_case(w, off_by(1.02 * bound))
    assert not outside.ok and outside.bad_rotated == 1 and outside.changed_passthrough == 0
    assert outside.rel_l2 < 0.5 * REL_L2[dtype] and outside.detail == "1 rotated elements off"


REL_L2 = {"bfloat16": 1e-2, "float16": 5e-3}


@pytest.mark.parametrize("column", [8, 15])  # rot_dim itself (the first pass-through column), the last
def test_pass_through_is_checked_from_column_rot_dim(column):
    """Bug caught: the pass-through check starting one column late, skipping column rot_dim."""
    def edit(q, k):
        k[0, 0, column] = torch.nextafter(k[0, 0, column], torch.tensor(2.0, dtype=torch.float64))

    check = _gate_case(GATE, edit)
    assert not check.ok and check.changed_passthrough == 1 and check.bad_rotated == 0
    assert check.detail == "1 pass-through elements changed"


class Recording(TorchBackend):
    """A right kernel that keeps the inputs the gate gave it and asks for a float32 cache, as FlashInfer does."""

    def cache_dtype(self, workload):
        return torch.float32

    def prepare(self, workload, inputs):
        self.seen = inputs.clone()
        return super().prepare(workload, inputs)


def test_the_gate_gives_the_backend_the_cache_dtype_it_asks_for():
    """Bug caught: the gate ignoring backend.cache_dtype(): FlashInfer would be checked on a cache in q's dtype
    (bf16 here), which it rejects or reads wrongly, so the gate would not test the call that is timed."""
    backend = Recording()
    assert check_backend(backend, W).ok
    assert backend.seen.cos_sin_cache.dtype == torch.float32 != W.torch_dtype


def test_the_gate_checks_on_inputs_other_than_the_timed_ones():
    """Bug caught: the gate drawing the same inputs as the timing (seed offset dropped): a kernel that
    special-cases, or caches a result for, the timed inputs would pass unseen."""
    backend = Recording()
    check_backend(backend, W)
    timed = W.make_inputs()
    assert not torch.equal(backend.seen.query, timed.query)
    assert not torch.equal(backend.seen.positions, timed.positions)


def test_max_abs_is_the_largest_error():
    """Bug caught: Check.max_abs not recorded (None or 0): the one number that says how far off a wrong
    kernel is. One element off by 0.03: max_abs is that error, whatever the other heads and key do."""
    check = _gate_case(GATE, lambda q, k: q[2, 1].__setitem__(1, q[2, 1, 1] + 0.03))
    assert check.max_abs == pytest.approx(0.03, rel=1e-9)


def test_an_exactly_right_zero_pair_is_not_off():
    """Bug caught: the elementwise bound's floor dropped or negated: a pair that is 0 before the call has a
    bound of 0, and an exact 0 must still pass (zero padding in real batches)."""
    from ropebench.correctness import compare

    zeros = torch.zeros(GATE.num_tokens, GATE.num_heads * GATE.head_size, dtype=torch.float64)
    check = compare(GATE, (zeros, None), (zeros.clone(), None), (zeros.clone(), None))
    assert check.ok and check.bad_rotated == 0 and check.max_abs == 0.0


def test_each_failed_check_is_one_clause_of_the_detail():
    """Bug caught: the detail's clauses run together (or joined with junk): a wrong kernel's one line must
    say each check it failed. Every rotated element 50% off fails L2 and the elementwise check."""
    check = _gate_case(GATE, _scale_rotated(1.5, GATE.rotary_dim))
    l2, elements = check.detail.split("; ")
    assert l2.startswith("rel L2 5.00e-01 > ") and elements == f"{check.bad_rotated} rotated elements off"
    assert check.bad_rotated > 0 and not check.ok


def test_a_missing_tensor_is_skipped_wherever_it_sits():
    """Bug caught: the loop stopping at the first missing tensor (break for continue): every tensor after it
    would go unchecked. A missing query ahead of a wrong key: the key is still checked."""
    from ropebench.correctness import compare

    k0 = torch.ones(GATE.num_tokens, GATE.num_kv_heads * GATE.head_size, dtype=torch.float64)
    k1 = k0.clone()
    k1[0, 1] += 0.5
    check = compare(GATE, (None, k0), (None, k1), (None, k0.clone()))
    assert not check.ok and check.bad_rotated == 1


def test_an_error_exactly_at_the_element_bound_passes():
    """Bug caught: the elementwise bound made exclusive: "within 8 ulps" admits an error of exactly 8 ulps.
    Inputs of 1.0 (pair magnitude 2) and a reference equal to them (position 0 does not turn): the bf16 bound
    is 8 x 2^-8 x 2 = 0.0625, and 1.0 + 0.0625 is exact, so one element is off by exactly the bound."""
    from ropebench.correctness import compare

    x0 = torch.ones(GATE.num_tokens, GATE.num_heads * GATE.head_size, dtype=torch.float64)
    at, past = x0.clone(), x0.clone()
    at[0, 1] += 0.0625
    past[0, 1] += 0.0625 + 2.0**-20
    assert compare(GATE, (x0, None), (at, None), (x0.clone(), None)).bad_rotated == 0
    assert compare(GATE, (x0, None), (past, None), (x0.clone(), None)).bad_rotated == 1


@pytest.mark.parametrize("style", ["neox", "gptj"])
def test_full_rotary_has_no_pass_through_and_still_checks_every_element(style):
    """Bug caught: a rotary_dim == head_size workload (no pass-through columns) mishandled: the empty
    pass-through slice must count 0 changed, and the last rotated column must still be checked."""
    w = GATE.replace(rotary_dim=GATE.head_size, style=style)
    right = _gate_case(w, lambda q, k: None)
    assert right.ok and right.changed_passthrough == 0
    wrong = _gate_case(w, lambda q, k: q[0, 0].__setitem__(w.head_size - 1, q[0, 0, -1] + 0.5))
    assert not wrong.ok and wrong.bad_rotated == 1 and wrong.changed_passthrough == 0
