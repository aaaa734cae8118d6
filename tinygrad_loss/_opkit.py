"""The kit ``ops.py`` builds its table with: the :class:`Op` record, the registry, node creation,
lifting of operands, NumPy broadcasting and axis checks, and the front-ends that turn a table
entry into a public function.

An entry of the table (``ops.defop(...)``) gives an op's name, its NumPy forward, its VJPs and
its front-end. From it this module derives everything else: the public function (named in its
errors), the Tensor method and operators, ``ops.__all__`` and the top-level re-export, and the
replay the diagnostics use (the forward run again with the values the node saved, by name).

A front-end is the argument handling of a family of ops: ``unary`` (lift, compute), ``binary``
(lift both, check broadcasting), ``reduction`` (``axis``/``keepdims``) and ``custom`` (a
``prepare`` function that validates the user's arguments and returns the parent tensors and
the values to save). Front-ends call the forward and :func:`make_node` directly: they are the
fast paths every op runs through, so they avoid any generic ``*args``/``**kwargs`` work.
"""
from __future__ import annotations

import builtins
import inspect
import math
import numbers
import sys
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate as V
from .autograd import STATE
from .tensor import RELEASED, GraphReleasedError, Tensor, _Tag, constant, get_default_dtype, split_parents

__all__ = ["Op", "TensorRulesOnArrays", "OPS", "PUBLIC", "register", "unregister", "public", "make_node", "lift", "pair",
           "broadcast_shape", "norm_axes", "one_axis", "check_not_empty", "unary", "binary", "reduction", "torch_names",
           "along_axis", "custom", "each_parent"]

_bmax = builtins.max
Axis = Union[None, int, Sequence[int]]
Saved = Optional[Dict[str, Any]]


class Op:
    """One primitive: ``forward(*arrays, **saved) -> array`` and, per parent, two rules for the same
    vector-Jacobian product: ``vjps[i](g, out, *parents)`` in Tensor ops (differentiable: used when the
    backward pass is recorded) and ``raw[i](g, out, *parents)`` on a NumPy array ``g``, returning an
    array (the first-order pass; ``out`` and ``parents`` are the nodes, their values in ``._data``).
    Without ``raw`` the Tensor rules stand in, run on a wrapped ``g`` (:class:`TensorRulesOnArrays`).
    ``out.saved[name]`` holds what the forward saved. ``function`` is the public function derived
    from the entry."""

    __slots__ = ("name", "forward", "vjps", "raw", "function", "method", "dunders", "replay_rule", "saves",
                 "check_shapes", "__weakref__")

    def __init__(self, name: str, forward: Callable, vjps: Sequence[Callable], method: bool = False,
                 dunders: Sequence[str] = (), replay: Optional[Callable] = None,
                 raw: Optional[Sequence[Callable]] = None):
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.raw = TensorRulesOnArrays(vjps) if raw is None else raw
        self.function: Optional[Callable] = None
        self.method = method
        self.dunders = tuple(dunders)
        self.replay_rule = replay
        self.saves = True  # whether the forward takes saved values (its front-end says; see below)
        # The engine checks each gradient's shape against its input's, except for ops whose output
        # has their input's shape (unary, along_axis): their VJPs return g's shape by construction.
        self.check_shapes = True

    def replay(self, node: Tensor, parents: Sequence[Tensor]) -> Tensor:
        """What this op computes from ``parents`` with the arguments the recorded ``node`` saved
        (the diagnostics re-run a recorded graph on float64 inputs with it)."""
        if self.replay_rule is not None:
            return self.replay_rule(node, parents)
        saved = node._saved
        if saved is RELEASED:
            if self.saves:
                node.saved  # noqa: B018 -- raises the GraphReleasedError that names the op
            saved = None
        out = self.forward(*[p._data for p in parents], **saved) if saved else self.forward(*[p._data for p in parents])
        return make_node(out, self, tuple(parents), saved)

    def __repr__(self) -> str:
        return f"Op({self.name})"


