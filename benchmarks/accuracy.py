"""Correctness per commit: relative L2 error of each backend against the float64 reference."""

from .common import ACCURACY, ACCURACY_VERSION, MeasuredBenchmark, ask


class RoPEAccuracy(MeasuredBenchmark):
    """Relative L2 error of the rotated q and k against float64 RoPE (lower is better), with the seed's
    head configuration (32 heads, head 128, rotary 32) at batch 4 x seq 256. A wrong kernel
    shows as a jump here (and fails its timing points, which only time correct kernels)."""

    params = ACCURACY.params
    param_names = ACCURACY.param_names
    version = ACCURACY_VERSION
    unit = "relative L2 error"

    def setup(self, server, backend, style, dtype):
        workload = ACCURACY.workload_fields(dict(backend=backend, style=style, dtype=dtype))
        self.error = ask(server, "accuracy", backend, workload)["rel_l2"]

    def track_rel_l2_error(self, server, backend, style, dtype):
        return self.error
