"""The reverse-mode engine: topological order, backward(), grad(), no_grad and name scopes.

Reverse mode in one paragraph: for ``L = f(... g(x) ...)`` the chain rule gives
``dL/dx = dL/dg · dg/dx``. Walking the graph from the output back to the leaves, each
node receives the gradient of ``L`` with respect to its own value (its *upstream*
gradient ``g``) and hands each parent ``vjp(g)``, the vector-Jacobian product of its
op. A node used by several consumers receives the *sum* of their contributions, so a
node may only be processed after all its consumers: that is the topological order.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .tensor import Tensor

__all__ = [
    "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "name_scope",
    "current_scope", "topological_order", "GraphReleasedError",
]


class _State:
    """Global autodiff switches (read on every op, so kept to two attribute lookups)."""

    __slots__ = ("grad_enabled", "scope", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope = ""
        # None, or the checker installed by ``detect_anomaly()`` (tinygrad_loss/viz/anomaly.py):
        # ops call ``anomaly.check_op`` on each result and backward uses it as its observer.
        self.anomaly = None


STATE = _State()

# Sentinel stored in ``_saved`` once a node's intermediates have been released.
RELEASED = object()


class GraphReleasedError(RuntimeError):
    """Raised when backward runs through a graph whose intermediates were already released."""


def is_grad_enabled() -> bool:
    return STATE.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._prev: List[bool] = []

    def __enter__(self):
        self._prev.append(STATE.grad_enabled)
        STATE.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc) -> bool:
        STATE.grad_enabled = self._prev.pop()
        return False


def no_grad(func: Optional[Callable] = None):
    """Context manager / decorator: ops inside record nothing and produce no gradients.

    ``with no_grad(): ...``, ``@no_grad()`` and ``@no_grad`` all work.
    """
    return _GradMode(False) if func is None else _GradMode(False)(func)


def enable_grad(func: Optional[Callable] = None):
    """Context manager / decorator: turn recording back on (e.g. inside ``no_grad``)."""
    return _GradMode(True) if func is None else _GradMode(True)(func)


class _NameScope(contextlib.ContextDecorator):
    # A plain class rather than @contextmanager: every layer and loss call enters one, and a
    # generator-based context manager costs a few microseconds more per use.
    __slots__ = ("name", "_prev")

    def __init__(self, name: str) -> None:
        self.name = name
        self._prev: List[str] = []

    def __enter__(self) -> str:
        name = self.name
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"name_scope: expected a non-empty name without '/', got {name!r}")
        prev = STATE.scope
        self._prev.append(prev)
        STATE.scope = f"{prev}/{name}" if prev else name
        return STATE.scope

    def __exit__(self, *exc) -> bool:
        STATE.scope = self._prev.pop()
        return False


def name_scope(name: str) -> _NameScope:
    """Tag every node created inside with ``name``; nested scopes join with ``/``.

    >>> with name_scope("MeanSquaredError"):
    ...     loss = ((y - y_hat) ** 2).mean()      # loss.scope == "MeanSquaredError"
    """
    return _NameScope(name)


def current_scope() -> str:
    return STATE.scope


def _walk(roots: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
    """(op nodes that need a gradient, each after all of its parents; leaves that need one).

    Iterative depth-first search, so a chain of 100,000 ops needs no recursion.
    """
    order: List[Tensor] = []
    leaves: List[Tensor] = []
    visited = set()
    mark, push, pop, emit = visited.add, None, None, order.append
    for root in roots:
        if not root.requires_grad or id(root) in visited:
            continue
        mark(id(root))
        if root._op is None:
            leaves.append(root)
            continue
        stack = [(root, iter(root._parents))]
        push, pop = stack.append, stack.pop
        while stack:
            node, it = stack[-1]
            for p in it:
                if p.requires_grad and id(p) not in visited:
                    mark(id(p))
                    if p._op is None:
                        leaves.append(p)
                    else:
                        push((p, iter(p._parents)))
                        break
            else:
                pop()
                emit(node)
    return order, leaves


def topological_order(roots: Union[Tensor, Sequence[Tensor]]) -> List[Tensor]:
    """Op nodes that need a gradient, each after all of its parents.

    The backward pass visits exactly this list, in reverse; leaves are not included.
    """
    return _walk((roots,) if isinstance(roots, Tensor) else tuple(roots))[0]


def _check_gradient(root: Tensor, gradient) -> Tensor:
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient argument is needed for a non-scalar output of shape {root.shape}; "
                "pass gradient=ones_like(output) to sum, or reduce the output to a scalar first"
            )
        return Tensor._wrap(np.ones_like(root.data))
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=root.dtype)
    if gradient.shape != root.shape:
        raise ValueError(
            f"backward: gradient has shape {gradient.shape} but the output has shape {root.shape}; they must match"
        )
    return gradient


Observer = Callable[[str, Tensor, object], None]


def _run(
    roots: Sequence[Tensor],
    grad_outputs: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    accumulate: bool,
    inputs: Optional[Sequence[Tensor]] = None,
    observer: Optional[Observer] = None,
) -> Dict[int, Tensor]:
    """The engine. Returns the gradients of ``inputs`` (by id) when ``inputs`` is given.

    ``observer(event, tensor, payload)``, when given, is told each step:
    ``("visit", node, grad)`` before a node passes its gradient on, and
    ``("contribution", parent, (node, g))`` for every term added to a parent's gradient.
    The graph renderer uses this to draw backprop step by step.
    """
    if observer is None:
        observer = STATE.anomaly  # detect_anomaly(): check every gradient contribution
    order, leaves = _walk(roots)
    for node in order:  # fail before touching any .grad, not half-way through
        if node._saved is RELEASED:
            raise GraphReleasedError(
                f"backward: the graph through '{node._op.name}' (scope {node._scope or '-'}) was already "
                "released by an earlier backward(); pass retain_graph=True to the first call"
            )
    grads: Dict[int, Tensor] = {}
    pop, get = grads.pop, grads.get  # the loop below runs once per node: keep it to local lookups
    for r, g in zip(roots, grad_outputs):
        if r.requires_grad:
            prev = get(id(r))
            grads[id(r)] = g if prev is None else prev + g
            if observer is not None:
                observer("contribution", r, (None, g))
    wanted = None if inputs is None else {id(t) for t in inputs}
    results: Dict[int, Tensor] = {}
    handed_out = set()  # ids of the arrays that may be stored as some .grad during this call
    with _GradMode(bool(create_graph)):
        for node in reversed(order):
            g = pop(id(node), None)
            if g is None:  # does not lead to any root that was given a gradient
                continue
            if observer is not None:
                observer("visit", node, g)
            if wanted is not None and id(node) in wanted:
                results[id(node)] = g
            if accumulate:
                _store(node, g, create_graph)
                handed_out.add(id(g.data))
            op = node._op
            parents = node._parents
            for i, p in enumerate(parents):
                if p.requires_grad:
                    gp = op.vjps[i](g, node, *parents)
                    if gp.data.shape != p.data.shape:
                        raise RuntimeError(f"backward: the VJP of '{op.name}' returned a gradient of shape "
                                           f"{gp.shape} for its input {i} of shape {p.shape}")
                    k = id(p)
                    prev = get(k)
                    grads[k] = gp if prev is None else prev + gp
                    if observer is not None:
                        observer("contribution", p, (node, gp))
            if not retain_graph:
                node._saved = RELEASED
        for leaf in leaves:
            g = grads.get(id(leaf))
            if g is None:
                continue
            if observer is not None:
                observer("visit", leaf, g)
            if wanted is not None and id(leaf) in wanted:
                results[id(leaf)] = g
            if accumulate:
                if not create_graph and leaf.grad is None:
                    # A leaf's .grad gets an array of its own, writable: VJPs like add pass the same
                    # array to several tensors and sum's is a read-only broadcast view, so in-place
                    # edits (gradient clipping) must not reach another tensor's gradient.
                    d = g.data
                    if id(d) in handed_out or d.base is not None or not d.flags.writeable:
                        g = Tensor._wrap(d.copy())
                    handed_out.add(id(g.data))
                _store(leaf, g, create_graph)
    return results


def _store(t: Tensor, g: Tensor, create_graph: bool) -> None:
    if not create_graph and g.requires_grad:
        g = g.detach()
    if g.data.dtype != t.data.dtype:
        g = g.astype(t.dtype) if create_graph else Tensor._wrap(g.data.astype(t.dtype))
    # Out of place on purpose: ``g`` may be the very object handed to another tensor.
    t.grad = g if t.grad is None else t.grad + g


def backward(
    tensor: Tensor,
    gradient=None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    observer: Optional[Observer] = None,
) -> None:
    """``tensor.backward(...)``: accumulate gradients into ``.grad`` of every tensor that needs one."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require a gradient (no input had requires_grad=True, "
            "or it was computed under no_grad())"
        )
    g = _check_gradient(tensor, gradient)
    if retain_graph is None:
        retain_graph = create_graph
    _run([tensor], [g], retain_graph, create_graph, accumulate=True, observer=observer)


