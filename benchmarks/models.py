"""Real-model shapes: GQA, head sizes 64 to 256, partial and full rotary, fp16/bf16/fp32."""

from .common import CLOCK, MEASUREMENT_VERSION, MODEL_GRID, MeasuredBenchmark, model_fields


class RoPEModels(MeasuredBenchmark):
    """In-place RoPE at real models' head configurations, for a decode batch and a prefill chunk."""

    params = MODEL_GRID.params
    param_names = MODEL_GRID.param_names
    version = MEASUREMENT_VERSION

    def setup(self, server, backend, model, phase):
        self.load(server, backend, model_fields(dict(model=model, phase=phase)))

    def time_rope(self, server, backend, model, phase):
        CLOCK.tick()
