"""The seed grid, timed plainly: asv's wall timer around one launch and a synchronize."""

BACKENDS = ["torch", "flashinfer", "vllm"]


class PlainRoPE:
    params = [BACKENDS, ["neox", "gptj"], [1, 4, 16, 64], [64, 128, 256, 512, 1024], [32, 48]]
    param_names = ["backend", "style", "batch", "seq_len", "heads"]
    version = "1"
    timeout = 600

    def setup(self, backend, style, batch, seq_len, heads):
        import torch

        from ropebench.backends import get_backend
        from ropebench.workload import Workload

        w = Workload(batch_size=batch, seq_len=seq_len, num_heads=heads, style=style, device="cuda:0")
        b = get_backend(backend)
        reason = b.unsupported(w)
        if reason:
            raise NotImplementedError(reason)
        self.fn = b.prepare(w, w.make_inputs(cache_dtype=b.cache_dtype(w)))
        self.sync = torch.cuda.synchronize
        self.fn()
        self.sync()

    def time_rope(self, backend, style, batch, seq_len, heads):
        self.fn()
        self.sync()
