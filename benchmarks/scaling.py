"""Benchmark 5: how the cost per op grows with the graph. A chain of N elementwise ops on ``(4,)``
float32 tensors (a cycle of ten: ``* w, + x, tanh, * 0.5, - w, sigmoid, + 1, log, * x, relu``,
bounded for any N), forward + backward, for N = 10 ... 1,000,000.

- *time per op*: forward + backward of the whole chain divided by N, on both clocks, against the
  same chain written by hand in NumPy (forward + backward, the floor) and PyTorch eager. A cost
  per op that grows with N is the garbage collector scanning the growing graph, or anything else
  superlinear. Objects alive before the timing (torch's, for one) are ``gc.freeze()``d, as in
  ``timing.measure``.
- *growth*: the cost per op at N = 100k over N = 1k, measured in interleaved rounds (each round times
  the short chain, the long one, then the short one again), so that a change of the machine's speed
  between the two sizes does not read as growth; beside it the same with the collector paused while the
  chain is built (the user's call, shown for scale: the collector's middle and full collections scanning
  the retained graph are what grows) and the hand-written NumPy chain's own growth.
- *memory per op*: tracemalloc bytes still held after ``backward()`` while the output (and so
  the graph) is alive, divided by N; by default every intermediate keeps its ``.grad``;
  ``backward(intermediate_grads=False)`` keeps the leaves' only. The peak during the pass too.
"""
from __future__ import annotations

import gc
import statistics
import tracemalloc
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tinygrad_loss import Tensor

from . import timing
from .timing import Results, Row, optional_torch

SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
CYCLE = 10
TARGET_FLAT = 1.1      # per-op time at N = 100k / at N = 1k
TARGET_BYTES = 300     # bytes per op after backward, with intermediate_grads=False


