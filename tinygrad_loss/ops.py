"""Every primitive op: its forward in NumPy and, right beside it, its VJP in Tensor ops.

An op ``y = f(a, b)`` hands each parent the vector-Jacobian product ``g · ∂y/∂parent``
where ``g = ∂L/∂y`` is the upstream gradient. Each ``defop`` line below is that table:
one VJP per parent, ``vjp(g, out, *parents) -> gradient for that parent``. The engine only
calls the VJPs of parents that require a gradient.

Because every VJP is written with Tensor ops (not raw NumPy), running the backward pass
with recording on (``create_graph=True``) builds a differentiable graph of the gradient:
second derivatives come for free.

Binary ops broadcast like NumPy; the gradient of a broadcast input is summed back to
its shape by the one shared helper :func:`unbroadcast`.
"""
from __future__ import annotations

import builtins
import math
import numbers
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .autograd import STATE
from .tensor import Tensor, get_default_dtype

# This module defines ops named sum/max/min/abs/pow; the builtins stay reachable as _bmax.
_bmax = builtins.max

Axis = Union[None, int, Sequence[int]]

__all__ = [
    "OPS", "Op", "unbroadcast",
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "abs", "tanh", "sigmoid",
    "relu", "erf", "maximum", "minimum", "clip", "where", "sum", "mean", "max", "min", "matmul",
    "reshape", "transpose", "permute", "expand", "broadcast_to", "getitem", "scatter_add", "concatenate",
    "stack", "logsumexp", "log_softmax", "softmax", "astype",
    "lt", "le", "gt", "ge", "eq", "ne", "argmax", "argmin", "square", "squeeze", "unsqueeze", "flatten", "swapaxes",
]


class Op:
    """A primitive: its name and one VJP per parent (``vjps[i](g, out, *parents)``)."""

    __slots__ = ("name", "vjps")

    def __init__(self, name: str, vjps: Sequence[Callable]):
        self.name = name
        self.vjps = vjps

    def __repr__(self) -> str:
        return f"Op({self.name})"


OPS: Dict[str, Op] = {}


def defop(name: str, *vjps: Callable) -> Op:
    if name in OPS:
        raise RuntimeError(f"op {name!r} defined twice")
    op = OPS[name] = Op(name, vjps)
    return op


class _SameForEach:
    """``vjps`` of a variadic op (concatenate, stack): one rule taking the parent's index."""

    __slots__ = ("rule",)

    def __init__(self, rule: Callable):
        self.rule = rule

    def __getitem__(self, i: int) -> Callable:
        rule = self.rule
        return lambda g, out, *parents: rule(i, g, out, *parents)


def defop_variadic(name: str, rule: Callable) -> Op:
    op = OPS[name] = Op(name, _SameForEach(rule))
    return op


# --- plumbing shared by every op ---------------------------------------------------------

