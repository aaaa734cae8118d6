"""Benchmark 5: how the cost per op grows with the graph. A chain of N elementwise ops on ``(4,)``
float32 tensors (a cycle of ten: ``* w, + x, tanh, * 0.5, - w, sigmoid, + 1, log, * x, relu``,
bounded for any N), forward + backward, for N = 10 ... 1,000,000.

- *time per op*: forward + backward of the whole chain divided by N, on both clocks, against the
  same chain written by hand in NumPy (forward + backward, the floor) and PyTorch eager. A cost
  per op that grows with N is the garbage collector scanning the growing graph, or anything else
  superlinear. Objects alive before the timing (torch's, for one) are ``gc.freeze()``d, as in
  ``timing.measure``.
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
    per_op: Dict[int, float] = {}
    floor: Dict[int, float] = {}
    for n in sizes:
        t = per_op_times(n, _repeat_for(n), torch)
        per_op[n], floor[n] = t["ours"], t["NumPy by hand"]
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
    if 1_000 in per_op and 100_000 in per_op:
        flat = per_op[100_000] / per_op[1_000]
        wall = per_op[100_000].other / per_op[1_000].other
        res.add(Row("chain per-op time, N=100k / N=1k", "ours", flat, unit="x", target=f"<= {TARGET_FLAT}",
                    met=flat <= TARGET_FLAT, note=f"other clock {wall:.2f}x"))
        # the floor's own growth, for scale: the same chain by hand also keeps its saved arrays alive
        res.add(Row("chain per-op time, N=100k / N=1k", "NumPy by hand", floor[100_000] / floor[1_000], unit="x",
                    note=f"other clock {floor[100_000].other / floor[1_000].other:.2f}x"))
    return res
