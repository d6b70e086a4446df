"""Prove a backend right before it is timed: one call on fresh inputs against the float64 reference.

Two checks, both required:
- relative L2 error of the rotated output (q and k together) within the dtype's bound;
- every element: rotated ones within an elementwise bound scaled by their pair's magnitude,
  pass-through ones (past rotary_dim) unchanged bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

from ropebench.reference import pair_indices, rope_reference
from ropebench.workload import DTYPE_TABLE, Workload

ELEMENT_ULPS = 8  # unit roundoffs (workload.DTYPE_TABLE) per element a correct kernel may be off by
# The relative L2 error benchmarks/accuracy.py tracks; bump only when what it measures changes (see
# timing.MEASUREMENT_VERSION for why a needless bump orphans the history).
ACCURACY_VERSION = "1"


@dataclass
class Check:
    ok: bool
    rel_l2: float
    max_abs: float
    bad_rotated: int
    changed_passthrough: int
    detail: str = ""

    def summary(self) -> str:
        if self.ok:
            return f"ok (rel L2 {self.rel_l2:.1e})"
        return f"WRONG: {self.detail}"


def check_backend(backend, workload: Workload) -> Check:
    """Run the backend once on fresh inputs and compare with the float64 reference."""
    inputs = workload.make_inputs(cache_dtype=backend.cache_dtype(workload), seed_offset=7919)
    before_q, before_k = inputs.query.clone(), inputs.key.clone()
    fn = backend.prepare(workload, inputs)
    fn()
    if inputs.query.is_cuda:
        import torch

        torch.cuda.synchronize(inputs.query.device)
    ref_q, ref_k = rope_reference(inputs.positions, before_q, before_k, workload.head_size,
                                  inputs.cos_sin_cache_f64, workload.is_neox)
    return compare(workload, (before_q, before_k), (inputs.query, inputs.key), (ref_q, ref_k))


def _bits(t):
    import torch

    return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


def compare(workload: Workload, before, after, reference) -> Check:
    """Compare on the tensors' own device; only scalars come back to the host."""
    import torch

    d, rot = workload.head_size, workload.rotary_dim
    first, second = pair_indices(rot, workload.is_neox)  # CPU indices index a tensor on any device
    err_sq = ref_sq = max_abs = 0.0
    bad = changed = 0
    for x0, x1, r in zip(before, after, reference):
        if x0 is None:
            continue
        n = x0.numel() // d
        x0, x1, r = x0.reshape(n, d), x1.reshape(n, d), r.reshape(n, d)
        # pass-through: identical bits (none when rot == d)
        changed += int((_bits(x0[:, rot:]) != _bits(x1[:, rot:])).sum())
        diff = (x1[:, :rot].double() - r[:, :rot]).abs()
        err_sq += float((diff**2).sum())
        ref_sq += float((r[:, :rot] ** 2).sum())
        max_abs = max(max_abs, float(diff.max()))
        # Elementwise bound, proportional to the magnitude of the pair the element belongs to.
        pair = (x0[:, first].double().abs() + x0[:, second].double().abs()).repeat(1, 2)
        bound = ELEMENT_ULPS * DTYPE_TABLE[workload.dtype].unit_roundoff * pair + 1e-30
        bad += int((diff[:, torch.cat((first, second))] > bound).sum())
    rel = (err_sq / ref_sq) ** 0.5 if ref_sq else 0.0
    ok_l2 = rel <= DTYPE_TABLE[workload.dtype].rel_l2_bound
    detail = []
    if not ok_l2:
        detail.append(f"rel L2 {rel:.2e} > {DTYPE_TABLE[workload.dtype].rel_l2_bound:.0e}")
    if bad:
        detail.append(f"{bad} rotated elements off")
    if changed:
        detail.append(f"{changed} pass-through elements changed")
    return Check(ok=ok_l2 and not bad and not changed, rel_l2=rel, max_abs=max_abs, bad_rotated=bad,
                 changed_passthrough=changed, detail="; ".join(detail))
