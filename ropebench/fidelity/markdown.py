"""The fidelity report as Markdown: each part's table and each goal against what was measured."""

from __future__ import annotations

from pathlib import Path

from ropebench.fidelity.detect import TARGET_DEFAULT
from ropebench.fidelity.earlier import NOTES_MARK, PARTS

GOALS = dict(cupti_pct=3.0, spread_large_pct=2.0, spread_small_pct=5.0, large_us=10.0)


def _fmt_pct(x):
    return "-" if x is None else f"{x:+.1f}%"


def render(rep: dict, out: Path, notes: str = "") -> str:
    m = rep["machine"]
    dates = rep.get("measured", {})
    when = m["date"]
    if len(set(dates.values())) > 1:  # parts re-run at different times
        when = "parts measured " + "; ".join(f"{part} {dates[part]}" for part in PARTS if part in dates)
    lines = [
        "# Measurement fidelity",
        "",
        f"Produced by `ropebench fidelity` on {m['gpu']} (driver {m['driver']}, CUDA {m['cuda']}), "
        f"torch {m['torch']}, python {m['python']}; {when}. Raw numbers: `{out.with_suffix('.json').name}`.",
        "",
        "Goals: kernel time within 3% of CUPTI for kernels of at least 10 µs; process-to-process spread at "
        "most 2% (>= 10 µs) and 5% (below); a 5% regression flagged every time; no false positive.",
        "",
    ]
    if "agreement" in rep:
        lines += ["## 1. Agreement with CUPTI (torch.profiler)", "",
                  "ropebench: median of 100 event-timed graph replays, per call (a replay goes round the "
                  "rotating input sets until it spans at least 0.5 ms). CUPTI: the sum of the profiled "
                  "kernels' durations in 20 replays of the same graph, per call. The difference is what "
                  "lies between kernels inside a replay: the graph's start and its node-to-node steps.", "",
                  "| backend | shape (b x s x heads) | kernels/call | ropebench µs | CUPTI µs | diff | goal |",
                  "|---|---|---|---|---|---|---|"]
        for r in rep["agreement"]:
            if r["diff_pct"] is None:
                lines.append(f"| {r['backend']} | {'x'.join(map(str, r['shape']))} | - | {r['ours_us']:.2f} | "
                             "no kernels seen | - | - |")
                continue
            large = r["cupti_us"] >= GOALS["large_us"]
            ok = "met" if large and abs(r["diff_pct"]) <= GOALS["cupti_pct"] else ("n/a (< 10 µs)" if not large
                                                                                  else "missed")
            lines.append(f"| {r['backend']} | {'x'.join(map(str, r['shape']))} | {r['kernels_per_call']:.0f} | "
                         f"{r['ours_us']:.2f} | {r['cupti_us']:.2f} | {_fmt_pct(r['diff_pct'])} | {ok} |")
        lines.append("")
    if "repeatability" in rep:
        lines += ["## 2. Repeatability: separate processes", "",
                  "| backend and shape | medians (µs) | spread (max-min)/median | goal |", "|---|---|---|---|"]
        for key, v in rep["repeatability"].items():
            limit = GOALS["spread_large_pct"] if v["median_us"] >= GOALS["large_us"] else GOALS["spread_small_pct"]
            lines.append(f"| {key} | {', '.join(f'{x:.2f}' for x in v['values'])} | {v['spread_pct']:.2f}% | "
                         f"{'met' if v['spread_pct'] <= limit else 'missed'} (<= {limit:.0f}%) |")
        lines.append("")
    det = rep.get("detection")
    if det and "runs" in det:
        slow = [r for r in det["runs"] if r["kind"] == "slow"]
        same = [r for r in det["runs"] if r["kind"] == "identical"]
        key, unit = _delay(det)
        lines += ["## 3. Detection power through `asv continuous`", "",
                  f"Slow copy: {det.get('slow_copy', f'a delay of {det[key]} {unit}')} Calibration at the "
                  "headline shape (base "
                  f"{det['base_headline_us']:.2f} µs): "
                  + ", ".join(f"{c[key]} {unit} -> {100 * c['slowdown']:+.1f}%" for c in det["calibration"])
                  + f". Factor {det['factor']}: above the measured process-to-process spread of kernels of at "
                  "least 10 µs, below the 5% to detect.",
                  "", "| run | exit | flagged points |", "|---|---|---|"]
        for r in det["runs"]:
            lines.append(f"| base vs {r['kind']} | {r['exit']} | {r['flagged']} |")
        lines += ["", f"Detected in {sum(r['exit'] == 1 for r in slow)}/{len(slow)} tries; false positives in "
                      f"{sum(r['exit'] != 0 for r in same)}/{len(same)} identical reruns.", ""]
        if slow and slow[0].get("ratios"):
            names = sorted(slow[0]["ratios"])
            lines += ["Ratios head/base per point (asv's results, read by ropebench compare):", "",
                      "| point | " + " | ".join(f"slow {i + 1}" for i in range(len(slow)))
                      + " | " + " | ".join(f"identical {i + 1}" for i in range(len(same))) + " |",
                      "|---|" + "---|" * (len(slow) + len(same))]
            for n in names:
                cells = [str(r["ratios"].get(n, "-")) for r in slow + same]
                lines.append(f"| `{n.split('time_rope')[-1]}` | " + " | ".join(cells) + " |")
            lines.append("")
    if "roofline" in rep:
        lines += ["## 4. Roofline over vLLM's grid (NeoX, bf16, head 128, rotary 32)", "",
                  f"![% of floor]({out.stem}-roofline.png)", "",
                  "| shape | backend | kernel µs | GB/s (floor bytes) | % of floor |", "|---|---|---|---|---|"]
        for r in rep["roofline"]:
            if r["status"] == "ok":
                lines.append(f"| {r['batch_size']}x{r['seq_len']}x{r['num_heads']} | {r['backend']} | "
                             f"{r['median_us']} | {r['gbps']} | {r['pct_of_floor']} |")
        lines.append("")
    lines += goals_table(rep)
    if notes:
        lines += [notes.rstrip()]
    else:
        lines += [NOTES_MARK, ""]
    return "\n".join(lines) + "\n"


