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
import gc
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate as V
from .tensor import RELEASED, GraphReleasedError, Tensor

__all__ = [
    "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "name_scope",
    "current_scope", "topological_order", "visit_order", "trace_backward", "Observer", "GraphReleasedError",
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

    def __call__(self, func: Callable) -> Callable:
        if not callable(func):  # `@no_grad()` on something that is not a function
            raise _not_a_function("no_grad" if not self.enabled else "enable_grad", func)
        return super().__call__(func)


def _not_a_function(who: str, func: Any) -> TypeError:
    return TypeError(f"{who}: decorates a function (`@{who}` or `@{who}()`) or opens a block (`with {who}():`); "
                     f"got {V.show(func)} of type {type(func).__name__}")


def no_grad(func: Optional[Callable] = None):
    """Context manager / decorator: ops inside record nothing and produce no gradients.

    ``with no_grad(): ...``, ``@no_grad()`` and ``@no_grad`` all work.
    """
    if func is not None and not callable(func):
        raise _not_a_function("no_grad", func)
    return _GradMode(False) if func is None else _GradMode(False)(func)


def enable_grad(func: Optional[Callable] = None):
    """Context manager / decorator: turn recording back on (e.g. inside ``no_grad``)."""
    if func is not None and not callable(func):
        raise _not_a_function("enable_grad", func)
    return _GradMode(True) if func is None else _GradMode(True)(func)


class _NameScope(contextlib.ContextDecorator):
    # A plain class rather than @contextmanager: every layer and loss call enters one, and a
    # generator-based context manager costs a few microseconds more per use.
    __slots__ = ("name", "_prev")

    def __init__(self, name: str) -> None:
        V.string("name_scope", "name", name)
        if not name or "/" in name:
            raise ValueError(f"name_scope: expected a non-empty name without '/', got {name!r}")
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


class _GCPaused:
    """Pause the cyclic garbage collector (restored on exit, also on errors). A graph is a web of
    young objects with no cycles to find; scanning it every few thousand allocations made the cost
    per node grow with the graph."""

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc) -> bool:
        if self.was_enabled:
            gc.enable()
        return False


_tuple_iterator = type(iter(()))