def _node(data: Any, op: Op, parents: Tuple[Tensor, ...], saved: Any = None) -> Tensor:
    """Wrap an op's result; record the graph edge when gradients are being recorded."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    t = Tensor.__new__(Tensor)
    t.data = data
    t.grad = None
    t.name = None
    t._scope = STATE.scope
    if STATE.grad_enabled:
        t._op = op
        t._parents = parents
        t._saved = saved
        rg = False
        for p in parents:
            if p.requires_grad:
                rg = True
                break
        t.requires_grad = rg
    else:
        t._op = None
        t._parents = ()
        t._saved = None
        t.requires_grad = False
    if STATE.anomaly is not None:  # detect_anomaly() is on; when off this is the only cost
        STATE.anomaly.check_op(t, op, parents)
    return t


def _lift(x: Any, like: Optional[Tensor] = None, op: str = "") -> Tensor:
    """Make ``x`` a Tensor. Python numbers and integer arrays take the float dtype of ``like``."""
    if isinstance(x, Tensor):
        return x
    dt = like.data.dtype if like is not None and like.data.dtype.kind == "f" else get_default_dtype()
    tx = type(x)  # float/int first: the abstract numbers.Number check costs more than the conversion
    if tx is float or tx is int or (isinstance(x, numbers.Number) and not isinstance(x, complex)):
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


def _pair(a: Any, b: Any, op: str = "") -> Tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, _lift(b, a, op)
    b = _lift(b, None, op)
    return _lift(a, b, op), b


def _const(arr: np.ndarray) -> Tensor:
    return Tensor._wrap(arr)


def _broadcast_shape(op: str, *shapes: Tuple[int, ...]) -> Tuple[int, ...]:
    # NumPy's broadcasting rule in plain Python: np.broadcast_shapes costs ~3 us a call, this ~0.5 us.
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
                    raise ValueError(f"{op}: shapes {shown} cannot be broadcast together")
    return tuple(out)


def _norm_axes(op: str, axis: Axis, ndim: int) -> Tuple[int, ...]:
    """Axis argument -> sorted tuple of non-negative axes (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, already valid (implies ndim > 0)
        return (axis % ndim,)
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
    out = []
    for ax in axes:
        if not isinstance(ax, (int, np.integer)) or isinstance(ax, bool):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -_bmax(ndim, 1) <= ax < _bmax(ndim, 1):  # a 0-d tensor accepts axis 0 and -1 (as PyTorch)
            raise ValueError(f"{op}: axis {ax} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(ax) % _bmax(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def _keepdims_shape(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple([1 if i in axes else n for i, n in enumerate(shape)])


def unbroadcast(g: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """Sum ``g`` down to ``shape``: the gradient of NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along its size-1 axes, so the
    gradient of each copy must be added back: sum over those axes.
    """
    if type(shape) is not tuple:
        shape = tuple(shape)
    gs = g.data.shape
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gs[i + lead] != 1)
    out = _sum_over(g, axes, True) if axes else g
    return _reshape_to(out, shape)


def _expand_back(g: Tensor, shape: Tuple[int, ...], axes: Tuple[int, ...], keepdims: bool) -> Tensor:
    """Undo a reduction over ``axes``: reshape to keepdims form, then broadcast to ``shape``."""
    if not keepdims:
        g = _reshape_to(g, _keepdims_shape(shape, axes))
    return _expand_to(g, shape)


# The three helpers below build exactly the node that sum/reshape/expand would, for arguments the
# caller already knows are valid (VJPs run them on every backward pass, so they skip the
# argument normalisation and checks of the public functions).

def _sum_over(t: Tensor, axes: Tuple[int, ...], keepdims: bool) -> Tensor:
    """``sum(t, axis=axes, keepdims=keepdims)`` for sorted, non-negative, distinct ``axes``."""
    return _node(np.add.reduce(t.data, axis=axes, keepdims=keepdims), SUM, (t,), (axes, bool(keepdims)))


def _reshape_to(t: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """``reshape(t, shape)`` for a tuple of ints ``shape`` with as many elements as ``t``."""
    if t.data.shape == shape:
        return t
    try:
        out = t.data.reshape(shape)
    except ValueError:  # not expected from the VJPs; the public function explains the mismatch
        return reshape(t, shape)
    return _node(out, RESHAPE, (t,))


def _expand_to(t: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """``expand(t, shape)`` for a tuple of ints ``shape`` that ``t`` broadcasts to."""
    if t.data.shape == shape:
        return t
    try:
        out = np.broadcast_to(t.data, shape)
    except ValueError:  # not expected from the VJPs; the public function explains the mismatch
        return expand(t, shape)
    return _node(out, EXPAND, (t,))


# --- elementwise binary ops ----------------------------------------------------------------

def _binary(name: str, fn: Callable, op_ref: str) -> Callable:
    def op_fn(a: Any, b: Any) -> Tensor:
        if type(a) is not Tensor or type(b) is not Tensor:
            a, b = _pair(a, b, name)
        sa, sb = a.data.shape, b.data.shape
        # Check only what could fail: a 0-d operand, or one whose shape is the other's tail
        # (a bias (n,) against a batch (b, n)), always broadcasts.
        if sa != sb and sa and sb and sa[-len(sb):] != sb and sb[-len(sa):] != sa:
            _broadcast_shape(name, sa, sb)
        return _node(fn(a.data, b.data), OPS[op_ref], (a, b))

    op_fn.__name__ = name
    return op_fn


# d(a+b) = da + db
ADD = defop("add", lambda g, o, a, b: unbroadcast(g, a.shape), lambda g, o, a, b: unbroadcast(g, b.shape))
# d(a-b) = da - db
SUB = defop("sub", lambda g, o, a, b: unbroadcast(g, a.shape), lambda g, o, a, b: unbroadcast(neg(g), b.shape))
# d(ab) = b da + a db
MUL = defop("mul", lambda g, o, a, b: unbroadcast(mul(g, b), a.shape),
            lambda g, o, a, b: unbroadcast(mul(g, a), b.shape))
# d(a/b) = da/b - (a/b²) db = da/b - (o/b) db
DIV = defop("div", lambda g, o, a, b: unbroadcast(div(g, b), a.shape),
            lambda g, o, a, b: unbroadcast(neg(div(mul(g, o), b)), b.shape))


def _log_base(a: Tensor) -> Tensor:
    # d(a^b)/db = a^b log a; at a == 0 the limit (b > 0) is 0, so use log(1) there.
    safe = where(eq(a, 0.0), 1.0, a) if np.any(a.data == 0) else a
    return log(safe)


def _pow_base_vjp(g: Tensor, o: Tensor, a: Tensor, b: Tensor) -> Tensor:
    e = sub(b, 1.0)
    if (b.data == 0).any():  # the method skips np.any's Python wrapper (this runs on every square's VJP)
        # a^0 is the constant 1, derivative 0, also at a == 0 where b a^(b-1) would be 0 * inf:
        # any finite exponent there gives b a^e = 0 without the nan.
        e = where(eq(b, 0.0), 1.0, e)
    return unbroadcast(mul(g, mul(b, pow(a, e))), a.shape)


# d(a^b) = b a^(b-1) da + a^b log(a) db
POW = defop("pow", _pow_base_vjp, lambda g, o, a, b: unbroadcast(mul(g, mul(o, _log_base(a))), b.shape))


def _mask(cond: np.ndarray, dtype) -> Tensor:
    return _const(cond.astype(dtype))


def _max_mask(a: Tensor, b: Tensor, o: Tensor, first: bool) -> Tensor:
    # 1 where this input won, 1/2 on ties (the subgradient PyTorch uses), in the output's shape.
    mine, other = (a.data, b.data) if first else (b.data, a.data)
    m = (mine == o.data).astype(o.dtype)
    m = m - o.dtype.type(0.5) * (mine == other)
    return _const(np.broadcast_to(m, o.shape))


MAXIMUM = defop("maximum", lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, True)), a.shape),
                lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, False)), b.shape))
