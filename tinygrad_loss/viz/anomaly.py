"""``detect_anomaly()``: stop at the first op that turns finite numbers into NaN or inf.

Inside the context every op result is checked, forward and backward:

* forward: an op whose output holds NaN/inf raises :class:`AnomalyError` naming the op with
  its name scope (``'CategoricalCrossentropy/log'``), its input shapes and the first bad index;
  it says whether the inputs were finite (this op is the origin) or already held NaN/inf (the
  data, or a tensor computed before the context, is to blame);
* backward: a gradient rule (VJP) that hands an input a non-finite gradient term raises,
  naming the op whose rule it is, even when the NaN appears inside the rule's own arithmetic.

It costs nothing when off: the core checks a single attribute (``autograd.STATE.anomaly``)
per op, and only when it is set does this module look at the numbers.
"""
from __future__ import annotations

import contextlib
from typing import Any, Optional, Sequence, Set

import numpy as np

from ..autograd import STATE
from ..tensor import Tensor
from ._graph import fmt_shape, is_finite, nonfinite_counts

__all__ = ["detect_anomaly", "AnomalyError"]


class AnomalyError(FloatingPointError):
    """Raised inside :func:`detect_anomaly` at the first op that produces NaN/inf."""


def _where(op_name: str, scope: str, parents: Sequence[Tensor]) -> str:
    shapes = ", ".join(fmt_shape(p.shape) for p in parents)
    full = f"{scope}/{op_name}" if scope else op_name
    in_scope = f" in name scope '{scope}'" if scope else " (no name scope)"
    return f"op '{full}'{in_scope}, input shape{'s' * (len(parents) != 1)} {shapes}"


def _what(a: np.ndarray) -> str:
    nan, inf = nonfinite_counts(a)
    kinds = " and ".join(f"{n} {k}" for k, n in (("nan", nan), ("inf", inf)) if n)
    bad = np.argwhere(~np.isfinite(a))
    first = tuple(int(i) for i in bad[0]) if a.ndim and bad.size else ()
    return f"{kinds} (first at index {first}, output shape {fmt_shape(a.shape)})"


def _source(p: Tensor) -> str:
    if p.is_leaf:
        return f"an input tensor{' ' + repr(p.name) if p.name else ''} that already holds nan/inf"
    return f"the result of '{p.op}' computed before detect_anomaly() was entered"


class _Checker:
    """Installed as ``STATE.anomaly``: ``check_op`` on every op result, called as the backward observer."""

    def __init__(self) -> None:
        self.node: Optional[Tensor] = None   # the op node whose VJP the engine is running
        self.vjp_ids: Set[int] = set()       # tensors belonging to that VJP computation

    def check_op(self, t: Tensor, op: Any, parents: Sequence[Tensor]) -> None:
        in_vjp = self.node is not None and any(id(p) in self.vjp_ids for p in parents)
        if in_vjp:
            self.vjp_ids.add(id(t))
        if is_finite(t.data):
            return
        if in_vjp:
            n = self.node
            raise AnomalyError(
                f"detect_anomaly: backward of {_where(n.op, n.scope, n.parents)}: its gradient rule's "
                f"'{op.name}' produced {_what(t.data)}")
        bad = [i for i, p in enumerate(parents) if not is_finite(p.data)]
        where = _where(op.name, t.scope, parents)
        if not bad:
            raise AnomalyError(f"detect_anomaly: {where} produced {_what(t.data)} from finite inputs")
        raise AnomalyError(f"detect_anomaly: {where} produced {_what(t.data)}; its input {bad[0]} is "
                           f"{_source(parents[bad[0]])}")

    def __call__(self, event: str, t: Tensor, payload: Any) -> None:
        if event == "visit":
            if t.is_leaf:
                self.node, self.vjp_ids = None, set()
            else:
                self.node = t
                self.vjp_ids = {id(payload), id(t)} | {id(p) for p in t.parents}
            return
        node, g = payload
        if is_finite(g.data):
            return
        if node is None:
            raise AnomalyError("detect_anomaly: the gradient given to backward() holds nan/inf")
        i = next(k for k, p in enumerate(node.parents) if p is t)
        raise AnomalyError(
            f"detect_anomaly: backward of {_where(node.op, node.scope, node.parents)} produced a non-finite "
            f"gradient for its input {i}: {_what(g.data)}")


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager / decorator: raise :class:`AnomalyError` at the first op (forward or
    backward) that produces NaN/inf, naming the op, its name scope and its input shapes.

    >>> with tl.detect_anomaly():
    ...     loss = tl.losses.CategoricalCrossentropy()(y, p)   # raises if log(0) appears
    ...     loss.backward()

    Checking every result costs time; use it while debugging, not in production loops.
    """

    def __init__(self) -> None:
        self._prev: list = []

    def __enter__(self) -> "detect_anomaly":
        self._prev.append(STATE.anomaly)
        STATE.anomaly = _Checker()
        return self

    def __exit__(self, *exc) -> bool:
        STATE.anomaly = self._prev.pop()
        return False