class _Walked:
    """The mark ``_sort`` leaves in ``_pending`` of each tensor it lists: met by the walk, no gradient yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "WALKED"


# (``_pending`` is the visited mark of the walk: no set or dict of the nodes to look each parent up in,
# and the pass that follows clears it as it takes each tensor's gradient.)
WALKED = _Walked()

# How many backward passes are running: more than one only when a pass's observer starts another.
_RUNNING = [0]


def _refuse_overlap(roots: Sequence[Tensor]) -> None:
    """For a pass started while another is running (from its observer): raise, before anything changes,
    when the new graph reaches a tensor the running pass has marked or holds a gradient on. Gradients
    are summed on the tensors themselves, so two passes over one tensor would mix their sums."""
    seen, stack = set(), [r for r in roots if r.requires_grad]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._pending is not None:
            raise RuntimeError("backward: this graph shares tensors with a backward pass that has not returned "
                               "yet (this call came from that pass's observer); the two would mix their "
                               "gradients. Call it after that pass returns, or on a graph that shares no tensor "
                               "needing a gradient with it")
        stack.extend(p for p in t.parents if p.requires_grad)


def _sort(roots: Sequence[Tensor], check: bool = False) -> Tuple[List[Tensor], List[Tensor]]:
    """(op nodes that need a gradient, each after all of its parents; leaves that need one), as lists.
    Each tensor listed is left with ``_pending`` set to :data:`WALKED`, which the pass after the walk
    takes as "no gradient yet" and clears (:func:`_forget_pending` clears it for a pass that fails;
    the walk clears it itself when it raises).

    Iterative depth-first search, so a chain of 100,000 ops needs no recursion. ``check``: each
    node is also checked as it is emitted (:func:`_check_alive`), in the same walk: the first
    failing node in topological order raises, before any gradient is touched.
    """
    nodes: List[Tensor] = []
    leaves: List[Tensor] = []
    try:
        _walk(roots, check, nodes, leaves)
    except BaseException:
        _forget_pending(nodes, leaves)
        raise
    return nodes, leaves


def _walk(roots: Sequence[Tensor], check: bool, nodes: List[Tensor], leaves: List[Tensor]) -> None:
    """:func:`_sort`'s walk: appends to ``nodes`` and ``leaves``, marks each tensor it appends."""
    # A graph has no cycles, so a parent already marked is emitted already or a leaf. The walk looks at
    # one parent ``p`` of ``node`` at a time; ``rest`` is what comes after it: the node's second parent,
    # None, or (a node with no parents or three or more, see Tensor's ``_in0``/``_in1``) an iterator
    # over its parents tuple. The nodes below the current one are a linked list of tuples (node, its
    # rest, the list below): no list method call per step down and back.
    emit, leaf = nodes.append, leaves.append
    suspects: Optional[set] = None  # nodes with an input (or their own output) at a version other than 0
    walked, released, many = WALKED, RELEASED, _tuple_iterator  # (locals: cheaper than globals)
    for root in roots:
        if not root.requires_grad or root._pending is walked:
            continue
        if root._op is None:
            root._pending = walked
            leaf(root)
            continue
        if root._version:  # (any other node's own version is tested where it is met as a parent)
            suspects = (suspects or set()) | {root}
        node, below = root, None
        p, rest = root._in0, root._in1
        if p is None:
            rest = iter(rest)
            p = next(rest, None)
        while True:
            if p is not None:  # (each parent of each node passes here once)
                if p._version:  # the node's input changed in place, and so did the parent's own output
                    if suspects is None:
                        suspects = set()
                    suspects.add(node)
                    suspects.add(p)
                if p.requires_grad and p._pending is not walked:
                    if p._op is None:
                        p._pending = walked
                        leaf(p)
                    else:  # go down to p; come back to this node's remaining parents after it
                        below = (node, rest, below)
                        node = p
                        p, rest = p._in0, p._in1
                        if p is None:
                            rest = iter(rest)
                            p = next(rest, None)
                        continue
                if rest is not None:  # the node's next parent
                    if rest.__class__ is not many:
                        p = rest
                        rest = None
                        continue
                    p = next(rest, None)
                    if p is not None:
                        continue
            # Every parent done: the node is next in topological order, and so is each node below whose
            # last parent it was. _check_alive's test, inline: a node whose inputs and output are all at
            # version 0 (no suspects: a node that saved versions has an input, or is itself, at a version
            # other than 0, since versions only grow) and which kept its saved values needs no closer look.
            while True:
                if suspects is not None or node._saved is released:
                    if check and (node._saved is released or node._tag.__class__ is not str or node in suspects):
                        _check_alive((node,))
                node._pending = walked
                emit(node)
                if below is None:
                    node = None
                    break
                node, rest, below = below
                if rest is not None:
                    if rest.__class__ is not many:
                        p = rest
                        rest = None
                        break
                    p = next(rest, None)
                    if p is not None:
                        break
            if node is None:
                break


def _roots(roots: Union[Tensor, Sequence[Tensor]], who: str = "topological_order", what: str = "roots"
           ) -> Tuple[Tensor, ...]:
    """A Tensor or a non-empty list/tuple of Tensors, as a tuple; a TypeError naming ``who`` otherwise."""
    if isinstance(roots, Tensor):
        return (roots,)
    if not isinstance(roots, (list, tuple)) or not roots or not all(isinstance(t, Tensor) for t in roots):
        raise TypeError(f"{who}: {what} must be a Tensor or a non-empty list of Tensors, got {V.show(roots)}")
    return tuple(roots)


def topological_order(roots: Union[Tensor, Sequence[Tensor]]) -> List[Tensor]:
    """Op nodes that need a gradient, each after all of its parents.

    The backward pass visits exactly this list, in reverse, then the leaves (:func:`visit_order`).
    """
    with _GCPaused():
        nodes, leaves = _sort(_roots(roots, "topological_order"))
    _forget_pending(nodes, leaves)
    return nodes


def visit_order(roots: Union[Tensor, Sequence[Tensor]]) -> List[Tensor]:
    """Every tensor a backward pass from ``roots`` may hand a gradient to, in the order it does:
    the op nodes in reverse topological order, then the leaves that require a gradient."""
    with _GCPaused():
        nodes, leaves = _sort(_roots(roots, "visit_order"))
    _forget_pending(nodes, leaves)
    return nodes[::-1] + leaves