MINIMUM = defop("minimum", lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, True)), a.shape),
                lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, False)), b.shape))

add = _binary("add", np.add, "add")
sub = _binary("sub", np.subtract, "sub")
mul = _binary("mul", np.multiply, "mul")
div = _binary("div", np.true_divide, "div")
maximum = _binary("maximum", np.maximum, "maximum")
minimum = _binary("minimum", np.minimum, "minimum")


def pow(a: Any, b: Any) -> Tensor:
    """``a ** b`` elementwise; the exponent may be a number or a Tensor."""
    a, b = _pair(a, b, "pow")
    sa, sb = a.data.shape, b.data.shape
    if sa != sb and sa and sb:  # a 0-d operand broadcasts against anything
        _broadcast_shape("pow", sa, sb)
    return _node(np.power(a.data, b.data), POW, (a, b))


def square(a: Any) -> Tensor:
    """``a ** 2`` (the ``pow`` primitive with exponent 2)."""
    return pow(a, 2.0)


# --- elementwise unary ops -----------------------------------------------------------------

NEG = defop("neg", lambda g, o, a: neg(g))                                    # d(-a) = -da
EXP = defop("exp", lambda g, o, a: mul(g, o))                                 # d e^a = e^a da
LOG = defop("log", lambda g, o, a: div(g, a))                                 # d log a = da / a
LOG1P = defop("log1p", lambda g, o, a: div(g, add(a, 1.0)))                   # d log(1+a) = da / (1+a)
SQRT = defop("sqrt", lambda g, o, a: div(g, mul(o, 2.0)))                     # d √a = da / (2√a)
ABS = defop("abs", lambda g, o, a: mul(g, _const(np.sign(a.data))))           # d|a| = sign(a) da
TANH = defop("tanh", lambda g, o, a: mul(g, sub(1.0, mul(o, o))))             # d tanh = (1 - tanh²) da
SIGMOID = defop("sigmoid", lambda g, o, a: mul(g, mul(o, sub(1.0, o))))       # dσ = σ(1-σ) da
RELU = defop("relu", lambda g, o, a: mul(g, _mask(a.data > 0, g.dtype)))      # d relu = [a > 0] da
ERF = defop("erf", lambda g, o, a: mul(g, mul(exp(neg(mul(a, a))), 2.0 / math.sqrt(math.pi))))  # 2/√π e^(-a²)
# d clip(a, lo, hi) = [lo <= a <= hi] da
CLIP = defop("clip", lambda g, o, a: mul(g, _mask(_inside(a.data, *o._saved), g.dtype)))
ASTYPE = defop("astype", lambda g, o, a: astype(g, a.dtype))