def chain(x, w, n: int):
    """``n`` ops (a multiple of ten) starting from ``x``, then a sum: works on our Tensors and torch's."""
    y = x
    for _ in range(n // CYCLE):
        y = (((y * w + x).tanh() * 0.5 - w).sigmoid() + 1.0).log()
        y = (y * x).relu()
    return y.sum()


def chain_numpy_grad(x: np.ndarray, w: np.ndarray, n: int) -> Tuple[float, np.ndarray, np.ndarray]:
    """The chain's value and gradients with respect to ``x`` and ``w``, by hand."""
    saved: List[Tuple[np.ndarray, ...]] = []
    y = x
    for _ in range(n // CYCLE):
        a3 = np.tanh(y * w + x)
        a6 = 1.0 / (1.0 + np.exp(-(a3 * 0.5 - w)))
        a7 = a6 + 1.0
        a8 = np.log(a7)
        a9 = a8 * x
        saved.append((y, a3, a6, a7, a8, a9))
        y = np.maximum(a9, 0)
    g = np.ones_like(y)
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for y0, a3, a6, a7, a8, a9 in reversed(saved):
        g = g * (a9 > 0)
        gx += g * a8
        g = g * x / a7 * a6 * (1.0 - a6)
        gw -= g
        g = g * 0.5 * (1.0 - a3 * a3)
        gx += g
        gw += g * y0
        g = g * w
    return float(y.sum()), gx + g, gw


def _leaves(framework, xv: np.ndarray, wv: np.ndarray):
    if framework is None:
        return Tensor(xv, requires_grad=True), Tensor(wv, requires_grad=True)
    return framework.tensor(xv, requires_grad=True), framework.tensor(wv, requires_grad=True)


def _time(fn: Callable[[], object], repeat: int) -> timing.Seconds:
    """Median seconds of ``fn()``. As in :func:`timing.measure`, the garbage collector stays on but
    what was alive before (e.g. the objects ``import torch`` leaves) is frozen out of its view: a
    full collection during a long chain scans the chain, not whichever libraries the process loaded."""
    fn()  # warm-up
    main, other = [], []
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeat):
            gc.collect()
            t0, o0 = timing.clock(), timing.other_clock()
            fn()
            main.append(timing.clock() - t0)
            other.append(timing.other_clock() - o0)
    finally:
        gc.unfreeze()
    return timing.Seconds.of(statistics.median(main), statistics.median(other))


def per_op_times(n: int, repeat: int, torch=None) -> Dict[str, timing.Seconds]:
    """Seconds per op of forward + backward for ours, NumPy by hand and (if given) PyTorch."""
    xv, wv = np.full(4, 0.9, np.float32), np.full(4, 1.1, np.float32)
    contenders: Dict[str, Callable[[], object]] = {"NumPy by hand": lambda: chain_numpy_grad(xv, wv, n)}
    for name, fw in (("ours", None), ("PyTorch", torch)) if torch is not None else (("ours", None),):
        x, w = _leaves(fw, xv, wv)

        def step(x=x, w=w) -> None:
            x.grad = w.grad = None
            chain(x, w, n).backward()

        contenders[name] = step
    out = {}
    for name, fn in contenders.items():
        t = _time(fn, repeat)
        out[name] = timing.Seconds.of(t / n, t.other / n)
    return out


def _ours_step(n: int, pause_collector: bool = False) -> Callable[[], None]:
    x, w = _leaves(None, np.full(4, 0.9, np.float32), np.full(4, 1.1, np.float32))

    def step() -> None:
        x.grad = w.grad = None
        if not pause_collector:
            chain(x, w, n).backward()
            return
        enabled = gc.isenabled()
        gc.disable()
        try:
            out = chain(x, w, n)
        finally:
            if enabled:
                gc.enable()
        out.backward()

    return step


def _once(fn: Callable[[], object]) -> timing.Seconds:
    gc.collect()
    t0, o0 = timing.clock(), timing.other_clock()
    fn()
    return timing.Seconds.of(timing.clock() - t0, timing.other_clock() - o0)


def growth(small: int = 1_000, big: int = 100_000, rounds: int = 9, runs: int = 15) -> Dict[str, timing.Seconds]:
    """Per-op time at ``big`` over ``small`` for ours, ours with the collector paused during the forward,
    and NumPy by hand: the median over ``rounds`` of each round's ratio, where a round times ``runs`` short
    chains (median), one long chain, then ``runs`` short chains again, so both sizes see the same machine."""
    xv, wv = np.full(4, 0.9, np.float32), np.full(4, 1.1, np.float32)
    contenders = {"ours": lambda n: _ours_step(n),
                  "ours, collector paused during the forward": lambda n: _ours_step(n, pause_collector=True),
                  "NumPy by hand": lambda n: (lambda: chain_numpy_grad(xv, wv, n))}
    out = {}
    gc.collect()
    gc.freeze()
    try:
        for name, make in contenders.items():
            short, long_ = make(small), make(big)
            short(), long_()  # warm-up
            main, other = [], []
            for _ in range(rounds):
                before = [_once(short) for _ in range(runs)]
                t_big = _once(long_)
                after = [_once(short) for _ in range(runs)]
                for ratios, pick in ((main, float), (other, lambda s: s.other)):
                    per_small = (statistics.median(map(pick, before)) + statistics.median(map(pick, after))) / 2
                    ratios.append((pick(t_big) / big) / (per_small / small))
            out[name] = timing.Seconds.of(statistics.median(main), statistics.median(other))
    finally:
        gc.unfreeze()
    return out


def bytes_per_op(n: int, intermediate_grads: bool) -> Tuple[float, float]:
    """(bytes held after backward with the graph alive, peak bytes during build + backward), per op."""
    x, w = _leaves(None, np.full(4, 0.9, np.float32), np.full(4, 1.1, np.float32))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = chain(x, w, n)
        out.backward(intermediate_grads=intermediate_grads)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return (held - base) / n, (peak - base) / n


def _repeat_for(n: int) -> int:
    # At least 5 runs even for the longest chains: the median of 2 (N = 100k) moved by 30% under load.
    return max(5, min(21, 200_000 // max(n, 1)))


def run(sizes: Sequence[int] = SIZES, use_torch: bool = True, memory: bool = True) -> Results:
    torch = optional_torch(use_torch)
    res = Results()
    if torch is None:
        res.notes.append("scaling: PyTorch rows skipped (torch not importable, or --no-torch)")
    for n in sizes:
        t = per_op_times(n, _repeat_for(n), torch)
        bench = f"chain fwd+bwd per op, N={n:,}"
        th = t.get("PyTorch")
        for name in ("ours", "PyTorch", "NumPy by hand"):
            if name in t:
                res.add(Row(bench, name, t[name], ratio=t[name] / t["NumPy by hand"], ratio_of="NumPy",
                            vs_torch=None if th is None else t[name] / th))
        if memory:
            for keep in (True, False):
                held, peak = bytes_per_op(n, keep)
                ok = None if keep else held <= TARGET_BYTES
                res.add(Row(f"chain memory per op, N={n:,}", "ours" + ("" if keep else ", intermediate_grads=False"),
                            held, unit="B/op", target="" if keep else f"<= {TARGET_BYTES} B/op", met=ok,
                            note=f"peak {peak:.0f} B/op"))
    if 1_000 in sizes and 100_000 in sizes:
        for name, ratio in growth().items():
            ours = name == "ours"
            res.add(Row("chain per-op time, N=100k / N=1k", name, float(ratio), unit="x",
                        target=f"<= {TARGET_FLAT}" if ours else "", met=(ratio <= TARGET_FLAT) if ours else None,
                        note=f"other clock {ratio.other:.2f}x"))
    return res
