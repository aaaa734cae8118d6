"""Benchmark 6: a Hessian-vector product, the double-backward path. MLP 10-64-64-1 with tanh,
MSE loss, batch 64, float64: ``H v = ∇_θ (∇_θ L · v)``, by ``grad(..., create_graph=True)`` and a
second ``grad``, in ours and in PyTorch (``torch.autograd.grad``). There is no hand-written NumPy
floor for this one (the second-order rules by hand would be a benchmark of their own).
"""
from __future__ import annotations

from typing import Callable, List

import numpy as np

import tinygrad_loss as tg

from .timing import Results, Row, measure, optional_torch

SIZES = (10, 64, 64, 1)
BATCH = 64
TARGET = 0.8  # ours / PyTorch


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        params += [rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), np.zeros(n_out)]
    x = rng.standard_normal((BATCH, SIZES[0]))
    y = rng.standard_normal((BATCH, SIZES[-1]))
    v = [rng.standard_normal(p.shape) for p in params]
    return params, x, y, v


def _loss(params, x, y, tanh):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = tanh(h)
    return ((h - y) ** 2).mean()


def make_ours(seed: int = 0) -> Callable[[], List[np.ndarray]]:
    params, x, y, v = problem(seed)
    ps = [tg.Tensor(p, requires_grad=True) for p in params]
    xt, yt, vt = tg.Tensor(x), tg.Tensor(y), [tg.Tensor(a) for a in v]

    def hvp() -> List[np.ndarray]:
        gs = tg.grad(_loss(ps, xt, yt, tg.tanh), ps, create_graph=True)
        dot = sum(((g * u).sum() for g, u in zip(gs, vt)), tg.Tensor(0.0, dtype=np.float64))
        return [h.data for h in tg.grad(dot, ps)]

    return hvp


def make_torch(torch, seed: int = 0) -> Callable[[], List[np.ndarray]]:
    params, x, y, v = problem(seed)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    xt, yt, vt = torch.tensor(x), torch.tensor(y), [torch.tensor(a) for a in v]

    def hvp() -> List[np.ndarray]:
        gs = torch.autograd.grad(_loss(ps, xt, yt, torch.tanh), ps, create_graph=True)
        dot = sum((g * u).sum() for g, u in zip(gs, vt))
        return [h.detach().numpy() for h in torch.autograd.grad(dot, ps)]

    return hvp


def run(number: int = 20, repeat: int = 21, warmup: int = 2, use_torch: bool = True) -> Results:
    torch = optional_torch(use_torch)
    fns = {"ours": make_ours()}
    res = Results()
    if torch is not None:
        fns["PyTorch"] = make_torch(torch)
    else:
        res.notes.append("Hessian-vector product: PyTorch row skipped (torch not importable, or --no-torch)")
    t = measure(fns, number=number, repeat=repeat, warmup=warmup)
    bench = "Hessian-vector product, MLP 10-64-64-1 tanh, b=64"
    th = t.get("PyTorch")
    ratio = None if th is None else t["ours"] / th
    res.add(Row(bench, "ours", t["ours"], vs_torch=ratio, target=f"<= {TARGET} vs PyTorch",
                met=None if ratio is None else ratio <= TARGET))
    if th is not None:
        res.add(Row(bench, "PyTorch", th, vs_torch=1.0))
    return res
