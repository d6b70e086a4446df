"""Progress of a grid that works everywhere: a bar with an ETA in a terminal (rich), and one flushed line
per point when piped (CI logs, ``| tee``), with M/N, the point, its time and the ETA.

The ETA comes from a cost model, seconds per point = a + b * bytes, fitted on the points measured so far
(calibration points first), so it corrects itself as the grid goes.
"""

from __future__ import annotations

import sys
import time


class CostModel:
    """Seconds per point as a + b * bytes, least squares over the measured points (b >= 0)."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []

    def add(self, nbytes: float, seconds: float) -> None:
        self.points.append((float(nbytes), float(seconds)))

    def coefficients(self) -> tuple[float, float] | None:
        if not self.points:
            return None
        n = len(self.points)
        mx = sum(x for x, _ in self.points) / n
        my = sum(y for _, y in self.points) / n
        sxx = sum((x - mx) ** 2 for x, _ in self.points)
        b = sum((x - mx) * (y - my) for x, y in self.points) / sxx if sxx else 0.0
        if b < 0:  # noise on equal-cost points: no byte dependence
            b = 0.0
        return max(my - b * mx, 0.0), b

    def predict(self, nbytes: float) -> float | None:
        ab = self.coefficients()
        return None if ab is None else ab[0] + ab[1] * nbytes


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class GridProgress:
    """Context manager; ``start(label)`` before a point, ``seconds()`` and ``done(label, outcome)`` after it
    (feed the cost model between the two, so the ETA printed includes this point)."""

    def __init__(self, console, total: int, eta):
        self.console, self.total, self.eta = console, total, eta  # eta(): seconds left, or None
        self.count = 0
        self.terminal = console.is_terminal
        self._bar = None
        self._t0 = 0.0

    def __enter__(self):
        if self.terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
                                 console=self.console, transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("timing", total=self.total, eta=duration(self.eta()))
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False

    def print(self, *args, **kwargs) -> None:
        """Print above the bar (terminal) or as a line of the log (piped)."""
        self.console.print(*args, **kwargs)
        if not self.terminal:
            self.console.file.flush()

    def start(self, label: str) -> None:
        self._t0 = time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, description=label)

    def seconds(self) -> float:
        return time.perf_counter() - self._t0

    def done(self, label: str, outcome: str) -> None:
        seconds = self.seconds()
        self.count += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, eta=duration(self.eta()))
        else:
            width = len(str(self.total))
            line = (f"[{self.count:>{width}}/{self.total}] {label}: {outcome}, {seconds:.1f} s, "
                    f"ETA {duration(self.eta())}")
            print(line, file=self.console.file or sys.stdout, flush=True)
