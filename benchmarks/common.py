"""Helpers every benchmark module shares. Kept free of torch: asv imports this in every point.

The grids (axes, values, fixed head configuration) are declared once, in ropebench.grid.

Controls: in kernel mode only the ``vllm`` backend runs the commit's code. The ``torch`` and
``flashinfer`` points do not depend on the vLLM commit; they show the machine's drift (the sidecar of
each result records the FlashInfer, torch and ropebench versions that explain a control that moves).
"""

from ropebench.asvtools.suite import CLOCK, MeasuredBenchmark, ask
from ropebench.grid import ACCURACY, MODEL_GRID, SEED, model_fields

__all__ = ["ACCURACY", "CLOCK", "MODEL_GRID", "MeasuredBenchmark", "SEED", "ask", "model_fields"]
