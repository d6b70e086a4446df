"""Helpers every benchmark module shares. Kept free of torch: asv imports this in every point.

The grids (axes, values, fixed head configuration) are declared once, in ropebench.grid.
"""

from ropebench.asvtools.suite import CLOCK, MeasuredBenchmark, ask
from ropebench.grid import ACCURACY, MODEL_GRID, SEED, model_fields

__all__ = ["ACCURACY", "CLOCK", "MODEL_GRID", "MeasuredBenchmark", "SEED", "ask", "model_fields"]