def _inside(x: np.ndarray, lo, hi) -> np.ndarray:
    m = np.ones(x.shape, dtype=bool)
    if lo is not None:
        m &= x >= lo
    if hi is not None:
        m &= x <= hi
    return m


def neg(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.negative(a.data), NEG, (a,))


def exp(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.exp(a.data), EXP, (a,))


def log(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.log(a.data), LOG, (a,))


def log1p(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.log1p(a.data), LOG1P, (a,))


def sqrt(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.sqrt(a.data), SQRT, (a,))


def abs(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.abs(a.data), ABS, (a,))


def tanh(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.tanh(a.data), TANH, (a,))


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only: never overflows, for any magnitude of x.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def sigmoid(a: Any) -> Tensor:
    """σ(a) = 1 / (1 + e^(-a)), computed without overflow for large |a|."""
    a = _lift(a)
    return _node(_sigmoid_np(a.data), SIGMOID, (a,))


def relu(a: Any) -> Tensor:
    a = _lift(a)
    return _node(np.maximum(a.data, 0), RELU, (a,))


_erf_np = np.vectorize(math.erf, otypes=[np.float64])


def erf(a: Any) -> Tensor:
    """The error function (exact, via ``math.erf``; used by the exact GELU)."""
    a = _lift(a)
    return _node(_erf_np(a.data).astype(a.dtype, copy=False), ERF, (a,))


def clip(a: Any, lo: Optional[float] = None, hi: Optional[float] = None) -> Tensor:
    """Clamp to ``[lo, hi]``; the gradient passes where ``lo <= a <= hi``."""
    a = _lift(a)
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi")
    for bname, b in (("lo", lo), ("hi", hi)):
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float, np.integer, np.floating))):
            raise TypeError(f"clip: {bname} must be a number or None, got {type(b).__name__}")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
    return _node(np.clip(a.data, lo, hi), CLIP, (a,), (lo, hi))


def astype(a: Any, dtype: Any) -> Tensor:
    """Cast to another float dtype (differentiable: the gradient is cast back)."""
    a = _lift(a)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"astype: {dtype!r} is not a dtype") from None
    if dt.kind != "f":
        raise TypeError(f"astype: only float dtypes are supported, got {dt}")
    if dt == a.dtype:
        return a
    return _node(a.data.astype(dt), ASTYPE, (a,))


