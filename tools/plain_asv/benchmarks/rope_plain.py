"""The seed grid, timed plainly: asv's wall timer around one launch and a synchronize."""

from ropebench.grid import SEED
from ropebench.timing import PLAIN_MEASUREMENT_VERSION


class PlainRoPE:
    params = SEED.params
    param_names = SEED.param_names
    version = PLAIN_MEASUREMENT_VERSION
    timeout = 600

    def setup(self, backend, style, batch, seq_len, heads):
        import torch

        from ropebench.backends import get_backend
        from ropebench.workload import Workload

        point = dict(backend=backend, style=style, batch=batch, seq_len=seq_len, heads=heads)
        w = Workload(device="cuda:0", **SEED.workload_fields(point))
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