def _delay(det: dict) -> tuple[str, str]:
    """The slow copy's delay key and unit (cycles; reports before the clock64 spin used ns)."""
    return ("cycles", "cycles") if "cycles" in det else ("ns", "ns")


def goals_table(rep: dict) -> list[str]:
    """Each goal against what this report measured; misses named."""
    rows = []
    if rep.get("agreement"):
        large = [r for r in rep["agreement"] if r["diff_pct"] is not None and r["cupti_us"] >= GOALS["large_us"]]
        miss = [r for r in large if abs(r["diff_pct"]) > GOALS["cupti_pct"]]
        rows.append(("kernel time within 3% of CUPTI, kernels >= 10 µs",
                     f"met for {len(large) - len(miss)} of {len(large)} points"
                     + ("" if not miss else "; missed: " + ", ".join(
                         f"{r['backend']} {'x'.join(map(str, r['shape']))} {_fmt_pct(r['diff_pct'])}" for r in miss))))
    if rep.get("repeatability"):
        def limit(v):
            return GOALS["spread_large_pct"] if v["median_us"] >= GOALS["large_us"] else GOALS["spread_small_pct"]
        rep_rows = rep["repeatability"]
        miss = [k for k, v in rep_rows.items() if v["spread_pct"] > limit(v)]
        spreads = [v["spread_pct"] for v in rep_rows.values()]
        rows.append(("process-to-process spread <= 2% (>= 10 µs), <= 5% below",
                     f"met for {len(rep_rows) - len(miss)} of {len(rep_rows)}; "
                     f"spreads {min(spreads):.2f}-{max(spreads):.2f}%"
                     + (f"; missed: {', '.join(miss)}" if miss else "")))
    det = rep.get("detection") or {}
    if det.get("runs"):
        slow = [r for r in det["runs"] if r["kind"] == "slow"]
        same = [r for r in det["runs"] if r["kind"] == "identical"]
        ratios = [x for r in slow for x in r["ratios"].values()]
        key, _ = _delay(det)
        got = next((c["slowdown"] for c in det.get("calibration", []) if c[key] == det[key]), None)
        target = det.get("target", TARGET_DEFAULT)
        sized = got is not None and 0.7 * target <= got <= 1.5 * target
        hits = sum(r["exit"] == 1 and r["flagged"] == len(r["ratios"]) for r in slow)
        verdict = "met" if hits == len(slow) and sized else ("not shown at this size" if hits == len(slow)
                                                             else "missed")
        size = f"slow copy {100 * got:+.1f}% at the headline by ropebench's own timing; " if got is not None else ""
        rows.append((f"a {100 * target:.0f}% regression detected in every try",
                     f"{verdict}: every point flagged in {hits} of {len(slow)} tries; {size}asv ratios "
                     + (f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "not printed")))
        same_ratios = [x for r in same for x in r["ratios"].values()]
        fp = sum(r["exit"] != 0 or r["flagged"] for r in same)
        rows.append(("no false positive", f"{'met' if not fp else 'missed'}: {fp} of {len(same)} identical "
                     "reruns flagged anything" + (f"; ratios {min(same_ratios):.2f}-{max(same_ratios):.2f}"
                                                  if same_ratios else "")))
    if not rows:
        return []
    return ["## Against the goals", "", "| goal | outcome |", "|---|---|"] + [f"| {g} | {o} |" for g, o in rows] + [""]