# where(c, a, b): the gradient goes to a where c holds and to b elsewhere.
WHERE = defop("where", lambda g, o, a, b: unbroadcast(where(o._saved, g, 0.0), a.shape),
              lambda g, o, a, b: unbroadcast(where(o._saved, 0.0, g), b.shape))


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (all three broadcast together)."""
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype != bool:
        c = c != 0
    a, b = _pair(a, b, "where")
    shape = _broadcast_shape("where", c.shape, a.data.shape, b.data.shape)
    if c.shape != shape:
        c = np.broadcast_to(c, shape)
    return _node(np.where(c, a.data, b.data), WHERE, (a, b), c)


# --- comparisons: constant (boolean) results, no gradient ----------------------------------

def _compare(name: str, fn: Callable) -> Callable:
    def cmp(a: Any, b: Any) -> Tensor:
        a, b = _pair(a, b, name)
        if a.data.shape != b.data.shape:
            _broadcast_shape(name, a.data.shape, b.data.shape)
        return Tensor._wrap(np.asarray(fn(a.data, b.data)))

    cmp.__name__ = name
    return cmp


lt, le, gt, ge = _compare("lt", np.less), _compare("le", np.less_equal), _compare("gt", np.greater), \
    _compare("ge", np.greater_equal)
eq, ne = _compare("eq", np.equal), _compare("ne", np.not_equal)


def _arg_extreme(name: str, fn: Callable) -> Callable:
    def arg(a: Any, axis: Optional[int] = None, keepdims: bool = False) -> Tensor:
        a = _lift(a)
        ax = None
        if axis is not None:
            axes = _one_axis(name, axis, a.ndim)
            ax = axes[0] if axes else None
        if a.size == 0 and (ax is None or a.shape[ax] == 0):
            raise ValueError(f"{name}: a tensor of shape {a.shape} has no elements along axis {axis}")
        return Tensor._wrap(np.asarray(fn(a.data, axis=ax, keepdims=keepdims)))

    arg.__name__ = name
    arg.__doc__ = (f"Index of the {'largest' if name == 'argmax' else 'smallest'} element along ``axis`` (of the "
                   "flattened tensor for None), as an integer tensor without gradient (like comparisons).")
    return arg


argmax, argmin = _arg_extreme("argmax", np.argmax), _arg_extreme("argmin", np.argmin)


# --- reductions ----------------------------------------------------------------------------

# d sum(a) = broadcast(g); d mean(a) = broadcast(g) / n
SUM = defop("sum", lambda g, o, a: _expand_back(g, a.shape, *o._saved))
MEAN = defop("mean", lambda g, o, a: div(_expand_back(g, a.shape, *o._saved), _count(a.shape, o._saved[0])))
# d max(a): the gradient goes to the maximal element(s), split evenly between ties.
MAX = defop("max", lambda g, o, a: _extreme_vjp(g, o, a))
MIN = defop("min", lambda g, o, a: _extreme_vjp(g, o, a))


def _count(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> float:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return float(n)


def _extreme_vjp(g: Tensor, o: Tensor, a: Tensor) -> Tensor:
    axes, keepdims = o._saved
    o_kd = o.data if keepdims else o.data.reshape(_keepdims_shape(a.shape, axes))
    hit = a.data == o_kd
    share = hit / hit.sum(axis=axes, keepdims=True)
    return mul(_expand_back(g, a.shape, axes, keepdims), _const(share.astype(g.dtype)))


def _check_not_empty(op: str, shape: Tuple[int, ...], axes: Tuple[int, ...]) -> None:
    """max/min/mean/logsumexp/softmax have no value over zero elements (sum does: 0)."""
    if any(shape[ax] == 0 for ax in axes):
        raise ValueError(f"{op}: cannot reduce over an empty axis (tensor of shape {shape}, axes {axes})")


def _reduction(name: str, fn: Callable, op: Op, empty_ok: bool) -> Callable:
    def reduce(a: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
        a = _lift(a)
        axes = _norm_axes(name, axis, a.ndim)
        if not empty_ok and a.data.size == 0:
            _check_not_empty(name, a.shape, axes)
        return _node(fn(a.data, axis=axes, keepdims=keepdims), op, (a,), (axes, bool(keepdims)))

    reduce.__name__ = name
    return reduce


# The ufunc reductions are what np.sum/np.max/np.min call, minus a Python wrapper layer per call.
sum = _reduction("sum", np.add.reduce, SUM, True)
mean = _reduction("mean", np.mean, MEAN, False)
max = _reduction("max", np.maximum.reduce, MAX, False)
min = _reduction("min", np.minimum.reduce, MIN, False)


# logsumexp(a) = m + log Σ e^(a-m), m = max(a): stable for |a| ~ 1e4; d/da = softmax(a) over the axes.
# (Not exp(a - logsumexp(a)): in float32 at |a| ~ 1e4 the rounding of logsumexp costs 3 digits.)
LOGSUMEXP = defop("logsumexp", lambda g, o, a: mul(_expand_back(g, a.shape, *o._saved),
                                                    _softmax_over(a, o._saved[0])))
# log_softmax(a) = a - logsumexp(a); VJP: g - softmax(a) Σ g
LOG_SOFTMAX = defop("log_softmax", lambda g, o, a: sub(g, mul(exp(o), _sum_over(g, o._saved, True))))
# softmax(a) = e^(a - logsumexp(a)); VJP: s ⊙ (g - Σ g s)
SOFTMAX = defop("softmax", lambda g, o, a: mul(o, sub(g, _sum_over(mul(g, o), o._saved, True))))


def _softmax_over(a: Tensor, axes: Tuple[int, ...]) -> Tensor:
    """softmax over several axes at once: move them last, flatten them, softmax, undo."""
    if len(axes) == 1:
        return softmax(a, axis=axes[0])
    if not axes:  # a reduction over no axis is the identity
        return _const(np.ones_like(a.data))
    keep = [i for i in range(a.ndim) if i not in axes]
    perm = tuple(keep + list(axes))
    p = permute(a, perm) if perm != tuple(range(a.ndim)) else a
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    s = reshape(softmax(reshape(p, p.shape[:len(keep)] + (n,)), axis=-1), p.shape)
    return permute(s, tuple(int(i) for i in np.argsort(perm))) if p is not a else s


def _shifted(x: np.ndarray, axes: Tuple[int, ...]) -> Tuple[np.ndarray, np.ndarray]:
    m = np.maximum.reduce(x, axis=axes, keepdims=True)
    finite = np.isfinite(m)
    if not finite.all():  # rows that are all -inf (or hold inf/nan) are not shifted
        m = np.where(finite, m, 0)
    return x - m, m


def logsumexp(a: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(a) over ``axis``, computed as ``m + log Σ exp(a - m)`` with ``m = max a``."""
    a = _lift(a)
    axes = _norm_axes("logsumexp", axis, a.ndim)
    if a.data.size == 0:
        _check_not_empty("logsumexp", a.shape, axes)
    z, m = _shifted(a.data, axes)
    out = np.log(np.sum(np.exp(z), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in axes))
    return _node(out, LOGSUMEXP, (a,), (axes, bool(keepdims)))