def _seed(root: Tensor, gradient: Any, who: str = "backward", what: str = "gradient", own: bool = False) -> Any:
    """The gradient backward starts from at ``root`` (ones for a scalar), checked against its shape:
    an array made here (the pass's own), or the caller's Tensor (with its graph, when recording).

    ``own``: a caller's Tensor is copied, since pass-through VJPs (reshape, a leaf root) would
    otherwise hand its very array out as a ``.grad`` or a result of ``grad()``."""
    if gradient is None:
        data = root._data
        if data.size != 1:
            raise RuntimeError(
                f"{who}: a {what} argument is needed for a non-scalar output of shape {root.shape}; "
                "pass gradient=ones_like(output) to sum, or reduce the output to a scalar first"
            )
        # (np.array(1, dtype) is one C call; np.ones runs Python code: a third of backward's fixed cost)
        return np.ones(data.shape, data.dtype) if data.ndim else np.array(1, data.dtype)
    given = gradient
    if not isinstance(gradient, Tensor):
        gradient = Tensor(V.real_array(who, gradient, what), dtype=root.dtype)
    if gradient.shape != root.shape:
        raise ValueError(
            f"{who}: {what} has shape {gradient.shape} but the output has shape {root.shape}; they must match"
        )
    return np.array(gradient._data) if own and isinstance(given, Tensor) else gradient


Observer = Callable[[str, Tensor, Any], None]
Observer.__doc__ = """``observer(event, tensor, payload)``, given to :func:`backward`, :func:`grad` (``observer=``)
or run by :func:`trace_backward`. Events, in the engine's order:

* ``"contribution"``, payload ``(consumer, term)``: ``term`` is added to ``tensor``'s gradient by the
  VJP of ``consumer`` (``consumer`` is None for the seed given to the output);
* ``"visit"``, payload ``grad``: ``tensor``'s gradient is complete; its VJPs run next (leaves: none).
"""


def _check_alive(nodes: Sequence[Tensor]) -> None:
    """Fail before touching any ``.grad``, not half-way through: released graphs, tensors changed in place."""
    for node in nodes:
        if node._saved is RELEASED:
            raise GraphReleasedError(
                f"backward: the graph through '{node._op.name}' (scope {node._scope or '-'}) was already "
                "released by an earlier backward(). If you update parameters by hand, do it in place under "
                "no_grad() (`with no_grad(): w -= lr * w.grad`): `w = w - lr * w.grad` makes the new w part of "
                "the old graph. To run backward twice through one graph, pass retain_graph=True to the first call"
            )
        tag = node._tag  # (the scope string, or a _Tag that may hold the versions the op saw)
        seen = None if tag.__class__ is str else tag.saved_versions
        if seen is None:  # the op saw its inputs (and made its output) at version 0
            if node._version:
                _stale(node, None, 0)
            for p in node.parents:
                if p._version:
                    _stale(node, p, 0)
        else:
            for t, version in seen:
                if (node if t is None else t)._version != version:
                    _stale(node, t, version)


def _stale(node: Tensor, t: Optional[Tensor], seen: int) -> None:
    """The error for a node whose input ``t`` (its own output for None) changed in place since it ran."""
    where = f"'{node._op.name}' (scope {node._scope or '-'})"
    if t is None:
        what = f"the output of {where}{' ' + repr(node.name) if node.name else ''}, of shape {node.shape}, " \
               "was modified in place after it was computed"
        now = node._version
    else:
        what = f"an input of {where}, the tensor {repr(t.name) + ' ' if t.name else ''}of shape {t.shape}, was " \
               "modified in place after the op used it"
        now = t._version
    raise RuntimeError(f"backward: {what} (version {now}, the op saw version {seen}), so the gradient would be "
                       "wrong. Compute the result again after the change, or change a new tensor "
                       "(`t = t - x` instead of `t -= x`)")


class ShapedRules(tuple):
    """An op's raw rules (``Op.raw``) that return each input's shape by construction (they end in an
    unbroadcast or an expand-back): the array loop skips its shape check per edge for them, which
    builds and compares two shape tuples. Rules put in their place as a plain tuple are checked."""

    __slots__ = ()


Sink = Callable[[Tensor, Any], None]
_wrap = Tensor._wrap
_ndarray = np.ndarray


def _tensor(g: Any) -> Tensor:
    """A gradient array (or the NumPy scalar a 0-d operation returns) as a Tensor."""
    return _wrap(g if type(g) is np.ndarray else np.asarray(g))


