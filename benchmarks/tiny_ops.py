"""Benchmark 2: per-op overhead. A chain of 20 elementwise ops on ``(4,)`` float32 tensors.

With four elements the arithmetic is free; what is measured is the cost of each op's Python
machinery (lifting operands, shape checks, node creation) and of the backward engine
(topological order, gradient accumulation, one VJP per edge). The same ``chain`` function
runs on our Tensors and on torch tensors (both spell the ops as methods and operators);
NumPy runs the forward chain only, as the floor of what any Python-level framework can reach.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from tinygrad_loss import Tensor

from .timing import Results, Row, measure, optional_torch

TARGET = 1.5  # ours / PyTorch, forward + backward
N_OPS = 20


def chain(x, w):
    """20 elementwise ops (tensor-tensor, tensor-scalar and unary), ending in a sum to a scalar."""
    y = x * w
    y = y + x
    y = y.tanh()
    y = y * 0.5
    y = y - w
    y = y.sigmoid()
    y = y + 1.0
    y = y.log()
    y = y * x
    y = y.exp()
    y = y / w
    y = y.relu()
    y = y + w
    y = -y
    y = y * y
    y = y - 0.25
    y = y.tanh()
    y = y * w
    y = y.exp()
    return y.sum()


def chain_numpy(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The same 20 ops as :func:`chain` in plain NumPy (forward only)."""
    y = x * w
    y = y + x
    y = np.tanh(y)
    y = y * 0.5
    y = y - w
    y = 1.0 / (1.0 + np.exp(-y))
    y = y + 1.0
    y = np.log(y)
    y = y * x
    y = np.exp(y)
    y = y / w
    y = np.maximum(y, 0)
    y = y + w
    y = -y
    y = y * y
    y = y - 0.25
    y = np.tanh(y)
    y = y * w
    y = np.exp(y)
    return y.sum()


def inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 1.5, 4).astype(np.float32), rng.uniform(0.5, 1.5, 4).astype(np.float32))


def _steps(x, w) -> Dict[str, Callable[[], object]]:
    """The timed closures for two leaves ``x``, ``w`` of either framework (same code for both)."""

    def fwd():
        return chain(x, w)

    def fwd_bwd():
        x.grad = None
        w.grad = None
        y = chain(x, w)
        y.backward()
        return y

    return {"fwd": fwd, "fwd+bwd": fwd_bwd, "x": x, "w": w}


def make_ours(xv: np.ndarray, wv: np.ndarray) -> Dict[str, Callable[[], object]]:
    return _steps(Tensor(xv, requires_grad=True), Tensor(wv, requires_grad=True))


def make_torch(xv: np.ndarray, wv: np.ndarray, torch) -> Dict[str, Callable[[], object]]:
    return _steps(torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True))


def run(number: int = 200, repeat: int = 21, warmup: int = 2, use_torch: bool = True) -> Results:
    torch = optional_torch(use_torch)
    xv, wv = inputs()
    ours = make_ours(xv, wv)
    fns = {"ours fwd+bwd": ours["fwd+bwd"], "ours fwd": ours["fwd"],
           "NumPy fwd": lambda: chain_numpy(xv, wv)}
    res = Results()
    if torch is not None:
        th = make_torch(xv, wv, torch)
        fns["PyTorch fwd+bwd"] = th["fwd+bwd"]
        fns["PyTorch fwd"] = th["fwd"]
    else:
        res.notes.append("tiny-op chain: PyTorch rows skipped (torch not importable, or --no-torch); "
                         "no ratio against the target")
    t = measure(fns, number=number, repeat=repeat, warmup=warmup)
    bench = f"tiny-op chain, {N_OPS} ops on (4,)"
    np_f = t["NumPy fwd"]
    if torch is not None:
        ratio = t["ours fwd+bwd"] / t["PyTorch fwd+bwd"]
        res.add(Row(bench, "ours fwd+bwd", t["ours fwd+bwd"], ratio=ratio, ratio_of="PyTorch",
                    target=f"<= {TARGET}", met=ratio <= TARGET))
        res.add(Row(bench, "PyTorch fwd+bwd", t["PyTorch fwd+bwd"], ratio=1.0, ratio_of="PyTorch"))
    else:
        res.add(Row(bench, "ours fwd+bwd", t["ours fwd+bwd"], note="no PyTorch to compare"))
    res.add(Row(bench, "ours fwd", t["ours fwd"], ratio=t["ours fwd"] / np_f, ratio_of="NumPy fwd"))
    if torch is not None:
        res.add(Row(bench, "PyTorch fwd", t["PyTorch fwd"], ratio=t["PyTorch fwd"] / np_f, ratio_of="NumPy fwd"))
    res.add(Row(bench, "NumPy fwd only", np_f, ratio=1.0, ratio_of="NumPy fwd"))
    res.notes.append(f"tiny-op chain: our overhead over NumPy is {(t['ours fwd'] - np_f) / N_OPS * 1e6:.2f} us per "
                     f"forward op; fwd+bwd costs {t['ours fwd+bwd'] / N_OPS * 1e6:.2f} us per op")
    return res