def _one_axis(op: str, axis: int, ndim: int) -> Tuple[int, ...]:
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return _norm_axes(op, axis, ndim)


def log_softmax(a: Any, axis: int = -1) -> Tensor:
    """``a - logsumexp(a, axis)``: log-probabilities, stable for large logits."""
    a = _lift(a)
    axes = _one_axis("log_softmax", axis, a.ndim)
    if a.data.size == 0:
        _check_not_empty("log_softmax", a.shape, axes)
    z, _ = _shifted(a.data, axes)
    out = z - np.log(np.add.reduce(np.exp(z), axis=axes, keepdims=True))
    return _node(out, LOG_SOFTMAX, (a,), axes)


def softmax(a: Any, axis: int = -1) -> Tensor:
    """``exp(a) / Σ exp(a)`` along ``axis``, computed on ``a - max(a)`` so it never overflows."""
    a = _lift(a)
    axes = _one_axis("softmax", axis, a.ndim)
    if a.data.size == 0:
        _check_not_empty("softmax", a.shape, axes)
    z, _ = _shifted(a.data, axes)
    e = np.exp(z)
    return _node(e / np.add.reduce(e, axis=axes, keepdims=True), SOFTMAX, (a,), axes)


# --- matrix product ------------------------------------------------------------------------

def _swap_last(t: Tensor) -> Tensor:
    """``swapaxes(t, -1, -2)`` for ``t.ndim >= 2``: the permute node, built directly."""
    nd = t.data.ndim
    perm = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return _node(t.data.transpose(perm), PERMUTE, (t,), perm)


def _matmul_vjp(which: int) -> Callable:
    # Promote 1-D operands to matrices (a: (k,) -> (1, k), b: (k,) -> (k, 1)) so one rule holds:
    #   d(A B) = dA B + A dB  =>  gA = g Bᵀ, gB = Aᵀ g, each summed over broadcast batch axes.
    def vjp(g: Tensor, o: Tensor, a: Tensor, b: Tensor) -> Tensor:
        a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
        b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = unsqueeze(g2, -1 if b.ndim == 1 else -2)
        if b.ndim == 1:
            g2 = unsqueeze(g2, -1)
        if which == 0:
            return _reshape_to(unbroadcast(matmul(g2, _swap_last(b2)), a2.shape), a.shape)
        return _reshape_to(unbroadcast(matmul(_swap_last(a2), g2), b2.shape), b.shape)

    return vjp


MATMUL = defop("matmul", _matmul_vjp(0), _matmul_vjp(1))


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's rules: 1-D operands, batches, broadcast batch axes."""
    a, b = _pair(a, b, "matmul")
    sa, sb = a.data.shape, b.data.shape
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {sa} and {sb} do not align ({ka} != {kb})")
    if (len(sa) > 2 or len(sb) > 2) and sa[:-2] != sb[:-2]:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast "
                             f"together ({sa[:-2]} vs {sb[:-2]})") from None
    return _node(np.matmul(a.data, b.data), MATMUL, (a, b))


# --- shape ops -----------------------------------------------------------------------------

RESHAPE = defop("reshape", lambda g, o, a: reshape(g, a.shape))
PERMUTE = defop("permute", lambda g, o, a: permute(g, tuple(np.argsort(o._saved))))
EXPAND = defop("expand", lambda g, o, a: unbroadcast(g, a.shape))