def _propagate(roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool, retain_graph: bool,
               observer: Optional[Observer], sink: Sink, kept: Optional[set] = None,
               leaves_only: bool = False) -> None:
    """Run every VJP once, in reverse topological order; ``sink(tensor, grad)`` receives each
    tensor's complete gradient (op nodes first, then leaves) before its VJPs run.

    One order, two kinds of gradient. Usually (``create_graph=False``) a gradient is a plain
    NumPy array and each op's ``raw`` rules compute its parents' gradients: no node is built, so
    the pass costs little more than the arithmetic. With ``create_graph=True`` gradients are
    Tensors computed by the ops' Tensor rules with recording on, so the result is itself
    differentiable. ``detect_anomaly()`` also takes the Tensor loop, whose ops it checks one by one.
    Gradients are summed on the tensors themselves (``_pending``), not in a dict keyed by id.
    The cyclic garbage collector is paused for the whole call (the walk and the pass), then put back
    as it was, also after an error or a KeyboardInterrupt. ``seeds``: arrays or Tensors.
    On arrays, ``leaves_only`` skips the sink for op nodes, and ``kept`` (backward()'s set of the
    ids of the arrays it stores) has the loop store an op node's gradient as its ``._grad`` itself
    in the usual case (the sink's own rule for it, inline: see :func:`_storer`).
    """
    gc_was_enabled = gc.isenabled()  # (_GCPaused and _GradMode, inline: this runs on every training step)
    grad_was_enabled = STATE.grad_enabled
    nodes: List[Tensor] = []
    leaves: List[Tensor] = []
    if _RUNNING[0]:
        _refuse_overlap(roots)
    _RUNNING[0] += 1
    try:
        gc.disable()
        _walk(roots, True, nodes, leaves)  # (_sort's walk; the except below clears its marks if it raises)
        on_arrays = not create_graph and STATE.anomaly is None
        STATE.grad_enabled = create_graph
        for r, g in zip(roots, seeds):
            if r.requires_grad:
                if on_arrays:
                    if g.__class__ is not _ndarray:
                        g = g._data
                elif g.__class__ is _ndarray:
                    g = _wrap(g)
                if observer is not None:
                    observer("contribution", r, (None, _tensor(g) if on_arrays else g))
                r._pending = g if r._pending is WALKED else r._pending + g
        if on_arrays:
            _run_on_arrays(nodes, retain_graph, observer, sink, kept, leaves_only)
            _leaves_on_arrays(leaves, observer, sink)
        else:
            _run_on_tensors(list(reversed(nodes)) + list(leaves), create_graph, retain_graph, observer, sink)
    except BaseException:
        _forget_pending(nodes, leaves)
        raise
    finally:
        _RUNNING[0] -= 1
        STATE.grad_enabled = grad_was_enabled
        if gc_was_enabled:
            gc.enable()


def _forget_pending(nodes: Iterable[Tensor], leaves: Iterable[Tensor]) -> None:
    """After a failed pass: no half-summed gradient may leak into the next one (a finished pass leaves none)."""
    for t in nodes:
        t._pending = None
    for t in leaves:
        t._pending = None


def _run_on_arrays(nodes: List[Tensor], retain_graph: bool, observer: Optional[Observer], sink: Sink,
                   kept: Optional[set], leaves_only: bool) -> None:
    """The first-order pass over the op nodes (``nodes`` in topological order, run backwards):
    gradients are arrays, each op's ``raw`` rules make its parents' terms. The observer, if any, is
    handed Tensors (made only for it). One- and two-parent ops (nearly all) take a path without the
    generic loop's ``enumerate`` and ``*parents`` call; the three paths differ in nothing else (the
    term is checked, summed into the parent's ``_pending``, observed)."""
    keep = None if kept is None else kept.add
    for t in reversed(nodes):
        g = t._pending
        t._pending = None
        if g is WALKED:  # does not lead to any root that was given a gradient
            continue
        if observer is not None:
            observer("visit", t, _tensor(g))
        if keep is not None:  # backward()'s intermediate .grad: the usual case inline, the rest in the sink
            if t._grad is None and g.__class__ is _ndarray and g.dtype is t._data.dtype:
                keep(id(g))
                t._grad = g
            else:
                sink(t, g)
        elif not leaves_only:
            sink(t, g)
        op = t._op
        rules, a, b = op.raw, t._in0, t._in1
        check = op.check_shapes and rules.__class__ is not ShapedRules
        if b is None:  # one parent
            p = a
            if p.requires_grad:
                gp = rules[0](g, t, p)
                if check and gp.shape != p._data.shape:
                    _wrong_shape(op, 0, gp, p)
                prev = p._pending
                p._pending = gp if prev is WALKED else prev + gp
                if observer is not None:
                    observer("contribution", p, (t, _tensor(gp)))
        elif a is not None:  # two parents
            if a.requires_grad:
                gp = rules[0](g, t, a, b)
                if check and gp.shape != a._data.shape:
                    _wrong_shape(op, 0, gp, a)
                prev = a._pending
                a._pending = gp if prev is WALKED else prev + gp
                if observer is not None:
                    observer("contribution", a, (t, _tensor(gp)))
            if b.requires_grad:
                gp = rules[1](g, t, a, b)
                if check and gp.shape != b._data.shape:
                    _wrong_shape(op, 1, gp, b)
                prev = b._pending
                b._pending = gp if prev is WALKED else prev + gp
                if observer is not None:
                    observer("contribution", b, (t, _tensor(gp)))
        else:  # none, or three or more: the tuple of them
            for i, p in enumerate(b):
                if p.requires_grad:
                    gp = rules[i](g, t, *b)
                    if check and gp.shape != p._data.shape:
                        _wrong_shape(op, i, gp, p)
                    prev = p._pending
                    p._pending = gp if prev is WALKED else prev + gp
                    if observer is not None:
                        observer("contribution", p, (t, _tensor(gp)))
        if not retain_graph:
            t._saved = RELEASED