class TensorRulesOnArrays:
    """``raw`` of an op that has only Tensor rules: rule ``i`` wraps the array ``g``, runs ``vjps[i]``
    (the engine runs it under ``no_grad``, so nothing is recorded) and returns the result's array."""

    __slots__ = ("vjps",)

    def __init__(self, vjps: Sequence[Callable]):
        self.vjps = vjps

    def __getitem__(self, i: int) -> Callable:
        rule = self.vjps[i]
        return lambda g, out, *parents: rule(Tensor._wrap(np.asarray(g)), out, *parents)._data


OPS: Dict[str, Op] = {}
#: Every public function of ``ops``, primitives and composites alike: name -> (function, method, dunders).
PUBLIC: Dict[str, Tuple[Callable, bool, Tuple[str, ...]]] = {}


# --- wiring: one registration makes the function, the method, the operators and the exports ----

def _ops_module():
    return sys.modules[__package__ + ".ops"]


def _swap(fn: Callable) -> Callable:
    return lambda self, other: fn(other, self)


def _bind(name: str, fn: Callable, method: bool, dunders: Tuple[str, ...]) -> None:
    mod = _ops_module()
    setattr(mod, name, fn)
    names = mod.__dict__.setdefault("__all__", [])
    if name not in names:
        names.append(name)
    pkg = sys.modules.get(__package__)
    if pkg is not None and hasattr(pkg, "ops"):  # the package has finished importing: export it there too
        setattr(pkg, name, fn)
    if method:
        setattr(Tensor, name, fn)
    for d in dunders:  # reflected operators (__radd__...) call the function with the operands swapped
        setattr(Tensor, d, _swap(fn) if d.startswith("__r") and d != "__repr__" else fn)


def public(method: bool = False, dunders: Sequence[str] = (), name: Optional[str] = None) -> Callable:
    """Decorator: export a function of ``ops`` (``__all__``, top level) and bind it as a Tensor method."""
    def deco(fn: Callable) -> Callable:
        key = name or fn.__name__
        PUBLIC[key] = (fn, method, tuple(dunders))
        _bind(key, fn, method, tuple(dunders))
        return fn

    return deco


def register(op: Op, frontend: Callable[[Op], Callable], doc: Optional[str] = None) -> Callable:
    """Add ``op`` to the registry; its public function is ``frontend(op)``, exported and bound."""
    if op.name in OPS:
        raise RuntimeError(f"op {op.name!r} defined twice")
    fn = frontend(op)
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc or fn.__doc__
    fn.op = op
    op.function = fn
    OPS[op.name] = op
    return public(op.method, op.dunders, op.name)(fn)


def unregister(name: str) -> None:
    """Remove an op (or composite) added by :func:`register`/:func:`public` (for tests that add one)."""
    OPS.pop(name, None)
    fn, method, dunders = PUBLIC.pop(name)
    mod = _ops_module()
    mod.__dict__.pop(name, None)
    if name in mod.__all__:
        mod.__all__.remove(name)
    pkg = sys.modules.get(__package__)
    if pkg is not None and getattr(pkg, name, None) is fn:
        delattr(pkg, name)
    for attr in ((name,) if method else ()) + dunders:
        if attr in Tensor.__dict__:
            delattr(Tensor, attr)


# --- nodes and operands -----------------------------------------------------------------------