def _shape_arg(shape: Tuple[Any, ...]) -> Tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple([int(s) for s in shape])


def reshape(a: Any, *shape: Any) -> Tensor:
    """Same data, new shape (one dimension may be -1)."""
    a = _lift(a)
    shape = _shape_arg(shape)
    if shape == a.data.shape:
        return a
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                         f"into shape {shape}") from None
    return _node(out, RESHAPE, (a,))


def permute(a: Any, *axes: Any) -> Tensor:
    """Reorder the axes: output axis i is input axis ``axes[i]``."""
    a = _lift(a)
    axes = _shape_arg(axes)
    nd = a.data.ndim
    if sorted([ax % _bmax(nd, 1) for ax in axes]) != list(range(nd)) or \
            any([not -nd <= ax < nd for ax in axes]):
        raise ValueError(f"permute: {axes} is not a permutation of the axes of a tensor of shape {a.shape}")
    axes = tuple([ax % nd for ax in axes])
    return _node(a.data.transpose(axes), PERMUTE, (a,), axes)


def transpose(a: Any, *axes: Any) -> Tensor:
    """``transpose(a)`` reverses the axes (``a.T``); ``transpose(a, i, j)`` swaps axes i and j
    (PyTorch's meaning); ``transpose(a, (2, 0, 1))`` permutes them (NumPy's meaning)."""
    a = _lift(a)
    if not axes:
        return permute(a, tuple(range(a.ndim))[::-1])
    if len(axes) == 2 and all(isinstance(x, (int, np.integer)) for x in axes):
        return swapaxes(a, axes[0], axes[1])
    return permute(a, *axes)


def swapaxes(a: Any, i: int, j: int) -> Tensor:
    a = _lift(a)
    nd = a.data.ndim
    for ax in (i, j):
        if not -nd <= ax < nd:
            raise ValueError(f"swapaxes: axis {ax} is out of range for a tensor of shape {a.shape}")
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return permute(a, tuple(perm))