def _leaves_on_arrays(leaves: List[Tensor], observer: Optional[Observer], sink: Sink) -> None:
    """The first-order pass's end: each leaf's complete gradient to the sink."""
    for t in leaves:
        g = t._pending
        t._pending = None
        if g is WALKED:
            continue
        if observer is not None:
            observer("visit", t, _tensor(g))
        sink(t, g)


def _run_on_tensors(nodes: List[Tensor], create_graph: bool, retain_graph: bool, observer: Optional[Observer],
                    sink: Sink) -> None:
    """The pass with the Tensor rules (recorded when ``create_graph``; the sink gets arrays otherwise)."""
    for t in nodes:
        g = t._pending
        t._pending = None
        if g is WALKED:
            continue
        if observer is not None:
            observer("visit", t, g)
        sink(t, g if create_graph else g._data)
        op = t._op
        if op is None:
            continue
        parents, vjps, check = t.parents, op.vjps, op.check_shapes
        for i, p in enumerate(parents):
            if p.requires_grad:
                gp = vjps[i](g, t, *parents)
                if check and gp._data.shape != p._data.shape:
                    _wrong_shape(op, i, gp, p)
                prev = p._pending
                if prev is WALKED:
                    p._pending = gp
                else:  # a plain sum unless the sum itself must be recorded (create_graph)
                    p._pending = prev + gp if create_graph else _tensor(prev._data + gp._data)
                if observer is not None:
                    observer("contribution", p, (t, gp))
        if not retain_graph:
            t._saved = RELEASED


def _first_order(root: Tensor, seed: np.ndarray, retain_graph: Optional[bool], intermediate_grads: bool) -> None:
    """``backward()``'s usual pass: one root, no observer, no anomaly check, arrays (no ``create_graph``).

    What :func:`_propagate` with :func:`_storer`'s sink does for it, in fewer calls: the loop over the
    op nodes (:func:`_quiet_pass`) stores each intermediate's ``.grad`` itself, and the leaves' store
    (:func:`_store_leaves`) finds the arrays another tensor holds by their reference count, not by a
    set of the ids of every array stored (see :func:`_alone`). Same order, same sums, same errors."""
    gc_was_enabled = gc.isenabled()  # (_GCPaused and _GradMode, inline)
    grad_was_enabled = STATE.grad_enabled
    nodes: List[Tensor] = []
    leaves: List[Tensor] = []
    if _RUNNING[0]:
        _refuse_overlap((root,))
    _RUNNING[0] += 1
    try:
        gc.disable()
        _walk((root,), True, nodes, leaves)  # (_sort's walk; the except below clears its marks if it raises)
        STATE.grad_enabled = False
        prev = root._pending
        root._pending = seed if prev is WALKED else prev + seed
        if nodes:
            _quiet_pass(nodes, retain_graph, intermediate_grads)
        _store_leaves(leaves)
    except BaseException:
        _forget_pending(nodes, leaves)
        raise
    finally:
        _RUNNING[0] -= 1
        STATE.grad_enabled = grad_was_enabled
        if gc_was_enabled:
            gc.enable()


