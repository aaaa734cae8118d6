"""Finite-difference gradient checking, for users and for the test suite.

The analytic gradient from the engine is compared with central differences
``(f(x + ε e_i) - f(x - ε e_i)) / 2ε`` computed in float64, element by element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from . import _validate as V
from .autograd import enable_grad, grad, no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckResult", "numerical_grad"]


@dataclass
class GradcheckResult:
    """Outcome of :func:`gradcheck`; truthy when every element is within tolerance.

    ``max_abs_error``/``max_rel_error`` are per input (``|a - n|`` and ``|a - n| / max(|n|, atol)``);
    ``worst`` locates the element furthest outside the tolerance ``atol + rtol |n|``.
    """

    ok: bool
    max_abs_error: List[float]
    max_rel_error: List[float]
    worst_input: int
    worst_index: Tuple[int, ...]
    analytic: float
    numeric: float
    analytic_grads: List[np.ndarray] = field(repr=False)
    numeric_grads: List[np.ndarray] = field(repr=False)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        status = "passed" if self.ok else "FAILED"
        return (f"gradcheck {status}: worst element is input {self.worst_input} at index {self.worst_index}: "
                f"analytic {self.analytic:.8g} vs numeric {self.numeric:.8g} "
                f"(max abs error per input {['%.3g' % e for e in self.max_abs_error]}, "
                f"max rel error {['%.3g' % e for e in self.max_rel_error]})")


def _leaves(who: str, fn: Any, inputs: Tuple[Any, ...], eps: Any, atol: Any, rtol: Any, seed: Any,
            raise_exception: Any) -> List[Tensor]:
    """Every argument checked (errors name ``who``); the inputs as float64 leaves requiring grad."""
    if not callable(fn):
        raise TypeError(f"{who}: fn must be callable, got {type(fn).__name__}")
    V.number(who, "eps", eps, lo=0, lo_open=True)
    V.number(who, "atol", atol, lo=0)
    V.number(who, "rtol", rtol, lo=0)
    V.integer(who, "seed", seed, lo=0)
    V.boolean(who, "raise_exception", raise_exception)
    if not inputs:
        raise ValueError(f"{who}: give at least one input")
    return [Tensor(np.array(V.real_array(who, x, f"input {i}", finite=True), dtype=np.float64), requires_grad=True)
            for i, x in enumerate(inputs)]


def _scalarize(out: Tensor, weights: Optional[np.ndarray]) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out.sum() if weights is None else (out * Tensor._wrap(weights)).sum()


def numerical_grad(fn: Callable[..., Tensor], inputs: List[Tensor], eps: float,
                   weights: Optional[np.ndarray] = None) -> List[np.ndarray]:
    """Central-difference gradient of ``sum(weights * fn(*inputs))`` for each input (in place, restored)."""
    out = []
    with no_grad():
        for t in inputs:
            g = np.zeros_like(t.data)
            flat, gflat = t.data.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + eps
                up = _scalarize(fn(*inputs), weights).item()
                flat[i] = orig - eps
                down = _scalarize(fn(*inputs), weights).item()
                flat[i] = orig
                gflat[i] = (up - down) / (2 * eps)
            out.append(g)
    return out


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0, raise_exception: bool = False) -> GradcheckResult:
    """Compare the engine's gradient of ``fn`` with central differences, in float64.

    Every input becomes a float64 leaf with ``requires_grad=True``. A non-scalar output is
    reduced with fixed random weights (``Σ w ⊙ fn(...)``), which checks a random
    vector-Jacobian product. An element passes when ``|analytic - numeric| <= atol + rtol |numeric|``.
    """
    leaves = _leaves("gradcheck", fn, inputs, eps, atol, rtol, seed, raise_exception)
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = None
    if out.size != 1:
        weights = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)
    scalar = _scalarize(out, weights)
    if scalar.requires_grad:
        analytic = [np.zeros_like(t.data) if g is None else np.asarray(g.data, dtype=np.float64)
                    for t, g in zip(leaves, grad(scalar, leaves, allow_unused=True))]
    else:
        analytic = [np.zeros_like(t.data) for t in leaves]
    numeric = numerical_grad(fn, leaves, eps, weights)

    abs_errs, rel_errs = [], []
    worst = (-1.0, 0, (), 0.0, 0.0)
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        if a.shape != n.shape:
            raise ValueError(f"gradcheck: analytic gradient of input {k} has shape {a.shape}, expected {n.shape}")
        diff = np.abs(a - n)
        abs_errs.append(float(diff.max()) if diff.size else 0.0)
        rel_errs.append(float((diff / np.maximum(np.abs(n), atol)).max()) if diff.size else 0.0)
        if diff.size:
            score = diff / (atol + rtol * np.abs(n))
            score = np.where(np.isnan(score), np.inf, score)
            i = int(np.argmax(score))
            if score.flat[i] > worst[0]:
                idx = tuple(int(j) for j in np.unravel_index(i, a.shape))
                worst = (float(score.flat[i]), k, idx, float(a.flat[i]), float(n.flat[i]))
    ok = worst[0] <= 1.0
    res = GradcheckResult(ok, abs_errs, rel_errs, worst[1], worst[2], worst[3], worst[4], analytic, numeric)
    if raise_exception and not ok:
        raise AssertionError(str(res))
    return res


def gradgradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0, raise_exception: bool = False) -> GradcheckResult:
    """Check second derivatives: :func:`gradcheck` of the vector-Jacobian product of ``fn``.

    The checked function is ``x -> v · ∂fn(x)/∂x`` (all inputs' gradients, flattened and joined),
    computed by :func:`tinygrad_loss.grad` with ``create_graph=True`` for a fixed random ``v``.
    It passes only if every VJP on the way is itself differentiated correctly.
    """
    from . import ops

    leaves = _leaves("gradgradcheck", fn, inputs, eps, atol, rtol, seed, raise_exception)
    with enable_grad():
        out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(out).__name__}")
    v = Tensor._wrap(np.random.default_rng(seed + 1).uniform(0.5, 1.5, out.shape))

    def vjp(*xs: Tensor) -> Tensor:
        with enable_grad():  # gradcheck evaluates fn under no_grad for the finite differences
            y = fn(*xs)
            if not y.requires_grad:
                gs = [None] * len(xs)
            else:
                gs = grad(y, list(xs), grad_outputs=v.astype(y.dtype), create_graph=True, allow_unused=True)
            flat = [ops.reshape(Tensor._wrap(np.zeros(x.size)) if g is None else g, (-1,))
                    for x, g in zip(xs, gs)]
            return ops.concatenate(flat) if len(flat) > 1 else flat[0]

    return gradcheck(vjp, *leaves, eps=eps, atol=atol, rtol=rtol, seed=seed, raise_exception=raise_exception)
