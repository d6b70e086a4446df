"""What to rotate: shapes, style, dtype, device and seed; it makes its own inputs and knows its bytes.

Inputs follow vLLM's convention (benchmarks/kernels/benchmark_rope.py and RotaryEmbedding):
positions int64 in [0, max_position), query [..., num_heads * head_size], key
[..., num_kv_heads * head_size], and cos_sin_cache [max_position, rotary_dim] with cos in the
first half of each row and sin in the second.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

from ropebench.errors import RopeBenchError

STYLES = ("neox", "gptj")

# Canonical dtype names, with the aliases people type.
DTYPE_ALIASES = {
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float16": "float16", "fp16": "float16", "half": "float16",
    "float32": "float32", "fp32": "float32", "float": "float32",
}


@dataclass(frozen=True)
class DtypeSpec:
    """Everything ropebench knows about one q/k dtype, in one row."""

    element_size: int  # bytes: the byte model and the floor
    rel_l2_bound: float  # correctness: the most relative L2 error a correct kernel shows
    # Unit roundoff. A correct kernel is off by a few of them per element (the cache's rounding to its
    # dtype, fp32 arithmetic, the output's rounding): correctness.ELEMENT_ULPS of them per pair magnitude.
    unit_roundoff: float


DTYPE_TABLE = {
    "bfloat16": DtypeSpec(element_size=2, rel_l2_bound=1e-2, unit_roundoff=2.0**-8),
    "float16": DtypeSpec(element_size=2, rel_l2_bound=5e-3, unit_roundoff=2.0**-11),
    "float32": DtypeSpec(element_size=4, rel_l2_bound=1e-5, unit_roundoff=2.0**-24),
}
DTYPES = tuple(DTYPE_TABLE)  # the backends' default, the accuracy grid's axis


def canonical_dtype(name: str) -> str:
    try:
        return DTYPE_ALIASES[str(name).lower()]
    except KeyError:
        known = ", ".join(sorted(set(DTYPE_ALIASES.values())))
        raise RopeBenchError(f"unknown dtype {name!r}; choose one of {known}") from None


def canonical_style(style: str) -> str:
    s = str(style).lower().replace("-", "")
    if s in STYLES:
        return s
    raise RopeBenchError(f"unknown RoPE style {style!r}; choose neox (rotate half) or gptj (interleaved)")


@dataclass(frozen=True)
class Workload:
    """One RoPE problem. Sizes are validated on construction; the device when inputs are made."""

    batch_size: int = 16
    seq_len: int = 512
    num_heads: int = 32
    num_kv_heads: int | None = None  # None: as many as num_heads, like the seed
    head_size: int = 128
    rotary_dim: int = 32
    style: str = "neox"
    dtype: str = "bfloat16"
    max_position: int = 8192
    base: float = 10000.0
    seed: int = 0
    device: str = "cpu"
    flat_positions: bool = False  # positions [num_tokens] instead of the seed's [batch, seq_len]

    def __post_init__(self):
        set_ = object.__setattr__  # frozen dataclass
        set_(self, "dtype", canonical_dtype(self.dtype))
        set_(self, "style", canonical_style(self.style))
        if self.num_kv_heads is None:
            set_(self, "num_kv_heads", self.num_heads)
        for name in ("batch_size", "seq_len", "num_heads", "num_kv_heads", "head_size", "rotary_dim",
                     "max_position"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise RopeBenchError(f"{name} must be a positive integer, got {value!r}")
        if self.rotary_dim % 2:
            raise RopeBenchError(f"rotary_dim must be even, got {self.rotary_dim}")
        if self.rotary_dim > self.head_size:
            raise RopeBenchError(f"rotary_dim ({self.rotary_dim}) must not exceed head_size ({self.head_size})")
        if self.num_heads % self.num_kv_heads:
            raise RopeBenchError(
                f"num_heads ({self.num_heads}) must be divisible by num_kv_heads ({self.num_kv_heads})")
        if not (isinstance(self.base, (int, float)) and self.base > 1):
            raise RopeBenchError(f"base must be a number greater than 1, got {self.base!r}")
        set_(self, "device", normalize_device(self.device))

    # ---- derived sizes ---------------------------------------------------------------------------
    @property
    def num_tokens(self) -> int:
        return self.batch_size * self.seq_len

    @property
    def is_neox(self) -> bool:
        return self.style == "neox"

    @property
    def element_size(self) -> int:
        return DTYPE_TABLE[self.dtype].element_size

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    def replace(self, **changes) -> Workload:
        return dataclasses.replace(self, **changes)

    def label(self) -> str:
        kv = "" if self.num_kv_heads == self.num_heads else f"/{self.num_kv_heads}kv"
        return (f"{self.batch_size}x{self.seq_len} {self.num_heads}{kv}h d{self.head_size} "
                f"r{self.rotary_dim} {self.style} {self.dtype}")

    # ---- byte model ------------------------------------------------------------------------------
    def floor_bytes(self) -> int:
        """Bytes an in-place RoPE must move: the rotated part of q and k, read and written once."""
        heads = self.num_heads + self.num_kv_heads
        return 2 * self.num_tokens * heads * self.rotary_dim * self.element_size

    def full_head_bytes(self) -> int:
        """Bytes of a kernel that reads and writes whole heads (FlashInfer's fast path)."""
        heads = self.num_heads + self.num_kv_heads
        return 2 * self.num_tokens * heads * self.head_size * self.element_size

    def set_bytes(self) -> int:
        """Memory of one input set (positions, q, k), used to size rotating sets for a cold L2."""
        heads = self.num_heads + self.num_kv_heads
        return self.num_tokens * (8 + heads * self.head_size * self.element_size)

    # ---- inputs ----------------------------------------------------------------------------------
    def check_device(self) -> None:
        """Raise a one-line error if the device does not exist (touches CUDA only for cuda devices)."""
        check_device(self.device)

    def make_inputs(self, *, cache_dtype=None, seed_offset: int = 0) -> Inputs:
        """Fresh random inputs on the workload's device, as vLLM's benchmark makes them
        (randn q/k, randint positions). Drawn on the device itself: large shapes stay fast."""
        import torch

        self.check_device()
        dev = torch.device(self.device)
        gen = torch.Generator(device=dev).manual_seed(self.seed + 1_000_003 * seed_offset)
        shape = [self.num_tokens] if self.flat_positions else [self.batch_size, self.seq_len]
        positions = torch.randint(self.max_position, shape, generator=gen, device=dev)  # int64 in [0, max_position)
        query = torch.randn(shape + [self.num_heads * self.head_size], generator=gen, device=dev,
                            dtype=self.torch_dtype)
        key = torch.randn(shape + [self.num_kv_heads * self.head_size], generator=gen, device=dev,
                          dtype=self.torch_dtype)
        cache64 = cos_sin_cache(self.max_position, self.rotary_dim, self.base)
        cache_dtype = self.torch_dtype if cache_dtype is None else cache_dtype
        return Inputs(positions=positions, query=query, key=key,
                      cos_sin_cache=cache64.to(dtype=cache_dtype).to(dev), cos_sin_cache_f64=cache64)


@dataclass
class Inputs:
    positions: object
    query: object
    key: object
    cos_sin_cache: object  # in the dtype the backend takes
    cos_sin_cache_f64: object  # on the CPU, exact, for the reference

    def clone(self) -> Inputs:
        return Inputs(self.positions.clone(), self.query.clone(),
                      None if self.key is None else self.key.clone(),
                      self.cos_sin_cache, self.cos_sin_cache_f64)


def cos_sin_cache(max_position: int, rotary_dim: int, base: float = 10000.0):
    """[max_position, rotary_dim] float64: cos(pos * inv_freq) | sin(pos * inv_freq),
    with inv_freq = 1 / base^(arange(0, rotary_dim, 2) / rotary_dim), as vLLM builds it."""
    import torch

    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim))
    angles = torch.arange(max_position)[:, None] * inv_freq[None, :]  # int64 x float64: exact float64
    return torch.cat((angles.cos(), angles.sin()), dim=1)


def normalize_device(device: str) -> str:
    d = str(device).strip().lower()
    if d in ("cpu", "cuda"):
        return "cuda:0" if d == "cuda" else d
    if d.startswith("cuda:") and d[5:].isdigit():
        return d
    raise RopeBenchError(f"unknown device {device!r}; use cpu or cuda:N")


def check_device(device: str) -> None:
    device = normalize_device(device)
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise RopeBenchError(f"device {device} requested but this machine has no usable CUDA GPU")
    index = int(device.split(":")[1])
    if index >= torch.cuda.device_count():
        raise RopeBenchError(f"device {device} does not exist: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")


def seed_grid(base: Workload, batch, seq_len, heads) -> list[Workload]:
    """A seed-shaped grid (ropebench.grid.SEED holds the seed's values): batch x seq_len x heads around
    a base workload. num_kv_heads follows heads
    (the seed's MHA) unless the base sets GQA; then it stays fixed, and a head count it does not divide
    is an error rather than a silent change."""
    gqa = base.num_kv_heads != base.num_heads
    out = []
    for b, s, h in itertools.product(batch, seq_len, heads):
        out.append(base.replace(batch_size=b, seq_len=s, num_heads=h, num_kv_heads=base.num_kv_heads if gqa else h))
    return out