def _quiet_pass(nodes: List[Tensor], retain_graph: Optional[bool], intermediate_grads: bool) -> None:
    """:func:`_run_on_arrays` without an observer, for ``backward()``: each op node's gradient is
    stored as its ``.grad`` (when ``intermediate_grads``), then its raw rules run."""
    ndarray, shaped, walked = _ndarray, ShapedRules, WALKED  # (locals: cheaper than globals)
    released = None if retain_graph else RELEASED
    for t in reversed(nodes):
        g = t._pending
        t._pending = None
        if g is walked:  # does not lead to the root
            continue
        if intermediate_grads:  # the usual case inline (no earlier .grad, an ndarray; Tensor.grad casts it
            if t._grad is None and g.__class__ is ndarray:  # to the node's dtype when it is read, if need be)
                t._grad = g
            else:
                _store_intermediate(t, g)
        op = t._op
        rules, a, b = op.raw, t._in0, t._in1
        if b is None:  # one parent
            if a.requires_grad:
                gp = rules[0](g, t, a)
                if op.check_shapes and rules.__class__ is not shaped and gp.shape != a._data.shape:
                    _wrong_shape(op, 0, gp, a)
                prev = a._pending
                a._pending = gp if prev is walked else prev + gp
        elif a is not None:  # two parents
            if a.requires_grad:
                gp = rules[0](g, t, a, b)
                if rules.__class__ is not shaped and op.check_shapes and gp.shape != a._data.shape:
                    _wrong_shape(op, 0, gp, a)
                prev = a._pending
                a._pending = gp if prev is walked else prev + gp
            if b.requires_grad:
                gp = rules[1](g, t, a, b)
                if rules.__class__ is not shaped and op.check_shapes and gp.shape != b._data.shape:
                    _wrong_shape(op, 1, gp, b)
                prev = b._pending
                b._pending = gp if prev is walked else prev + gp
        else:  # none, or three or more: the tuple of them
            for i, p in enumerate(b):
                if p.requires_grad:
                    gp = rules[i](g, t, *b)
                    if rules.__class__ is not shaped and op.check_shapes and gp.shape != p._data.shape:
                        _wrong_shape(op, i, gp, p)
                    prev = p._pending
                    p._pending = gp if prev is walked else prev + gp
        if released is not None:
            t._saved = released


def _store_intermediate(t: Tensor, g: Any) -> None:
    """An op node's gradient added to its ``.grad``, in the node's dtype (the rare cases of :func:`_quiet_pass`)."""
    if g.__class__ is not _ndarray:  # 0-d results are NumPy scalars
        g = np.asarray(g)
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    prev = t._grad
    t._grad = g if prev is None else _added(t, prev, g)


def _added(t: Tensor, prev: Any, g: np.ndarray) -> Any:
    """``t``'s new ``.grad`` (for its slot) when ``g`` is added to its earlier one ``prev``. The sum has
    the node's dtype unless ``prev`` is a Tensor of another dtype the caller set: that sum is kept as
    a Tensor, so that ``Tensor.grad`` does not cast it as it casts backward()'s own bare arrays."""
    total = np.asarray(_held(t, prev) + g)
    return total if total.dtype == t._data.dtype else _wrap(total)


def _held(t: Tensor, prev: Any) -> np.ndarray:
    """The array of ``t``'s earlier ``.grad`` ``prev``, to add a new gradient to: a bare array backward()
    stored for an op node without casting it (:func:`_quiet_pass`) is cast to the node's dtype first,
    as ``Tensor.grad`` would; a Tensor's array as it is."""
    if prev.__class__ is not _ndarray:
        return prev._data
    dtype = t._data.dtype
    return prev if prev.dtype == dtype else prev.astype(dtype)


def _store_leaves(leaves: Dict[Tensor, None]) -> None:
    """Each leaf's complete gradient added to its ``.grad``: an array of its own, writable, of its dtype.

    Rules like add's hand one array to several tensors and reshape's hands out a view, so an array
    another tensor also holds (as ``.grad`` or a pending gradient: its reference count says so) or
    that is a view or read-only is copied, and an in-place edit (gradient clipping) stays local."""
    for t in leaves:
        g = t._pending
        t._pending = None
        if g is WALKED:
            continue
        if g.__class__ is not _ndarray:
            g = np.asarray(g)
        dtype, prev = t._data.dtype, t._grad
        if g.dtype != dtype:
            g = g.astype(dtype)  # a new array
        elif prev is None and (_refcount(g) > _ALONE or g.base is not None or not g.flags.writeable):
            g = np.array(g)
        # A second backward() adds, out of place on purpose: the earlier .grad Tensor may be held by the caller.
        t._grad = g if prev is None else _added(t, prev, g)


