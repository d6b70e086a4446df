"""The seed grid: backend x style x batch x seq_len x heads (head 128, rotary 32, bf16)."""

from .common import CLOCK, MEASUREMENT_VERSION, SEED, MeasuredBenchmark


class RoPE(MeasuredBenchmark):
    """In-place RoPE on q and k. Time: kernel time per call from CUDA-graph replays (host launch
    overhead excluded), cold L2; on CPU-only machines, single-threaded CPU time per call."""

    params = SEED.params
    param_names = SEED.param_names
    version = MEASUREMENT_VERSION

    def setup(self, server, backend, style, batch, seq_len, heads):
        point = dict(backend=backend, style=style, batch=batch, seq_len=seq_len, heads=heads)
        self.load(server, backend, SEED.workload_fields(point))

    def time_rope(self, server, backend, style, batch, seq_len, heads):
        CLOCK.tick()