def grad(
    outputs: Union[Tensor, Sequence[Tensor]],
    inputs: Union[Tensor, Sequence[Tensor]],
    grad_outputs=None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> Tuple[Tensor, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated into ``.grad``).

    ``grad(y, x)`` is ``dy/dx`` for a scalar ``y``; for non-scalar outputs pass ``grad_outputs``
    (the vector of the vector-Jacobian product). With ``create_graph=True`` the result is itself
    differentiable, e.g. for Hessian-vector products.
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError("grad: every input must be a Tensor with requires_grad=True")
    if grad_outputs is None:
        gos = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise ValueError(f"grad: got {len(outs)} outputs but {len(gos)} grad_outputs")
    for o in outs:
        if not o.requires_grad:
            raise RuntimeError("grad: an output does not require a gradient (it does not depend on any input)")
    gs = [_check_gradient(o, g) for o, g in zip(outs, gos)]
    if retain_graph is None:
        retain_graph = create_graph
    res = _run(outs, gs, retain_graph, create_graph, accumulate=False, inputs=ins)
    out = []
    for t in ins:
        g = res.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "grad: one of the inputs was not used to compute the outputs; pass allow_unused=True "
                    "to get None for it"
                )
        else:
            if not create_graph and g.requires_grad:
                g = g.detach()
            if g.dtype != t.dtype:
                g = g.astype(t.dtype) if create_graph else Tensor._wrap(g.data.astype(t.dtype))
        out.append(g)
    return tuple(out)
