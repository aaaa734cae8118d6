"""Teaching diagnostics computed on a recorded graph, for the renderer to draw.

Each answers one question learners ask about backpropagation:

* :func:`backward_order` – in what order does the engine visit the nodes?
* :func:`contributions` – why is this gradient a sum? (a tensor read by several consumers
  receives ``∂L/∂a = Σ_consumers vjp_c(∂L/∂c)``, one term per use)
* :func:`find_anomalies` – where did the NaN come from? (the first op whose inputs are finite
  but whose output is not; ops that merely pass a NaN along are not blamed)
* :func:`clip_note`, :func:`broadcast_note` – did a loss clip its input, did a binary op
  silently broadcast ``(n,)`` against ``(n, 1)`` into an ``(n, n)`` matrix?
* :func:`gradcheck_badges` – is each leaf's gradient right? (finite differences via
  :func:`tinygrad_loss.gradcheck` on a replay of the recorded graph)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import autograd, ops
from ..gradcheck import gradcheck as _gradcheck
from ..tensor import Tensor
from ._graph import fmt_scalar, fmt_shape, is_finite, nonfinite_counts

__all__ = [
    "backward_order", "contributions", "Anomaly", "find_anomalies", "clip_note", "broadcast_note",
    "gradcheck_badges", "Badge", "BROADCASTING_OPS",
]


# --- order --------------------------------------------------------------------------------

def backward_order(roots: Sequence[Tensor]) -> Dict[int, int]:
    """Position (1-based) of each tensor in the backward pass, by id.

    The op nodes come from :func:`tinygrad_loss.topological_order`, the list the engine walks
    in reverse; the leaves that need a gradient receive it afterwards, in the engine's order.
    Tensors that need no gradient get no number.
    """
    return {id(t): k for k, t in enumerate(autograd.visit_order(list(roots)), 1)}


# --- fan-in -------------------------------------------------------------------------------

Contribution = Tuple[Optional[Tensor], Optional[np.ndarray]]  # (consumer or None for the seed, term)


def contributions(roots: Sequence[Tensor], nodes: Sequence[Tensor]) -> Optional[Dict[int, List[Contribution]]]:
    """The terms added up into each tensor's gradient, by id, in the order the engine adds them.

    Needs a finished ``backward()`` (the roots' ``.grad`` is the seed). When the graph was
    retained, the engine itself is re-run with an observer and ``accumulate=False`` (no
    ``.grad`` is touched); otherwise each consumer's VJP is re-applied to its stored ``.grad``,
    and a term whose VJP needs released intermediates is ``None``. Returns None before backward.
    """
    seeded = [r for r in roots if r.requires_grad and r.grad is not None]
    if not seeded:
        return None
    out: Dict[int, List[Contribution]] = {}
    try:
        with np.errstate(all="ignore"):  # a NaN here is what the picture is about, not a warning
            events = autograd.trace_backward(seeded, [r.grad for r in seeded])
        for event, t, payload in events:
            if event == "contribution":
                out.setdefault(id(t), []).append((payload[0], np.array(payload[1].data)))
        return out
    except autograd.GraphReleasedError:
        pass
    for r in seeded:
        out.setdefault(id(r), []).append((None, np.array(r.grad.data)))
    with autograd.no_grad(), np.errstate(all="ignore"):
        for c in reversed(autograd.topological_order(seeded)):  # the engine's order: same sums, same rounding
            if c.grad is None:
                continue
            rule = ops.OPS[c.op].vjps
            for i, p in enumerate(c.parents):
                if not p.requires_grad:
                    continue
                try:
                    term = np.array(rule[i](c.grad, c, *c.parents).data)
                except Exception:  # the VJP needs intermediates that backward() released
                    term = None
                out.setdefault(id(p), []).append((c, term))
    return out


# --- NaN / inf ----------------------------------------------------------------------------

@dataclass
class Anomaly:
    """Where non-finite numbers appear in a graph."""

    bad_value: set            # ids of tensors whose value holds NaN/inf
    bad_grad: set             # ids of tensors whose .grad holds NaN/inf
    origins: List[Tensor]     # tensors where a non-finite value first appears (from finite inputs)
    grad_origins: List[Tuple[Tensor, int]]  # (consumer, input) whose VJP made a finite gradient non-finite
    caption: str              # one line per first culprit (value, gradient); "" when all is finite

    def __bool__(self) -> bool:
        return bool(self.bad_value or self.bad_grad)


def _kinds(a: np.ndarray) -> str:
    nan, inf = nonfinite_counts(a)
    return " and ".join(k for k, n in (("nan", nan), ("inf", inf)) if n) or "non-finite values"


def describe_op(t: Tensor, parents: Sequence[Tensor] = ()) -> str:
    """``'CategoricalCrossentropy/log' (input shape (2, 3))``: an op named with its name scope."""
    parents = parents or t.parents
    shapes = ", ".join(fmt_shape(p.shape) for p in parents)
    return f"'{t.scope + '/' if t.scope else ''}{t.op}' (input shape{'s' * (len(parents) != 1)} {shapes})"


def find_anomalies(nodes: Sequence[Tensor], contrib: Optional[Dict[int, List[Contribution]]] = None) -> Anomaly:
    """Mark non-finite values/gradients and find the first op that *created* one.

    ``nodes`` is the graph in forward topological order. A value origin is an op whose
    output is non-finite while every input is finite (a leaf holding NaN is an origin too:
    bad data). A gradient origin is a consumer ``c`` with a finite value and finite ``∂L/∂c``
    whose VJP hands an input a non-finite term (e.g. ``sqrt`` at 0: finite forward, infinite
    derivative). The caption names the first value origin in forward order and the first
    gradient origin in backward order (the engine meets it first).
    """
    bad_value = {id(t) for t in nodes if not is_finite(t.data)}
    bad_grad = {id(t) for t in nodes if t.grad is not None and not is_finite(t.grad.data)}
    origins = [t for t in nodes if id(t) in bad_value and all(id(p) not in bad_value for p in t.parents)]
    grad_origins: List[Tuple[Tensor, int]] = []
    if bad_grad:
        for c in reversed(list(nodes)):  # backward order
            if c.is_leaf or c.grad is None or id(c) in bad_grad:  # a non-finite upstream merely propagates
                continue
            for i, p in enumerate(c.parents):
                if id(p) not in bad_grad:
                    continue
                terms = [g for (n, g) in (contrib or {}).get(id(p), []) if n is c]
                if terms and all(g is not None for g in terms):
                    if not all(is_finite(g) for g in terms):
                        grad_origins.append((c, i))
                elif all(id(q) not in bad_grad for q, _ in _consumers_of(p, nodes)):
                    grad_origins.append((c, i))  # every consumer's gradient is finite: blame them
    lines = []
    if origins:
        t = origins[0]
        if t.is_leaf:
            lines.append(f"first non-finite value: the input {('“' + t.name + '” ') if t.name else ''}"
                         f"of shape {fmt_shape(t.shape)} already holds {_kinds(t.data)}")
        else:
            lines.append(f"first non-finite value: {describe_op(t)} produced {_kinds(t.data)} from finite inputs")
    if grad_origins:
        c, i = grad_origins[0]
        lines.append(f"first non-finite gradient: the VJP of {describe_op(c)} turned a finite upstream gradient "
                     f"into {_kinds(c.parents[i].grad.data)} for its input {i}")
    elif bad_grad and not origins:
        lines.append("non-finite gradient: the gradient given to backward() already holds nan/inf")
    return Anomaly(bad_value, bad_grad, origins, grad_origins, "\n".join(lines))


def _consumers_of(p: Tensor, nodes: Sequence[Tensor]):
    return [(c, i) for c in nodes for i, q in enumerate(c.parents) if q is p]


# --- notes --------------------------------------------------------------------------------

#: Elementwise ops that broadcast their inputs (matmul's batch broadcasting is not flagged).
BROADCASTING_OPS = frozenset({"add", "sub", "mul", "div", "pow", "maximum", "minimum", "where"})


def _bound(b: float, precision: int) -> str:
    """A clip bound as typed when it is short (``0.9999999``: Keras's ``1 - 1e-7`` must not read
    ``1.0``, since a prediction of 1.0 *is* clipped), else rounded like every number (``1/3``)."""
    if isinstance(b, (int, np.integer)):
        return str(int(b))
    exact = repr(float(b))
    return exact if len(exact) <= 10 else fmt_scalar(b, precision)


def clip_note(t: Tensor, precision: int = 4) -> Optional[str]:
    """``clip [1e-07, 1.0]: 2 of 6 clipped`` for a ``clip`` node (None for other ops).

    The bounds are the ones the op saved; after a released backward only the count of
    elements the clip changed is known.
    """
    if t.op != "clip" or not t.parents:
        return None
    a = np.asarray(t.parents[0].data)
    saved = None if t._saved is autograd.RELEASED else t.saved  # the clip op saves lo and hi
    if saved is not None:
        lo, hi = saved["lo"], saved["hi"]
        n = int(np.sum(a < lo)) if lo is not None else 0
        n += int(np.sum(a > hi)) if hi is not None else 0
        lo_s = "-inf" if lo is None else _bound(lo, precision)
        hi_s = "inf" if hi is None else _bound(hi, precision)
        bounds = f" to [{lo_s}, {hi_s}]"
    else:
        n, bounds = int(np.sum(a != np.asarray(t.data))), ""
    return f"clipped {n} of {a.size}{bounds}" + (" (their gradient is 0)" if n else "")


def broadcast_note(t: Tensor) -> Optional[str]:
    """``broadcast (3,) with (3, 1) → (3, 3)`` when an elementwise op's output is larger than
    every input: the classic ``y_true (n,)`` vs ``y_pred (n, 1)`` bug of hand-written MSE."""
    if t.op not in BROADCASTING_OPS or len(t.parents) < 2:
        return None
    if all(t.data.size > p.data.size for p in t.parents):
        ins = " with ".join(fmt_shape(p.shape) for p in t.parents)
        return f"broadcast {ins} → {fmt_shape(t.shape)}"
    return None


# --- gradcheck badges -----------------------------------------------------------------------

@dataclass
class Badge:
    ok: bool
    max_rel_error: float
    max_abs_error: float

    @property
    def text(self) -> str:
        return f"gradcheck {'✓' if self.ok else '✗'} max rel err {self.max_rel_error:.1e}"


def _replay(t: Tensor, args: List[Tensor]) -> Tensor:
    """Re-run the op that made ``t`` on new inputs, with the arguments it saved (the op registry's replay)."""
    try:
        return t._op.replay(t, args)
    except autograd.GraphReleasedError:
        raise ValueError(f"gradcheck badges: the graph's saved values were released by backward(); draw with "
                         f"gradcheck=True before calling backward(), or call backward(retain_graph=True) "
                         f"(op '{t.op}' needs them)") from None


def gradcheck_badges(root: Tensor, nodes: Sequence[Tensor], max_elements: int = 2000,
                     atol: float = 1e-5, rtol: float = 1e-3) -> Dict[int, Badge]:
    """A :class:`Badge` for every leaf of the graph that requires a gradient, by id.

    The recorded graph is replayed in float64 as a function of those leaves, and
    :func:`tinygrad_loss.gradcheck` compares the engine's gradient with central differences.
    A leaf is green when all its elements satisfy ``|analytic - numeric| <= atol + rtol |numeric|``.
    """
    leaves = [t for t in nodes if t.is_leaf and t.requires_grad]
    if not leaves:
        return {}
    total = sum(t.size for t in leaves)
    if total > max_elements:
        raise ValueError(f"gradcheck badges: the graph's leaves hold {total} elements, more than {max_elements}; "
                         "finite differences need two forward passes per element, so draw a smaller example")
    pos = {id(t): k for k, t in enumerate(leaves)}

    def fn(*xs: Tensor) -> Tensor:
        memo: Dict[int, Tensor] = {}
        for t in nodes:
            if id(t) in pos:
                memo[id(t)] = xs[pos[id(t)]]
            elif t.is_leaf:
                d = t.data
                memo[id(t)] = Tensor._wrap(d.astype(np.float64) if d.dtype.kind == "f" else d)
            else:
                memo[id(t)] = _replay(t, [memo[id(p)] for p in t.parents])
        return memo[id(root)]

    # The badge checks the replay, so the replay must be the recorded function: same output at
    # the recorded inputs (up to the float32 -> float64 difference), or no badge at all.
    with autograd.no_grad(), np.errstate(all="ignore"):
        again = np.asarray(fn(*[Tensor._wrap(t.data.astype(np.float64)) for t in leaves]).data)
    want = np.asarray(root.data, dtype=np.float64)
    if again.shape != want.shape or not np.allclose(again, want, rtol=1e-3, atol=1e-5 * max(1.0, float(
            np.max(np.abs(want[np.isfinite(want)]), initial=0.0))), equal_nan=True):
        raise ValueError(f"gradcheck badges: replaying the recorded graph gives {again.ravel()[:4]} instead of the "
                         f"recorded output {want.ravel()[:4]}; the badges would check another function, so none "
                         f"are drawn")
    res = _gradcheck(fn, *[t.data for t in leaves], atol=atol, rtol=rtol)
    out = {}
    for k, t in enumerate(leaves):
        a, n = res.analytic_grads[k], res.numeric_grads[k]
        ok = bool(np.all(np.abs(a - n) <= atol + rtol * np.abs(n)))
        out[id(t)] = Badge(ok, res.max_rel_error[k], res.max_abs_error[k])
    return out