def make_node(data: Any, op: Op, parents: Tuple[Tensor, ...], saved: Saved = None) -> Tensor:
    """Wrap an op's result; record the graph edge when gradients are being recorded."""
    if data.__class__ is not _ndarray:  # a NumPy scalar: ufuncs and full reductions return one for 0-d results
        data = np.asarray(data)
    t = _new_tensor(Tensor)
    t._data = data
    t._grad = t._pending = None
    t._version = 0
    state = STATE
    if state.grad_enabled:
        t._op = op
        n = len(parents)
        if n == 2:
            t._in0, t._in1 = parents
        elif n == 1:
            t._in0 = parents[0]
            t._in1 = None
        else:
            t._in0, t._in1 = split_parents(parents)
        t._saved = saved
        for p in parents:
            if p.requires_grad:
                t.requires_grad = True
                for q in parents:
                    if q._version:  # an input changed in place earlier: remember the versions this op saw
                        t._tag = _Tag(None, state.scope, _versions_seen(parents, n))
                        break
                else:
                    t._tag = state.scope
                break
        else:
            t.requires_grad = False
            t._tag = state.scope
    else:
        t._op = t._saved = t._in0 = None
        t._in1 = ()
        t.requires_grad = False
        t._tag = state.scope
    if state.anomaly is not None:  # detect_anomaly() is on; when off this is the only cost
        state.anomaly.check_op(t, op, parents)
    return t


def _versions_seen(parents: Tuple[Tensor, ...], n: int) -> tuple:
    """``((parent, its version), ...)``: built directly for one or two parents (every layer's matmul and
    bias add after an optimizer step changed their parameters), without a list comprehension's call."""
    if n == 2:
        a, b = parents
        return ((a, a._version), (b, b._version))
    if n == 1:
        a = parents[0]
        return ((a, a._version),)
    return tuple([(r, r._version) for r in parents])


_new_tensor = Tensor.__new__
_ndarray = np.ndarray
_asarray = np.asarray

#: The constants :func:`lift` made from Python numbers: by dtype, then by number (a nonzero float:
#: the float itself, so that ``y * 0.5`` finds its constant with one look-up) or by (number, type)
#: (``True``, ``1`` and ``1.0`` are equal keys; zeros by their text, because ``0.0 == -0.0`` but
#: ``1 / -0.0`` is ``-inf``). A dtype's table is cleared when it holds LIFTED_CACHE_SIZE of them (a
#: loop over many distinct numbers must not grow it forever).
_LIFTED: Dict[np.dtype, Dict[Any, Tensor]] = {}
_NONE: Dict[Any, Tensor] = {}
LIFTED_CACHE_SIZE = 1024


def _lift_number(x: Any, tx: type, dt: np.dtype) -> Tensor:
    """The read-only constant for the Python float/int/bool ``x`` in dtype ``dt``, shared by every use.
    A NaN is never equal to itself, so it is not kept."""
    if tx is float:
        key = x if x else (repr(x), tx)
    else:
        key = (x, tx)
    table = _LIFTED.get(dt)
    t = None if table is None else table.get(key)
    if t is not None and t._data.dtype is dt:
        return t
    arr = np.asarray(x, dtype=dt)
    t = constant(arr)
    # Not kept: a non-native byte order (a new dtype object each time); a number that overflows the
    # dtype (NumPy warns at each conversion, and keeps doing so).
    if x == x and arr.dtype is dt and math.isfinite(arr.item()) == math.isfinite(x):
        if table is None:
            table = _LIFTED[dt] = {}
        elif len(table) >= LIFTED_CACHE_SIZE:
            table.clear()
        table[key] = t
    return t


def lift(x: Any, like: Optional[Tensor] = None, op: str = "") -> Tensor:
    """Make ``x`` a Tensor. Python numbers and integer arrays take the float dtype of ``like``; a Python
    number becomes a shared read-only constant (:func:`_lift_number`)."""
    if isinstance(x, Tensor):
        return x
    dt = like._data.dtype if like is not None and like._data.dtype.kind == "f" else get_default_dtype()
    tx = type(x)  # float/int first: the abstract numbers.Number check costs more than the conversion
    if tx is float or tx is int or tx is bool:
        return _lift_number(x, tx, dt)
    if isinstance(x, numbers.Number) and not isinstance(x, complex):
        return Tensor._wrap(np.asarray(x, dtype=dt))
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            return Tensor._wrap(x)
        if x.dtype.kind in "iub":
            return Tensor._wrap(x.astype(dt))
    try:
        return Tensor(x)
    except TypeError:
        shown = repr(x) if len(repr(x)) <= 40 else repr(x)[:37] + "..."
        raise TypeError(f"{op or 'tensor op'}: operand {shown} of type {type(x).__name__} is not numeric") from None


