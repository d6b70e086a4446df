"""Helpers every benchmark module shares. Kept free of torch: asv imports this in every point.

The grids (axes, values, fixed head configuration) are declared once, in ropebench.grid; the versions
(what a number means: asv keeps one history per version) beside the timer and the check.

Controls: in kernel mode only the ``vllm`` backend runs the commit's code. The ``torch`` and
``flashinfer`` points do not depend on the vLLM commit; they show the machine's drift (the sidecar of
each result records the FlashInfer, torch and ropebench versions that explain a control that moves).
"""

from ropebench.asvtools.suite import CLOCK, MeasuredBenchmark, ask
from ropebench.correctness import ACCURACY_VERSION
from ropebench.grid import ACCURACY, MODEL_GRID, SEED, model_fields
from ropebench.timing import MEASUREMENT_VERSION

__all__ = ["ACCURACY", "ACCURACY_VERSION", "CLOCK", "MEASUREMENT_VERSION", "MODEL_GRID", "MeasuredBenchmark", "SEED",
           "ask", "model_fields"]
