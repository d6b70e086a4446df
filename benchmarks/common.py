"""Helpers every benchmark module shares. Kept free of torch: asv imports this in every point."""

from ropebench.asvtools.suite import CLOCK, MeasuredBenchmark, ask

# The seed's grid (vLLM benchmarks/kernels/benchmark_rope.py) and its fixed head configuration.
BACKENDS = ["torch", "flashinfer", "vllm"]
STYLES = ["neox", "gptj"]
BATCH = [1, 4, 16, 64]
SEQ_LEN = [64, 128, 256, 512, 1024]
HEADS = [32, 48]
SEED_HEAD = dict(head_size=128, rotary_dim=32, dtype="bfloat16")

__all__ = ["BACKENDS", "BATCH", "CLOCK", "HEADS", "MeasuredBenchmark", "SEED_HEAD", "SEQ_LEN", "STYLES", "ask"]
