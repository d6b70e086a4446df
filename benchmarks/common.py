"""Helpers every benchmark module shares. Kept free of torch: asv imports this in every point."""

from ropebench.asvtools.suite import CLOCK, MeasuredBenchmark, ask
from ropebench.backends import NAMES
from ropebench.workload import SEED_BATCH, SEED_HEAD, SEED_HEADS, SEED_SEQ_LEN, STYLES

# The seed's grid (vLLM benchmarks/kernels/benchmark_rope.py) and its fixed head configuration, as lists
# (asv stores params by repr). These modules import no torch.
BACKENDS = list(NAMES)
STYLES = list(STYLES)
BATCH = list(SEED_BATCH)
SEQ_LEN = list(SEED_SEQ_LEN)
HEADS = list(SEED_HEADS)

__all__ = ["BACKENDS", "BATCH", "CLOCK", "HEADS", "MeasuredBenchmark", "SEED_HEAD", "SEQ_LEN", "STYLES", "ask"]
