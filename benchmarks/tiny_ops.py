"""Benchmark 2: per-op overhead. A chain of 20 elementwise ops on ``(4,)`` float32 tensors.

With four elements the arithmetic is free; what is measured is the cost of each op's Python
machinery (lifting operands, shape checks, node creation) and of the backward engine
(topological order, gradient accumulation, one VJP per edge). The same ``chain`` function
runs on our Tensors and on torch tensors (both spell the ops as methods and operators);
NumPy runs the same chain by hand, forward only and forward + hand-written backward: the floor
of what any Python-level framework can reach.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from tinygrad_loss import Tensor

from .timing import Results, Row, measure, optional_torch

TARGET = 2.5  # ours / the hand-written NumPy forward + backward
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


def chain_numpy_grad(x: np.ndarray, w: np.ndarray):
    """The chain's value and its gradients with respect to ``x`` and ``w``, forward and backward by hand."""
    y1 = x * w
    y3 = np.tanh(y1 + x)
    y5 = y3 * 0.5 - w
    y6 = 1.0 / (1.0 + np.exp(-y5))
    y7 = y6 + 1.0
    y8 = np.log(y7)
    y10 = np.exp(y8 * x)
    y11 = y10 / w
    y14 = -(np.maximum(y11, 0) + w)
    y17 = np.tanh(y14 * y14 - 0.25)
    y19 = np.exp(y17 * w)
    g18 = y19                                   # d sum / d y19 = 1, times d exp
    gw = g18 * y17
    g16 = g18 * w * (1.0 - y17 * y17)
    g13 = -(2.0 * g16 * y14)
    gw += g13
    g11 = g13 * (y11 > 0)
    gw -= g11 * y11 / w
    g9 = g11 / w * y10
    gx = g9 * y8
    g5 = g9 * x / y7 * y6 * (1.0 - y6)
    gw -= g5
    g2 = g5 * 0.5 * (1.0 - y3 * y3)
    gx += g2 + g2 * w
    gw += g2 * x
    return y19.sum(), gx, gw


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
           "NumPy fwd+bwd": lambda: chain_numpy_grad(xv, wv), "NumPy fwd": lambda: chain_numpy(xv, wv)}
    res = Results()
    if torch is not None:
        th = make_torch(xv, wv, torch)
        fns["PyTorch fwd+bwd"] = th["fwd+bwd"]
        fns["PyTorch fwd"] = th["fwd"]
    else:
        res.notes.append("tiny-op chain: PyTorch rows skipped (torch not importable, or --no-torch)")
    t = measure(fns, number=number, repeat=repeat, warmup=warmup)
    bench = f"tiny-op chain, {N_OPS} ops on (4,)"
    for kind in ("fwd+bwd", "fwd"):
        floor, th_t = t[f"NumPy {kind}"], t.get(f"PyTorch {kind}")
        for who in ("ours", "PyTorch", "NumPy"):
            name = f"{who} {kind}"
            if name not in t:
                continue
            ratio = t[name] / floor
            target = who == "ours" and kind == "fwd+bwd"
            res.add(Row(bench, name, t[name], ratio=ratio, ratio_of=f"NumPy {kind}",
                        vs_torch=None if th_t is None else t[name] / th_t,
                        target=f"<= {TARGET}" if target else "", met=(ratio <= TARGET) if target else None))
    res.notes.append(f"tiny-op chain: our overhead over NumPy is {(t['ours fwd'] - t['NumPy fwd']) / N_OPS * 1e6:.2f} "
                     f"us per forward op; fwd+bwd costs {t['ours fwd+bwd'] / N_OPS * 1e6:.2f} us per op "
                     f"(hand-written NumPy: {t['NumPy fwd+bwd'] / N_OPS * 1e6:.2f})")
    return res