_refcount = sys.getrefcount


def _alone() -> int:
    """What ``sys.getrefcount`` says of an array only a local variable holds (2 on CPython 3.11: the
    variable and the call's argument), measured the way :func:`_store_leaves` asks."""
    g = np.empty(0)
    return _refcount(g)


_ALONE = _alone()


def _wrong_shape(op: Any, i: int, gp: Any, p: Tensor) -> None:
    raise RuntimeError(f"backward: the VJP of '{op.name}' returned a gradient of shape {np.shape(gp)} for its "
                       f"input {i} of shape {p.shape}")


def _own_array(g: Any, handed_out: set) -> np.ndarray:
    """``g`` as a writable array no other handed-out gradient shares (copied only when needed)."""
    if type(g) is not np.ndarray or id(g) in handed_out or g.base is not None or not g.flags.writeable:
        return np.array(g)
    return g


def _storer(create_graph: bool, intermediate_grads: bool) -> Tuple[Sink, Optional[set]]:
    """The sink of ``backward()``: add each gradient to ``.grad`` (of leaves only, unless
    ``intermediate_grads``); and, on arrays, the set of the ids of the arrays it stored.

    On arrays a ``.grad`` is stored bare (``Tensor.grad`` wraps it the first time it is read; most
    never are). The usual intermediate (no earlier ``.grad``, an ndarray of its dtype) is stored by
    the array loop itself (:func:`_run_on_arrays`), with its id added to the same set."""
    if create_graph:
        def store_recorded(t: Tensor, g: Tensor) -> None:
            if t._op is None or intermediate_grads:
                if g._data.dtype != t._data.dtype:
                    g = g.astype(t.dtype)
                t.grad = g if t.grad is None else t.grad + g  # recorded too: .grad stays differentiable

        return store_recorded, None
    handed_out = set()  # ids of the arrays already stored as some .grad during this call
    mark = handed_out.add

    def store(t: Tensor, g: np.ndarray) -> None:
        if g.__class__ is not _ndarray:  # 0-d results are NumPy scalars
            g = np.asarray(g)
        dtype, prev = t._data.dtype, t._grad
        if t._op is not None:
            if not intermediate_grads:
                return
            mark(id(g))
            if g.dtype != dtype:
                g = g.astype(dtype)
        elif g.dtype != dtype:
            g = g.astype(dtype)  # a new array
        elif prev is None and (g.base is not None or id(g) in handed_out or not g.flags.writeable):
            # A leaf's .grad gets an array of its own, writable: rules like add's pass the same
            # array to several tensors and reshape's is a view, so in-place edits (gradient
            # clipping) must not reach another tensor's gradient.
            g = np.array(g)
        else:
            mark(id(g))
        # A second backward() adds, out of place on purpose: ``g`` may be the very array handed to
        # another tensor, and the earlier .grad Tensor may be held by the caller.
        t._grad = g if prev is None else _added(t, prev, g)

    return store, handed_out