def expand(a: Any, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` (NumPy rules); the gradient is summed back by :func:`unbroadcast`."""
    a = _lift(a)
    shape = _shape_arg(shape)
    if shape == a.data.shape:
        return a
    if _broadcast_shape("expand", a.shape, shape) != shape:
        raise ValueError(f"expand: a tensor of shape {a.shape} cannot be broadcast to shape {shape}")
    return _node(np.broadcast_to(a.data, shape), EXPAND, (a,))


broadcast_to = expand


def squeeze(a: Any, axis: Axis = None) -> Tensor:
    a = _lift(a)
    axes = _norm_axes("squeeze", axis, a.ndim) if axis is not None else \
        tuple(i for i, n in enumerate(a.shape) if n == 1)
    for ax in axes:
        if a.shape[ax] != 1:
            raise ValueError(f"squeeze: axis {ax} of shape {a.shape} has size {a.shape[ax]}, not 1")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in axes))


def unsqueeze(a: Any, axis: int) -> Tensor:
    a = _lift(a)
    nd = a.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with {nd} dimensions")
    axis %= nd
    return reshape(a, a.shape[:axis] + (1,) + a.shape[axis:])


def flatten(a: Any, start_axis: int = 0) -> Tensor:
    a = _lift(a)
    return reshape(a, a.shape[:start_axis] + (-1,))


# --- indexing ------------------------------------------------------------------------------

# getitem: the gradient is scattered back into zeros of the input's shape (adding at repeats);
# scatter_add is getitem's adjoint, so its own VJP is getitem again.
GETITEM = defop("getitem", lambda g, o, a: scatter_add(g, a.shape, o._saved))
SCATTER_ADD = defop("scatter_add", lambda g, o, a: getitem(g, o._saved))


def _index_array(x: Any) -> Any:
    """Tensor indices hold floats (the default dtype); use them as integers when they are whole."""
    if isinstance(x, Tensor):
        x = x.data
        if x.dtype.kind == "f":
            ix = x.astype(np.intp)
            if not np.array_equal(ix, x):
                raise IndexError(f"getitem: a float tensor used as an index must hold whole numbers, got {x}")
            return ix
    return x


def _norm_index(idx: Any) -> Any:
    if isinstance(idx, Tensor):
        return _index_array(idx)
    if isinstance(idx, tuple):
        return tuple(_index_array(i) if isinstance(i, Tensor) else i for i in idx)
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def _is_basic(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


def getitem(a: Any, idx: Any) -> Tensor:
    """``a[idx]``: ints, slices, ``None``, ``...``, integer arrays and boolean masks, like NumPy."""
    a = _lift(a)
    idx = _norm_index(idx)
    try:
        out = a.data[idx]
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor of shape {a.shape}, index {idx!r})") from None
    return _node(out, GETITEM, (a,), idx)


def scatter_add(g: Any, shape: Tuple[int, ...], idx: Any) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``idx`` (repeated indices add up)."""
    g = _lift(g)
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(idx):
        out[idx] = g.data
    else:
        np.add.at(out, idx, g.data)
    return _node(out, SCATTER_ADD, (g,), idx)


# --- joining -------------------------------------------------------------------------------

def _concat_vjp(i: int, g: Tensor, o: Tensor, *parents: Tensor) -> Tensor:
    axis, offsets = o._saved
    sl = [slice(None)] * g.ndim
    sl[axis] = slice(offsets[i], offsets[i + 1])
    return getitem(g, tuple(sl))


def _stack_vjp(i: int, g: Tensor, o: Tensor, *parents: Tensor) -> Tensor:
    return getitem(g, (slice(None),) * o._saved + (i,))


CONCATENATE = defop_variadic("concatenate", _concat_vjp)
STACK = defop_variadic("stack", _stack_vjp)


def _many(name: str, tensors: Sequence[Any]) -> Tuple[Tensor, ...]:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError(f"{name}: expected a non-empty list of tensors")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return tuple(_lift(t, first) for t in tensors)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    ts = _many("concatenate", tensors)
    nd = ts[0].ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    (ax,) = _norm_axes("concatenate", axis, nd)
    for t in ts:
        if t.ndim != nd or t.shape[:ax] + t.shape[ax + 1:] != ts[0].shape[:ax] + ts[0].shape[ax + 1:]:
            shapes = ", ".join(str(x.shape) for x in ts)
            raise ValueError(f"concatenate: shapes {shapes} must match except along axis {ax}")
    offsets = [0]
    for t in ts:
        offsets.append(offsets[-1] + t.shape[ax])
    return _node(np.concatenate([t.data for t in ts], axis=ax), CONCATENATE, ts, (ax, offsets))


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    ts = _many("stack", tensors)
    if any(t.shape != ts[0].shape for t in ts):
        raise ValueError("stack: all tensors must have the same shape, got " + ", ".join(str(t.shape) for t in ts))
    nd = ts[0].ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"stack: axis {axis} is out of range for a result with {nd} dimensions")
    ax = axis % nd
    return _node(np.stack([t.data for t in ts], axis=ax), STACK, ts, ax)


# --- bind the operators and methods of Tensor ----------------------------------------------

_NUMERIC = (Tensor, np.ndarray, np.generic, numbers.Number, list, tuple)


def _bind() -> None:
    T = Tensor
    T.__add__ = add
    T.__radd__ = lambda self, other: add(other, self)
    T.__sub__ = sub
    T.__rsub__ = lambda self, other: sub(other, self)
    T.__mul__ = mul
    T.__rmul__ = lambda self, other: mul(other, self)
    T.__truediv__ = div
    T.__rtruediv__ = lambda self, other: div(other, self)
    T.__pow__ = pow
    T.__rpow__ = lambda self, other: pow(other, self)
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda self, other: matmul(other, self)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__getitem__ = getitem
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = lt, le, gt, ge
    # == with a non-numeric object (None, a string...) falls back to identity, so `t in [None, t]` works.
    T.__eq__ = lambda self, other: eq(self, other) if isinstance(other, _NUMERIC) else NotImplemented
    T.__ne__ = lambda self, other: ne(self, other) if isinstance(other, _NUMERIC) else NotImplemented
    for name in ("exp", "log", "log1p", "sqrt", "abs", "tanh", "sigmoid", "relu", "erf", "clip", "sum", "mean",
                 "max", "min", "logsumexp", "log_softmax", "softmax", "matmul", "reshape", "permute",
                 "transpose", "swapaxes", "expand", "broadcast_to", "squeeze", "unsqueeze", "flatten",
                 "square", "maximum", "minimum", "argmax", "argmin"):
        setattr(T, name, globals()[name])
    T.T = property(lambda self: transpose(self))


_bind()