def pair(a: Any, b: Any, op: str = "") -> Tuple[Tensor, Tensor]:
    """Both operands as Tensors; a Python number takes the dtype of the other operand."""
    if isinstance(a, Tensor):
        return a, lift(b, a, op)
    b = lift(b, None, op)
    return lift(a, b, op), b


def broadcast_shape(op: str, *shapes: Tuple[int, ...]) -> Tuple[int, ...]:
    """NumPy's broadcasting rule in plain Python (``np.broadcast_shapes`` costs ~3 us a call, this ~0.5 us)."""
    nd = _bmax(len(s) for s in shapes)
    out = [1] * nd
    for s in shapes:
        off = nd - len(s)
        for i, n in enumerate(s):
            m = out[off + i]
            if n != m or n < 0:
                if m == 1 and n >= 0:
                    out[off + i] = n
                elif n != 1:
                    shown = " and ".join(str(tuple(s)) for s in shapes)
                    raise ValueError(f"{op}: shapes {shown} cannot be broadcast together") from None
    return tuple(out)


_ALL_AXES = tuple([tuple(range(n)) for n in range(65)])  # axis=None by ndim (NumPy allows at most 64)


def norm_axes(op: str, axis: Axis, ndim: int) -> Tuple[int, ...]:
    """Axis argument -> sorted tuple of non-negative axes (all axes for None)."""
    if axis is None:
        return _ALL_AXES[ndim]
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, already valid (implies ndim > 0)
        return (axis % ndim,)
    return V.axes(op, axis, ndim)


def one_axis(op: str, axis: Any, ndim: int) -> Tuple[int, ...]:
    """A single axis argument (softmax, argmax...) -> ``(axis,)`` normalised, or the op's error."""
    ax = V.axis(op, axis, ndim)
    return (ax,) if ndim else ()  # a 0-d tensor accepts axis 0 and -1 and has no axis to act on


def check_not_empty(op: str, shape: Tuple[int, ...], axes: Tuple[int, ...]) -> None:
    """max/min/mean/logsumexp/softmax have no value over zero elements (sum does: 0)."""
    if any(shape[ax] == 0 for ax in axes):
        raise ValueError(f"{op}: cannot reduce over an empty axis (tensor of shape {shape}, axes {axes})")


# --- front-ends: the public function of an entry ---------------------------------------------

def unary(op: Op) -> Callable:
    """``f(a)``: elementwise, nothing saved."""
    fwd, name = op.forward, op.name
    op.saves = op.check_shapes = False

    def fn(a: Any) -> Tensor:
        if a.__class__ is not Tensor:
            a = lift(a, None, name)
        data = fwd(a._data)
        state = STATE
        if state.grad_enabled and a.requires_grad and not a._version and state.anomaly is None \
                and data.__class__ is _ndarray:
            # make_node's result in the usual case, without its call, loops and tests (the hot path)
            t = _new_tensor(Tensor)
            t._data = data
            t._grad = t._pending = t._saved = None
            t._version = 0
            t._op = op
            t._in0 = a
            t._in1 = None
            t.requires_grad = True
            t._tag = state.scope
            return t
        return make_node(data, op, (a,))

    return fn