def backward(
    tensor: Tensor,
    gradient=None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    observer: Optional[Observer] = None,
    intermediate_grads: bool = True,
) -> None:
    """``tensor.backward(...)``: accumulate gradients into ``.grad`` of every tensor that needs one.

    ``gradient`` is the upstream gradient (required unless ``tensor`` is a scalar).
    ``retain_graph`` (default: ``create_graph``) keeps saved intermediates for another backward.
    ``create_graph=True`` records the backward pass itself, for higher-order derivatives.
    ``observer`` is told every step of the pass (see :data:`Observer`).
    ``intermediate_grads=False`` stores ``.grad`` on leaves only (parameters, inputs): less memory
    for big graphs; by default every intermediate keeps its gradient too, for pictures and teaching.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"backward: tensor must be a Tensor, got {V.show(tensor)}")
    if create_graph.__class__ is not bool or intermediate_grads.__class__ is not bool or not (
            retain_graph is None or retain_graph.__class__ is bool):  # (the checks, skipped for plain bools)
        _flags("backward", retain_graph, create_graph=create_graph, intermediate_grads=intermediate_grads)
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require a gradient (no input had requires_grad=True, "
            "or it was computed under no_grad())"
        )
    if create_graph is False and observer is None and STATE.anomaly is None:  # the usual pass (fit's, a loop's)
        data = tensor._data
        if gradient is None and not data.ndim:
            g = np.array(1, data.dtype)  # (_seed's default for a 0-d output, inline)
        else:
            g = _seed(tensor, gradient, own=True)
            if g.__class__ is not _ndarray:
                g = g._data
        _first_order(tensor, g, retain_graph, intermediate_grads)
        return
    g = _seed(tensor, gradient, own=not create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if observer is None:
        observer = STATE.anomaly  # detect_anomaly(): check every gradient contribution
    else:
        V.callable_or_none("backward", "observer", observer)
    sink, handed_out = _storer(create_graph, intermediate_grads)
    _propagate((tensor,), (g,), create_graph, retain_graph, observer, sink,
               handed_out if intermediate_grads else None, not intermediate_grads)


def trace_backward(outputs: Union[Tensor, Sequence[Tensor]], grad_outputs=None) -> List[Tuple[str, Tensor, Any]]:
    """Run the backward pass of ``outputs`` as ``backward()`` would, but store nothing and keep the
    graph, and return its events ``(event, tensor, payload)`` (see :data:`Observer`).

    The pictures of backprop step by step and the diagnostics are drawn from these events, so
    they show the engine's own order and numbers. ``grad_outputs``: one seed per output (None:
    ones for a scalar). Raises :class:`GraphReleasedError` when backward already released the graph.
    """
    outs = list(_roots(outputs, "trace_backward", "outputs"))
    gos = [None] * len(outs) if grad_outputs is None else ([grad_outputs] if isinstance(
        grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)) else list(grad_outputs))
    if len(gos) != len(outs):
        raise ValueError(f"trace_backward: got {len(outs)} outputs but {len(gos)} grad_outputs")
    seeds = [_seed(o, g, "trace_backward", "grad_outputs") for o, g in zip(outs, gos)]
    events: List[Tuple[str, Tensor, Any]] = []
    _propagate(outs, seeds, False, True, lambda *e: events.append(e), lambda t, g: None)
    return events


def _flags(who: str, retain_graph: Any, **flags: Any) -> None:
    """The engine's switches: ``retain_graph`` None or a bool, the others bools."""
    if retain_graph is not None:
        V.boolean(who, "retain_graph", retain_graph)
    for name, value in flags.items():
        V.boolean(who, name, value)


def _grad_args(outputs, inputs, grad_outputs, own: bool) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
    outs = list(_roots(outputs, "grad", "outputs"))
    ins = list(_roots(inputs, "grad", "inputs"))
    for t in ins:
        if not t.requires_grad:
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
    return outs, ins, [_seed(o, g, "grad", "grad_outputs", own) for o, g in zip(outs, gos)]


def grad(
    outputs: Union[Tensor, Sequence[Tensor]],
    inputs: Union[Tensor, Sequence[Tensor]],
    grad_outputs=None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    allow_unused: bool = False,
    observer: Optional[Observer] = None,
) -> Tuple[Tensor, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated into ``.grad``).

    ``grad(y, x)`` is ``dy/dx`` for a scalar ``y``; for non-scalar outputs pass ``grad_outputs``
    (the vector of the vector-Jacobian product). With ``create_graph=True`` the result is itself
    differentiable, e.g. for Hessian-vector products. ``observer``: as for :func:`backward`.
    """
    _flags("grad", retain_graph, create_graph=create_graph, allow_unused=allow_unused)
    V.callable_or_none("grad", "observer", observer)
    outs, ins, seeds = _grad_args(outputs, inputs, grad_outputs, not create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    wanted = {id(t) for t in ins}
    found: Dict[int, Tensor] = {}
    handed_out = set()  # ids of the arrays already returned: VJPs like add pass one array to both inputs

    def pick(t: Tensor, g: Any) -> None:  # g: a Tensor when create_graph, else an array
        if id(t) in wanted:
            if create_graph:
                found[id(t)] = g if g._data.dtype == t._data.dtype else g.astype(t.dtype)
                return
            if g.dtype != t._data.dtype:
                g = g.astype(t._data.dtype)
            g = _own_array(g, handed_out)  # as .grad: an in-place edit of one result stays local
            handed_out.add(id(g))
            found[id(t)] = _wrap(g)

    _propagate(outs, seeds, create_graph, retain_graph, observer or STATE.anomaly, pick)
    out = [found.get(id(t)) for t in ins]
    if not allow_unused and any(g is None for g in out):
        raise RuntimeError(
            "grad: one of the inputs was not used to compute the outputs; pass allow_unused=True to get None for it"
        )
    return tuple(out)
