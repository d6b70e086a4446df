"""Real-model shapes: GQA, head sizes 64 to 256, partial and full rotary, fp16/bf16/fp32."""

from ropebench.presets import MODELS, PHASES

from .common import BACKENDS, CLOCK, MeasuredBenchmark


class RoPEModels(MeasuredBenchmark):
    """In-place RoPE at real models' head configurations, for a decode batch and a prefill chunk."""

    params = [BACKENDS, list(MODELS), list(PHASES)]
    param_names = ["backend", "model", "phase"]
    # "2": each replay spans >= 0.5 ms (laps over the rotating sets), spreading the graph start.
    version = "2"

    def setup(self, server, backend, model, phase):
        self.load(server, backend, dict(MODELS[model], **PHASES[phase]))

    def time_rope(self, server, backend, model, phase):
        CLOCK.tick()
