"""Reports of measured results: a run's own folder, console table (rich), CSV written row by row, PNG plots
(matplotlib)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import itertools
import math
import os
from pathlib import Path

from ropebench.grid import SEED
from ropebench.result import CSV_COLUMNS, Result

MS_ABOVE_US = 10_000  # the table shows ms above this many µs


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


def new_run_folder(root: Path) -> Path:
    """A new folder ROOT/<date-time> for one run, and ROOT/latest pointing at it; nothing earlier is touched."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        name = stamp if n == 1 else f"{stamp}-{n}"
        try:
            (root / name).mkdir()
            break
        except FileExistsError:  # two runs in one second
            continue
    tmp = root / f".latest-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(name, tmp)
    os.replace(tmp, root / "latest")  # atomic: a reader sees the old run or the new one
    return root / name


def _us(t) -> str:
    return "-" if t is None or math.isnan(t) else (f"{t:.1f}" if t >= 10 else f"{t:.2f}")


def fmt_time(t) -> str:
    """µs with its unit; ms above MS_ABOVE_US."""
    if t is None or math.isnan(t):
        return "-"
    return f"{t / 1000:.1f} ms" if t > MS_ABOVE_US else f"{_us(t)} µs"


def _t(t) -> str:
    """A table cell in µs, switching to ms (with the unit) above MS_ABOVE_US."""
    return fmt_time(t) if t is not None and not math.isnan(t) and t > MS_ABOVE_US else _us(t)


def table(results: list[Result], title: str = "", clock: str = "kernel"):
    """clock: "kernel" (GPU graph replays) or "wall" (CPU wall clock per call), named in the header."""
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    # "\\[" in the header: rich would read "[p20, p80]" as markup and drop it.
    for col, just in (("shape (b x s, heads)", "left"), ("style", "left"), ("backend", "left"),
                      (f"{clock} µs median \\[p20, p80]", "right"), ("eager µs", "right"),
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
                  f"{_t(k.median_us)} [{_t(k.p20_us)}, {_t(k.p80_us)}]",
                  _t(e.median_us) if e else "-",
                  f"{r.speedup_vs_torch:.2f}x" if r.speedup_vs_torch else "-",
                  f"{r.gbps:.0f}", f"{r.pct_of_floor:.1f}%" if not math.isnan(r.pct_of_floor) else "-",
                  ("yes" if r.correct else "no") + (f" ({r.rel_l2:.1e})" if r.rel_l2 is not None else "")
                  + flags)
    return t


# Plots. Each x position is one configuration; configurations of one family (every Workload field equal
# but the line axis, seq_len) sit side by side and are joined by a line, so no line joins unrelated shapes.
# Keys are whole Workloads (frozen, hashable): a new grid axis cannot make two points share a key.
LINE_AXIS = SEED.axis("seq_len")
SHAPE_AXES = tuple(a for a in SEED.axes if a.field and a.name != "style")


def _family(w) -> tuple:
    return tuple((f.name, getattr(w, f.name)) for f in dataclasses.fields(w) if f.name != LINE_AXIS.field)


def _layout(results) -> tuple[dict, list]:
    """x position of each workload (families in order of appearance, a gap between them) and tick labels."""
    families: dict[tuple, list] = {}
    for r in results:
        members = families.setdefault(_family(r.workload), [])
        if r.workload not in members:
            members.append(r.workload)
    xs, ticks, x = {}, [], 0
    for members in families.values():
        for w in sorted(members, key=lambda w: getattr(w, LINE_AXIS.field)):
            xs[w] = x
            ticks.append((x, "/".join(str(getattr(w, a.field)) for a in SHAPE_AXES)))
            x += 1
        x += 1  # a gap between families
    return xs, ticks


def _lines(results, xs, backend, value, lo, hi):
    """Per family: x, y and the p20/p80 error of one backend's ok results, sorted along the line axis."""
    by_family: dict[tuple, list] = {}
    for r in results:
        if r.status == "ok" and (backend is None or r.backend == backend):
            by_family.setdefault(_family(r.workload), []).append(r)
    for rs in by_family.values():
        rs = sorted(rs, key=lambda r: xs[r.workload])
        ys = [value(r) for r in rs]
        yield ([xs[r.workload] for r in rs], ys,
               [[y - lo(r) for y, r in zip(ys, rs)], [hi(r) - y for y, r in zip(ys, rs)]])


def plot_latency(results: list[Result], path: Path, title: str) -> Path:
    """Time per configuration per backend (log scale) with p20/p80 bars, and the floor, family by family."""
    fig, ax, xs = _axes(results, title, "time per call (µs, log scale); bars: p20-p80")
    for n, backend in enumerate(_backends(results)):
        for k, (x, y, err) in enumerate(_lines(results, xs, backend, lambda r: r.median_us,
                                               lambda r: r.kernel.p20_us, lambda r: r.kernel.p80_us)):
            ax.errorbar(x, y, yerr=err, marker="o", ms=3, capsize=2, color=f"C{n}",
                        label=backend if k == 0 else None)
    first = True
    for backend in _backends(results)[:1]:  # the floor depends on the shape only
        for x, y, _ in _lines(results, xs, backend, lambda r: r.floor_us, lambda r: r.floor_us,
                              lambda r: r.floor_us):
            ax.plot(x, y, ls="--", color="black", lw=1, label="floor (copy bandwidth)" if first else None)
            first = False
    ax.set_yscale("log")
    return _save(fig, ax, path)


def plot_floor(results: list[Result], path: Path, title: str) -> Path:
    """Percent of the floor reached per configuration per backend (100% = copy-bandwidth bound)."""
    fig, ax, xs = _axes(results, title, "% of floor (floor time / time); bars: from p80 and p20")
    for n, backend in enumerate(_backends(results)):
        for k, (x, y, err) in enumerate(_lines(results, xs, backend, lambda r: r.pct_of_floor,
                                               lambda r: 100 * r.floor_us / r.kernel.p80_us,
                                               lambda r: 100 * r.floor_us / r.kernel.p20_us)):
            ax.errorbar(x, y, yerr=err, marker="o", ms=3, capsize=2, color=f"C{n}",
                        label=backend if k == 0 else None)
    ax.axhline(100, ls="--", color="black", lw=1, label="100% = at the copy-bandwidth floor")
    ax.set_ylim(bottom=0)
    return _save(fig, ax, path)


def _backends(results):
    out = []
    for r in results:
        if r.status == "ok" and r.backend not in out:
            out.append(r.backend)
    return out


def _axes(results, title, ylabel):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ticks = _layout(results)
    fig, ax = plt.subplots(figsize=(max(8, 0.32 * len(ticks) + 3), 5))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xticks([x for x, _ in ticks])
    ax.set_xticklabels([t for _, t in ticks], rotation=70, fontsize=7)
    ax.set_xlabel("/".join(a.name for a in SHAPE_AXES) + f"; lines join one family over {LINE_AXIS.name}")
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax, xs
def _save(fig, ax, path):
    import matplotlib.pyplot as plt

    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
