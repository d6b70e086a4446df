"""The benchmark grids, declared once.

Modelled on ``triton.testing.Benchmark`` as FlashInfer's benchmarks use it: a grid is a list of axes,
each with its name (the asv parameter name), the values it takes and the Workload field it sets, plus
the Workload fields held fixed. The asv classes, ``ropebench run``, fidelity, the plots and the
plain-asv comparison suite read these; adding an axis is one edit here plus the asv class's
signature. Nothing here imports torch (asv imports it in every point process).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ropebench.backends import NAMES as BACKEND_NAMES
from ropebench.presets import MODELS, PHASES
from ropebench.workload import DTYPES, STYLES


@dataclass(frozen=True)
class Axis:
    name: str  # asv parameter name, CLI --grid-<name>, CSV/plot key
    values: tuple
    field: str | None = None  # the Workload field it sets; None: not a Workload field (backend, preset)


@dataclass(frozen=True)
class Grid:
    name: str
    axes: tuple[Axis, ...]
    fixed: Mapping = field(default_factory=dict)  # Workload fields every point shares

    def __post_init__(self):
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))

    @property
    def param_names(self) -> list[str]:
        return [a.name for a in self.axes]

    @property
    def params(self) -> list[list]:
        """asv's ``params``: lists (asv stores params by repr)."""
        return [list(a.values) for a in self.axes]

    def axis(self, name: str) -> Axis:
        return next(a for a in self.axes if a.name == name)

    def values(self, *names: str) -> tuple[tuple, ...]:
        """The values of the named axes, in that order."""
        return tuple(self.axis(n).values for n in names)

    def with_values(self, **values) -> Grid:
        """The same grid with some axes' values replaced (``--grid-batch 1,4`` and the like)."""
        unknown = set(values) - set(self.param_names)
        if unknown:
            raise KeyError(f"no axis {', '.join(sorted(unknown))} in grid {self.name}")
        return replace(self, axes=tuple(replace(a, values=tuple(values.get(a.name, a.values))) for a in self.axes))

    def workload_fields(self, point: Mapping) -> dict:
        """Workload keyword arguments of one point (a mapping from axis name to value)."""
        out = dict(self.fixed)
        for a in self.axes:
            if a.field is not None:
                out[a.field] = point[a.name]
        return out

    def points(self) -> Iterator[dict]:
        """Every point, as {axis name: value}, in axis order (the last axis varies fastest)."""
        for values in itertools.product(*(a.values for a in self.axes)):
            yield dict(zip(self.param_names, values))


BACKEND = Axis("backend", BACKEND_NAMES)
STYLE = Axis("style", STYLES, "style")

# The seed's grid: vLLM's benchmarks/kernels/benchmark_rope.py (plus seq_len 1024, as the seed doc
# lists) with its fixed head configuration.
SEED = Grid("seed", axes=(
    BACKEND,
    STYLE,
    Axis("batch", (1, 4, 16, 64), "batch_size"),
    Axis("seq_len", (64, 128, 256, 512, 1024), "seq_len"),
    Axis("heads", (32, 48), "num_heads"),
), fixed=dict(head_size=128, rotary_dim=32, dtype="bfloat16"))

# Real models' head configurations (presets.py) in a decode batch and a prefill chunk.
MODEL_GRID = Grid("models", axes=(BACKEND, Axis("model", tuple(MODELS)), Axis("phase", tuple(PHASES))))

# Accuracy per backend, style and dtype at the seed's head configuration, batch 4 x seq 256.
ACCURACY = Grid("accuracy", axes=(BACKEND, STYLE, Axis("dtype", DTYPES, "dtype")),
                fixed=dict(batch_size=4, seq_len=256, num_heads=32, head_size=128, rotary_dim=32))


def model_fields(point: Mapping) -> dict:
    """Workload keyword arguments of a MODEL_GRID point: the preset, then the phase's token shape."""
    return dict(MODELS[point["model"]], **PHASES[point["phase"]])
