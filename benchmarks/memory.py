"""Benchmark 4: memory of the MLP step (tracemalloc), ours against the hand-written NumPy step.

- *Peak*: the highest traced allocation during one step above what was live before it
  (weights and the batch are allocated before tracing starts, so only the step's own
  temporaries, gradients and graph count). NumPy reports its array buffers to tracemalloc,
  so array data and Python objects are both included. PyTorch allocates outside
  tracemalloc's view and has no row here.
- *Growth*: traced memory and live Tensor objects after many steps against after a few
  warm-up steps; a leak (a graph kept alive by a reference cycle, grads piling up) shows here.

Ours stores a ``.grad`` on every intermediate node after ``backward()`` by default (a teaching
choice). The row "leaf grads only" re-measures the peak with ``backward(intermediate_grads=False)``,
the documented opt-out, to show its cost.
"""
from __future__ import annotations

import gc
import tracemalloc
from typing import Callable, Dict, Tuple

from tinygrad_loss import Tensor

from . import mlp
from .timing import Results, Row

TARGET = 1.3  # ours peak / NumPy peak


def peak_bytes(step: Callable[[], object], warmup: int = 2) -> Tuple[int, int]:
    """(peak bytes allocated during one ``step()``, bytes still held after it) above the baseline."""
    for _ in range(warmup):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, current - base


def live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Tensor)


def growth(step: Callable[[], object], steps: int, warmup: int = 10) -> Dict[str, float]:
    """Traced bytes and live Tensors after ``steps`` more steps, against after ``warmup`` steps."""
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(warmup):
            step()
        gc.collect()
        mem0, tensors0 = tracemalloc.get_traced_memory()[0], live_tensors()
        for _ in range(steps):
            step()
        gc.collect()
        mem1, tensors1 = tracemalloc.get_traced_memory()[0], live_tensors()
    finally:
        tracemalloc.stop()
    return {"bytes": mem1 - mem0, "tensors": tensors1 - tensors0, "steps": steps}


def run(growth_steps: int = 10_000, problem: mlp.Problem = None) -> Results:
    problem = problem or mlp.Problem()
    res = Results()
    bench = "MLP step peak memory"
    np_peak, np_held = peak_bytes(mlp.make_numpy(problem)[0])
    steps = {"ours (Tensor ops)": mlp.make_ops}
    if mlp.nn_available() is None:
        steps["ours (Dense+CE+SGD)"] = mlp.make_nn
    res.add(Row(bench, "NumPy (hand-written)", np_peak, unit="B", ratio=1.0, ratio_of="NumPy"))
    for name, make in steps.items():
        peak, held = peak_bytes(make(problem)[0])
        ratio = peak / np_peak
        res.add(Row(bench, name, peak, unit="B", ratio=ratio, ratio_of="NumPy", target=f"<= {TARGET}",
                    met=ratio <= TARGET))
    peak, _ = peak_bytes(mlp.make_ops(problem, intermediate_grads=False)[0])
    res.add(Row(bench, "ours (Tensor ops), leaf grads only", peak, unit="B", ratio=peak / np_peak, ratio_of="NumPy",
                note="backward(intermediate_grads=False)"))
    if growth_steps:
        g = growth(mlp.make_ops(problem)[0], growth_steps)
        ok = g["bytes"] <= 64 * 1024 and g["tensors"] <= 0
        res.add(Row(f"MLP growth over {growth_steps} steps", "ours (Tensor ops)", g["bytes"], unit="B",
                    target="no growth", met=ok, note=f"live Tensors {g['tensors']:+d}"))
    return res
