"""Real-model shapes: GQA, head sizes 64 to 256, partial and full rotary, fp16/bf16/fp32."""

from .common import CLOCK, MODEL_GRID, MeasuredBenchmark, model_fields


class RoPEModels(MeasuredBenchmark):
    """In-place RoPE at real models' head configurations, for a decode batch and a prefill chunk."""

    params = MODEL_GRID.params
    param_names = MODEL_GRID.param_names
    # "2": each replay spans >= 0.5 ms (laps over the rotating sets), spreading the graph start.
    version = "2"

    def setup(self, server, backend, model, phase):
        self.load(server, backend, model_fields(dict(model=model, phase=phase)))

    def time_rope(self, server, backend, model, phase):
        CLOCK.tick()
