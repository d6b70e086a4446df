"""The seed grid: backend x style x batch x seq_len x heads (head 128, rotary 32, bf16)."""

from .common import BACKENDS, BATCH, CLOCK, HEADS, SEED_HEAD, SEQ_LEN, STYLES, MeasuredBenchmark


class RoPE(MeasuredBenchmark):
    """In-place RoPE on q and k. Time: kernel time per call from CUDA-graph replays (host launch
    overhead excluded), cold L2; on CPU-only machines, single-threaded CPU time per call."""

    params = [BACKENDS, STYLES, BATCH, SEQ_LEN, HEADS]
    param_names = ["backend", "style", "batch", "seq_len", "heads"]
    # "2": each replay spans >= 0.5 ms (laps over the rotating sets), spreading the graph start.
    version = "2"

    def setup(self, server, backend, style, batch, seq_len, heads):
        self.load(server, backend, dict(SEED_HEAD, style=style, batch_size=batch, seq_len=seq_len,
                                        num_heads=heads))

    def time_rope(self, server, backend, style, batch, seq_len, heads):
        CLOCK.tick()
