"""Reports of measured results: console table (rich), CSV written row by row, PNG plots (matplotlib)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ropebench.result import CSV_COLUMNS, Result


class CsvLog:
    """Appends one row per result and flushes it, so an interrupted run keeps what it measured."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
        self._writer.writeheader()
        self._file.flush()

    def write(self, result: Result) -> None:
        self._writer.writerow(result.row())
        self._file.flush()

    def rewrite(self, results: list[Result]) -> None:
        """Rewrite with the columns known only at the end (speed-up over torch)."""
        self._file.close()
        with self.path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            w.writeheader()
            for r in results:
                w.writerow(r.row())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _us(t) -> str:
    return "-" if t is None or math.isnan(t) else (f"{t:.1f}" if t >= 10 else f"{t:.2f}")


def table(results: list[Result], title: str = ""):
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for col, just in (("shape (b x s, heads)", "left"), ("style", "left"), ("backend", "left"),
                      ("kernel µs median [p20, p80]", "right"), ("eager µs", "right"),
                      ("vs torch", "right"), ("GB/s", "right"), ("% floor", "right"),
                      ("correct", "left")):
        t.add_column(col, justify=just)
    for r in results:
        w = r.workload
        shape = f"{w.batch_size} x {w.seq_len}, {w.num_heads}" + (
            f"/{w.num_kv_heads}" if w.num_kv_heads != w.num_heads else "")
        if r.status == "skipped":
            t.add_row(shape, w.style, r.backend, "[dim]skipped[/dim]", "", "", "", "", f"[dim]{r.reason}[/dim]")
            continue
        if r.status != "ok":
            t.add_row(shape, w.style, r.backend, f"[red]{r.status}[/red]", "", "", "", "", f"[red]{r.reason}[/red]")
            continue
        k, e = r.kernel, r.eager
        flags = " [yellow]!" + "; ".join(r.flags) + "[/yellow]" if r.flags else ""
        t.add_row(shape, w.style, r.backend,
                  f"{_us(k.median_us)} [{_us(k.p20_us)}, {_us(k.p80_us)}]",
                  _us(e.median_us) if e else "-",
                  f"{r.speedup_vs_torch:.2f}x" if r.speedup_vs_torch else "-",
                  f"{r.gbps:.0f}", f"{r.pct_of_floor:.1f}%" if not math.isnan(r.pct_of_floor) else "-",
                  ("yes" if r.correct else "no") + (f" ({r.rel_l2:.1e})" if r.rel_l2 is not None else "")
                  + flags)
    return t


def plot_latency(results: list[Result], path: Path, title: str) -> Path:
    """Latency per configuration per backend, log scale, like vLLM's perf_report plot."""
    fig, ax, configs = _axes(results, title, "kernel time (µs, log scale)")
    for backend in _backends(results):
        ys = [_lookup(results, backend, c, lambda r: r.median_us) for c in configs]
        ax.plot(range(len(configs)), ys, marker="o", ms=3, label=backend)
    floor = [_lookup(results, None, c, lambda r: r.floor_us) for c in configs]
    ax.plot(range(len(configs)), floor, ls="--", color="black", lw=1, label="floor (copy bandwidth)")
    ax.set_yscale("log")
    return _save(fig, ax, path)


def plot_floor(results: list[Result], path: Path, title: str) -> Path:
    """Percent of the floor reached per configuration per backend (100% = copy-bandwidth bound)."""
    fig, ax, configs = _axes(results, title, "% of floor (floor time / kernel time)")
    for backend in _backends(results):
        ys = [_lookup(results, backend, c, lambda r: r.pct_of_floor) for c in configs]
        ax.plot(range(len(configs)), ys, marker="o", ms=3, label=backend)
    ax.axhline(100, ls="--", color="black", lw=1)
    ax.set_ylim(bottom=0)
    return _save(fig, ax, path)


def _configs(results):
    seen = []
    for r in results:
        key = (r.workload.batch_size, r.workload.seq_len, r.workload.num_heads)
        if key not in seen:
            seen.append(key)
    return seen


def _backends(results):
    out = []
    for r in results:
        if r.status == "ok" and r.backend not in out:
            out.append(r.backend)
    return out


def _lookup(results, backend, config, value):
    for r in results:
        key = (r.workload.batch_size, r.workload.seq_len, r.workload.num_heads)
        if key == config and r.status == "ok" and (backend is None or r.backend == backend):
            return value(r)
    return math.nan


def _axes(results, title, ylabel):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = _configs(results)
    fig, ax = plt.subplots(figsize=(max(8, 0.32 * len(configs) + 3), 5))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([f"{b}x{s},{h}h" for b, s, h in configs], rotation=70, fontsize=7)
    ax.set_xlabel("batch x seq_len, heads")
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax, configs


def _save(fig, ax, path):
    import matplotlib.pyplot as plt

    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
