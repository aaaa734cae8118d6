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


# The clock every benchmark reports first: this process's CPU time by default (it does not count time
# spent waiting for a core on a busy machine); ``--clock wall`` swaps the two. The other clock is
# always read too and reported beside it (``Seconds.other``).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock_name = "cpu"
clock: Callable[[], float] = time.process_time
other_clock: Callable[[], float] = time.perf_counter


def set_clock(name: str) -> None:
    global clock, other_clock, clock_name
    clock_name = name
    clock = CLOCKS[name]
    other_clock = CLOCKS["wall" if name == "cpu" else "cpu"]


class Seconds(float):
    """A median time on the main clock, carrying the median on the other clock as ``other``."""

    other: Optional[float] = None

    @classmethod
    def of(cls, main: float, other: Optional[float]) -> "Seconds":
        s = cls(main)
        s.other = other
        return s


def measure(fns: Dict[str, Callable[[], object]], number: int, repeat: int, warmup: int = 1) -> Dict[str, float]:
    """Median seconds per call of each function in ``fns`` (:class:`Seconds`: main clock, other beside).

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
    others: Dict[str, List[float]] = {k: [] for k in fns}
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                gc.collect()
                t0, o0 = clock(), other_clock()
                for _ in range(number):
                    fn()
                t1, o1 = clock(), other_clock()
                samples[name].append((t1 - t0) / number)
                others[name].append((o1 - o0) / number)
    finally:
        gc.unfreeze()
    return {k: Seconds.of(statistics.median(v), statistics.median(others[k])) for k, v in samples.items()}


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    variant: str
    value: Optional[float]          # seconds (main clock), bytes or None when skipped
    unit: str = "s"                 # "s" (printed in ms/us) or "B" (printed in KiB/MiB)
    ratio: Optional[float] = None   # value / the floor's value (hand-written NumPy)
    ratio_of: str = ""              # what the ratio is taken against
    target: str = ""                # e.g. "<= 1.15"
    met: Optional[bool] = None
    note: str = ""
    vs_torch: Optional[float] = None  # value / PyTorch's value for the same work
    other: Optional[float] = None     # the same median on the other clock (wall when the main is CPU)

    def __post_init__(self) -> None:
        if self.other is None and isinstance(self.value, Seconds):
            self.other = self.value.other


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
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "B/op":
        return f"{value:.0f} B/op"
    return f"{value:g} {unit}"


def format_table(results: Results) -> str:
    """A plain-text table (also valid Markdown) of every row, then the notes."""
    other = "wall" if clock_name == "cpu" else "cpu"
    header = ("benchmark", "variant", "median", other, "ratio", "vs PyTorch", "target", "met")
    lines = []
    for r in results.rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}" + (f" vs {r.ratio_of}" if r.ratio_of else "")
        torch_ratio = "-" if r.vs_torch is None else f"{r.vs_torch:.2f}"
        met = "" if r.met is None else ("yes" if r.met else "NO")
        variant = r.variant + (f" ({r.note})" if r.note else "")
        lines.append((r.benchmark, variant, fmt_value(r.value, r.unit), fmt_value(r.other, r.unit), ratio,
                      torch_ratio, r.target, met))
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(header)]

    def line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(l) for l in lines]
    if results.notes:
        out.append("")
        out += [f"- {n}" for n in results.notes]
    return "\n".join(out)
