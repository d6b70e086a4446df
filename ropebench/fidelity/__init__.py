"""How far the numbers can be trusted, measured on the GPU and written to docs/ (``ropebench fidelity``,
ropebench/commands/fidelity.py).

1. Agreement: ropebench's kernel time (events around CUDA-graph replays) against torch.profiler's
   per-kernel CUDA time (CUPTI) for the same replays, per backend, at five shapes.
2. Repeatability: five separate processes on a small, the headline and a large shape; the spread.
3. Detection power: a copy of a vLLM kernel made about 5% slower (a busy-wait per rotation pair added to a
   source copy that is never committed), built by build-kernel, against the unchanged one through
   real ``asv continuous``; then identical reruns, which must flag nothing.
4. Roofline: each backend over vLLM's grid in µs, GB/s and % of the floor, as a table and a plot.
This is a benchmark command, not a test: it refuses to run without a GPU.

experiments.py: agreement, repeatability, roofline; detect.py, slow_kernel.py and scratch.py: detection
power; earlier.py: merging with an earlier report; markdown.py: the report.
"""

from ropebench.fidelity.detect import DETECT_SHAPES, TARGET_DEFAULT
from ropebench.fidelity.earlier import NOTES_MARK, PARTS, earlier_report, kept_notes
from ropebench.fidelity.markdown import GOALS, goals_table, render
from ropebench.fidelity.slow_kernel import calibrate, slow_copy

__all__ = ["DETECT_SHAPES", "GOALS", "NOTES_MARK", "PARTS", "TARGET_DEFAULT", "calibrate", "earlier_report",
           "goals_table", "kept_notes", "render", "slow_copy"]