def binary(op: Op) -> Callable:
    """``f(a, b)``: elementwise with NumPy broadcasting, nothing saved."""
    fwd, name = op.forward, op.name
    op.saves = False

    def fn(a: Any, b: Any) -> Tensor:
        if b.__class__ is not Tensor or a.__class__ is not Tensor:
            # ``y * 0.5``: the number's constant, when already lifted, in one look-up, without a call
            c = _LIFTED.get(a._data.dtype, _NONE).get(b) if b.__class__ is float and a.__class__ is Tensor else None
            if c is None:
                a, b = _operands(a, b, name)
            else:
                b = c
        try:
            data = fwd(a._data, b._data)
        except ValueError:  # NumPy's broadcasting error: raise ours, which names the op
            broadcast_shape(name, a._data.shape, b._data.shape)
            raise
        state = STATE
        if state.grad_enabled and not (a._version or b._version) and state.anomaly is None \
                and data.__class__ is _ndarray:
            # make_node's result in the usual case, without its call, loops and tests (the hot path)
            t = _new_tensor(Tensor)
            t._data = data
            t._grad = t._pending = t._saved = None
            t._version = 0
            t._op = op
            t._in0 = a
            t._in1 = b
            t.requires_grad = True if a.requires_grad or b.requires_grad else False
            t._tag = state.scope
            return t
        return make_node(data, op, (a, b))

    return fn


def _operands(a: Any, b: Any, name: str) -> Tuple[Tensor, Tensor]:
    """A binary op's operands as Tensors (:func:`pair`); a float beside a Tensor (``y * 0.5``, ``1.0 - y``)
    finds its constant, when already lifted, with one look-up (see :func:`_lift_number`)."""
    if b.__class__ is float and a.__class__ is Tensor:
        c = _LIFTED.get(a._data.dtype, _NONE).get(b)
        if c is not None:
            return a, c
    elif a.__class__ is float and b.__class__ is Tensor:
        c = _LIFTED.get(b._data.dtype, _NONE).get(a)
        if c is not None:
            return c, b
    return pair(a, b, name)


