"""Timing and table helpers shared by the benchmarks.

Every comparison is measured *interleaved*: each repeat times every contender once, in turn,
so slow drift of the machine (frequency scaling, a noisy neighbour) hits all of them alike.
The reported number is the median over repeats of the mean time per call within a repeat.
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional


def optional_torch(enabled: bool = True):
    """``torch`` when it can be imported (and ``enabled``), else None: benchmarks then skip its rows
    with a note. The test suite passes ``enabled=False``: torch never loads in the default test run."""
    if not enabled:
        return None
    try:
        import torch
    except Exception:  # not installed, or a broken install: either way there is nothing to compare
        return None
    return torch


# The clock every benchmark reads: wall time by default; ``--clock cpu`` switches to this process's
# CPU time, which does not count time the process spent waiting for a core on a busy machine.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock: Callable[[], float] = time.perf_counter


def set_clock(name: str) -> None:
    global clock
    clock = CLOCKS[name]


def measure(fns: Dict[str, Callable[[], object]], number: int, repeat: int, warmup: int = 1) -> Dict[str, float]:
    """Median seconds per call of each function in ``fns``.

    ``warmup`` untimed rounds of ``number`` calls come first (caches, lazy imports, allocator
    pools); then ``repeat`` rounds, each timing ``number`` back-to-back calls of every function.
    The garbage collector stays on (users pay for it too), but everything alive before the
    timing starts (e.g. the hundreds of thousands of objects ``import torch`` creates) is
    frozen out of its view, so a full collection costs every contender alike.
    """
    for _ in range(warmup):
        for fn in fns.values():
            for _ in range(number):
                fn()
    samples: Dict[str, List[float]] = {k: [] for k in fns}
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                gc.collect()
                t0 = clock()
                for _ in range(number):
                    fn()
                samples[name].append((clock() - t0) / number)
    finally:
        gc.unfreeze()
    return {k: statistics.median(v) for k, v in samples.items()}


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    variant: str
    value: Optional[float]          # seconds, bytes or None when skipped
    unit: str = "s"                 # "s" (printed in ms/us) or "B" (printed in KiB/MiB)
    ratio: Optional[float] = None   # value / baseline value
    ratio_of: str = ""              # what the ratio is taken against
    target: str = ""                # e.g. "<= 1.15"
    met: Optional[bool] = None
    note: str = ""


@dataclass
class Results:
    rows: List[Row] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def extend(self, other: "Results") -> None:
        self.rows.extend(other.rows)
        self.notes.extend(other.notes)


def fmt_value(value: Optional[float], unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        if value >= 1.0:
            return f"{value:.2f} s"
        if value >= 1e-3:
            return f"{value * 1e3:.2f} ms"
        return f"{value * 1e6:.1f} us"
    if unit == "B":
        if abs(value) >= 1 << 20:
            return f"{value / (1 << 20):.2f} MiB"
        return f"{value / 1024:.1f} KiB"
    return f"{value:g} {unit}"


def format_table(results: Results) -> str:
    """A plain-text table (also valid Markdown) of every row, then the notes."""
    header = ("benchmark", "variant", "median", "ratio", "target", "met")
    lines = []
    for r in results.rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}" + (f" vs {r.ratio_of}" if r.ratio_of else "")
        met = "" if r.met is None else ("yes" if r.met else "NO")
        variant = r.variant + (f" ({r.note})" if r.note else "")
        lines.append((r.benchmark, variant, fmt_value(r.value, r.unit), ratio, r.target, met))
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(header)]

    def line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(l) for l in lines]
    if results.notes:
        out.append("")
        out += [f"- {n}" for n in results.notes]
    return "\n".join(out)