def torch_names(name: str, axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> Tuple[Any, Any]:
    """PyTorch's ``dim=``/``keepdim=`` as ``axis=``/``keepdims=``; a TypeError when both spellings are given."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r} (dim is PyTorch's name for axis); "
                            "pass one of them")
        axis = dim
    if keepdim is not None:
        if keepdims is not None:
            raise TypeError(f"{name}: got both keepdims={keepdims!r} and keepdim={keepdim!r} (keepdim is PyTorch's "
                            "name for keepdims); pass one of them")
        keepdims = keepdim
    return axis, keepdims


def _recorded(data: np.ndarray, op: Op, a: Tensor, saved: Saved, scope: str) -> Tensor:
    """make_node's result for a one-parent op in the usual case (recording, ``a`` needs a gradient and is
    unchanged, no anomaly check), without its loops and tests. (unary and binary build theirs inline:
    they run once per elementwise op, where the call itself is a measurable share.)"""
    t = _new_tensor(Tensor)
    t._data = data
    t._grad = t._pending = None
    t._saved = saved
    t._version = 0
    t._op = op
    t._in0 = a
    t._in1 = None
    t.requires_grad = True
    t._tag = scope
    return t


def record_node(data: np.ndarray, op: Any, a: Tensor, b: Optional[Tensor], scope: str) -> Tensor:
    """``make_node(data, op, (a, b))`` (``(a,)`` when ``b`` is None) while recording, without an anomaly
    check, for an array ``data``: the same node (the versions its parents had, when one changed in place
    before, as make_node keeps them), without its call, loops and list. Dense makes its nodes with it."""
    t = _new_tensor(Tensor)
    t._data = data
    t._grad = t._pending = t._saved = None
    t._version = 0
    t._op = op
    t._in0, t._in1 = a, b
    if a.requires_grad or (b is not None and b.requires_grad):
        t.requires_grad = True
        va = a._version
        if b is None:
            t._tag = _Tag(None, scope, ((a, va),)) if va else scope
        else:
            vb = b._version
            t._tag = _Tag(None, scope, ((a, va), (b, vb))) if va or vb else scope
    else:
        t.requires_grad = False
        t._tag = scope
    return t


def reduction(empty_ok: bool) -> Callable[[Op], Callable]:
    """``f(a, axis=None, keepdims=False)`` (or PyTorch's ``dim=``, ``keepdim=``); saves ``axes`` (sorted,
    non-negative) and ``keepdims``."""
    def frontend(op: Op) -> Callable:
        fwd, name = op.forward, op.name

        def fn(a: Any, axis: Axis = None, keepdims: Optional[bool] = None, *, dim: Axis = None,
               keepdim: Optional[bool] = None) -> Tensor:
            if dim is not None or keepdim is not None:
                axis, keepdims = torch_names(name, axis, keepdims, dim, keepdim)
            if a.__class__ is not Tensor:
                a = lift(a, None, name)
            arr = a._data
            axes = _ALL_AXES[arr.ndim] if axis is None else norm_axes(name, axis, arr.ndim)
            if not empty_ok and arr.size == 0:
                check_not_empty(name, a.shape, axes)
            if keepdims is not False and keepdims is not True:
                keepdims = False if keepdims is None else V.boolean(name, "keepdims", keepdims)
            data = fwd(arr, axes, keepdims)
            state = STATE
            if state.grad_enabled and a.requires_grad and not a._version and state.anomaly is None:
                # a full reduction returns a NumPy scalar
                return _recorded(data if data.__class__ is _ndarray else _asarray(data), op, a,
                                 {"axes": axes, "keepdims": keepdims}, state.scope)
            return make_node(data, op, (a,), {"axes": axes, "keepdims": keepdims})

        return fn

    return frontend


def along_axis(op: Op) -> Callable:
    """``f(a, axis=-1)`` along one axis (softmax, log_softmax; PyTorch's ``dim=`` too); saves ``axes``
    (that axis, as a tuple)."""
    fwd, name = op.forward, op.name
    op.check_shapes = False

    def fn(a: Any, axis: Optional[int] = None, *, dim: Optional[int] = None) -> Tensor:
        if dim is not None:
            axis = torch_names(name, axis, None, dim, None)[0]
        if a.__class__ is not Tensor:
            a = lift(a, None, name)
        arr = a._data
        axes = one_axis(name, -1 if axis is None else axis, arr.ndim)
        if arr.size == 0:
            check_not_empty(name, a.shape, axes)
        data = fwd(arr, axes)
        state = STATE
        if state.grad_enabled and a.requires_grad and not a._version and state.anomaly is None \
                and data.__class__ is _ndarray:
            return _recorded(data, op, a, {"axes": axes}, state.scope)
        return make_node(data, op, (a,), {"axes": axes})

    return fn


class each_parent:
    """``vjps`` of a variadic op (concatenate, stack): one rule ``rule(i, g, out, *parents)`` for every parent."""

    __slots__ = ("rule",)

    def __init__(self, rule: Callable):
        self.rule = rule

    def __getitem__(self, i: int) -> Callable:
        rule = self.rule
        return lambda g, out, *parents: rule(i, g, out, *parents)


def custom(prepare: Callable, saves: bool = True) -> Callable[[Op], Callable]:
    """The public function takes ``prepare``'s arguments; ``prepare`` validates them and returns
    ``(parents, saved)`` (the forward gets ``*parent arrays, **saved``), or a Tensor to return as is
    (e.g. a reshape to the same shape). ``saves=False``: the op never saves anything."""
    def frontend(op: Op) -> Callable:
        fwd = op.forward
        op.saves = saves

        def fn(*args: Any, **kwargs: Any) -> Tensor:
            r = prepare(*args, **kwargs)
            if r.__class__ is Tensor:
                return r
            parents, saved = r
            n = len(parents)  # (one or two parents: no list comprehension, which is a call of its own)
            arrays = (parents[0]._data,) if n == 1 else (parents[0]._data, parents[1]._data) if n == 2 \
                else [p._data for p in parents]
            if saved:
                return make_node(fwd(*arrays, **saved), op, parents, saved)
            return make_node(fwd(*arrays), op, parents)

        fn.__signature__ = inspect.signature(prepare)
        fn.__doc__ = prepare.__doc__
        return fn

    return frontend
