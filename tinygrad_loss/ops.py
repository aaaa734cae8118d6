"""Every primitive op, one entry each: its NumPy forward and, beside it, its VJPs, twice.

An op ``y = f(a, b)`` hands each parent the vector-Jacobian product ``g · ∂y/∂parent``
where ``g = ∂L/∂y`` is the upstream gradient. Each :func:`defop` entry below is that table:
the forward ``forward(*arrays, **saved)`` and one VJP per parent, ``vjp(g, out, *parents)``,
reading what the forward saved by name (``out.saved["axes"]``). The engine only calls the VJPs
of parents that require a gradient.

Each VJP comes in two kinds, side by side in the entry, with the same arguments:

* the **Tensor rule** (``vjps``), written with Tensor ops. Run with recording on
  (``create_graph=True``), the backward pass builds a differentiable graph of the gradient:
  second derivatives come for free.
* the **raw rule** (``raw=``), the same formula on NumPy arrays: ``g`` is an array, the rule
  reads its operands' values from ``out._data`` and ``a._data`` and returns an array. A
  first-order backward pass (the usual one, ``create_graph=False``) runs these: it needs numbers,
  not a graph, and building a Tensor node for every step of every VJP cost several times the
  arithmetic on small tensors.

The two must agree, and ``tests/test_raw_vjps.py`` checks that they do, for every op, on every
gradcheck case (and fails for an op without raw rules unless it is allowed, with a reason). An
entry without ``raw=`` still works: its Tensor rules run on wrapped arrays, unrecorded
(``_opkit.TensorRulesOnArrays``).

The entry is all there is: the public function (``ops.exp``, ``tinygrad_loss.exp``), the Tensor
method and operators, ``__all__`` and the diagnostics' replay are derived from it by
``_opkit.py`` (front-ends, lifting, broadcasting and axis checks). Ops with a signature of their
own check their arguments in ``_opargs.py``. A new primitive is one entry here plus one gradcheck
case in ``tests/test_ops_gradcheck.py``.

Binary ops broadcast like NumPy; the gradient of a broadcast input is summed back to its shape
by the one shared rule :func:`unbroadcast` (:func:`_unbroadcast_np` for arrays: the same axes).
"""
from __future__ import annotations

import builtins
import math
import numbers
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from . import _opargs as A
from . import _validate as V
from ._opkit import (OPS, Op, along_axis, binary, broadcast_shape, custom, each_parent, lift, make_node,
                     norm_axes, one_axis, pair, public, reduction, register, torch_names, unary)
from .autograd import ShapedRules
from .tensor import Tensor, all_finite

__all__ = ["unbroadcast"]  # each entry below adds its public function (see _opkit.register)


def defop(name: str, forward: Callable, *vjps: Callable, raw: Any = None, each: Optional[Callable] = None,
          frontend: Callable = unary, method: bool = False, dunders: Sequence[str] = (),
          replay: Optional[Callable] = None, doc: Optional[str] = None) -> Callable:
    """Register one primitive and return its public function (see the module docstring).

    ``vjps``: one Tensor rule per parent; ``raw``: the same rules on arrays, a tuple in the same
    order. ``each(i, g, out, *parents)``: one rule for every parent of a variadic op (then ``raw``
    is one such rule too). ``frontend``: the argument handling (``_opkit``). ``method``/``dunders``:
    bind as Tensor method / operators. ``replay(node, parents)``: only when re-running ``forward``
    with the node's saved values is not the right replay.
    """
    if each is not None:
        vjps, raw = each_parent(each), None if raw is None else each_parent(raw)
    elif raw is not None and len(raw) != len(vjps):
        raise ValueError(f"defop {name!r}: {len(vjps)} Tensor rules but {len(raw)} raw rules")
    return register(Op(name, forward, vjps, method, dunders, replay, raw), frontend, doc)


# --- forwards the table names directly (defined first: no lambda around them) -----------------

class _Units(dict):
    """``_UNITS[dtype]``: (0, 1, -1) as read-only 0-d arrays of ``dtype``, made on first use. As ufunc
    operands they cost NumPy no conversion (NumPy 2 converts a Python number at every call, about as
    much as the arithmetic on a small array) and keep the result's dtype. Only native float dtypes
    are kept: for the others the forwards keep NumPy's promotion of a Python number (:func:`_units`)."""

    def __missing__(self, dtype: np.dtype) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        units = tuple([np.array(v, dtype) for v in (0, 1, -1)])
        for u in units:
            u.flags.writeable = False
        if dtype.kind == "f" and dtype.isnative:
            self[dtype] = units
        return units


_UNITS = _Units()


def _units(dt: np.dtype) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The forwards' units: native float dtypes only (others keep NumPy's promotion of a Python number)."""
    return _UNITS[dt] if dt.kind == "f" and dt.isnative else None


_ndarray, _exp, _add, _divide, _minimum, _maximum, _copysign = (np.ndarray, np.exp, np.add, np.divide, np.minimum,
                                                                np.maximum, np.copysign)


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    # e^min(x, 0) / (1 + e^-|x|): exp of a non-positive number only, so it never overflows, for any
    # magnitude of x (1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below; no np.where: half the time).
    # -|x| is copysign(x, -1), one call for the same bits.
    units = _UNITS.get(x.dtype) or _units(x.dtype)
    if units is None:  # not a native float: Python numbers, and NumPy's type promotion, then a cast back
        return (np.exp(np.minimum(x, 0)) / (1.0 + np.exp(-np.abs(x)))).astype(x.dtype, copy=False)
    zero, one, minus_one = units
    e = _copysign(x, minus_one)
    if type(e) is not _ndarray:  # 0-d: NumPy scalars, which cannot be written into
        return _exp(_minimum(x, zero)) / (one + _exp(e))
    # The same calls on the arrays they made (the output as the third, positional argument: a keyword
    # costs the call what the allocation saves), so two arrays are made instead of six.
    _exp(e, e)
    _add(one, e, e)
    num = _minimum(x, zero)
    _exp(num, num)
    return _divide(num, e, num)


def _relu_np(x: np.ndarray) -> np.ndarray:
    units = _UNITS.get(x.dtype) or _units(x.dtype)
    return _maximum(x, 0 if units is None else units[0])


# === the table ==================================================================================
# Each entry: the forward, the Tensor rules (one per parent), then ``raw=``: the same rules on arrays.

# --- elementwise binary (broadcasting) ---
# (add, sub, mul, div: the usual same-shape case returns without calling _unbroadcast_np)
# d(a+b) = da + db
add = defop("add", np.add, lambda g, o, a, b: unbroadcast(g, a.shape), lambda g, o, a, b: unbroadcast(g, b.shape),
            frontend=binary, dunders=("__add__", "__radd__"),
            raw=(lambda g, o, a, b: g if g.shape == a._data.shape else _unbroadcast_np(g, a._data.shape),
                 lambda g, o, a, b: g if g.shape == b._data.shape else _unbroadcast_np(g, b._data.shape)))
# d(a-b) = da - db
sub = defop("sub", np.subtract, lambda g, o, a, b: unbroadcast(g, a.shape),
            lambda g, o, a, b: unbroadcast(neg(g), b.shape), frontend=binary, dunders=("__sub__", "__rsub__"),
            raw=(lambda g, o, a, b: g if g.shape == a._data.shape else _unbroadcast_np(g, a._data.shape),
                 lambda g, o, a, b: -g if g.shape == b._data.shape else _unbroadcast_np(-g, b._data.shape)))
# d(ab) = b da + a db
mul = defop("mul", np.multiply, lambda g, o, a, b: unbroadcast(mul(g, b), a.shape),
            lambda g, o, a, b: unbroadcast(mul(g, a), b.shape), frontend=binary, dunders=("__mul__", "__rmul__"),
            raw=(lambda g, o, a, b: g * b._data if g.shape == a._data.shape
                 else _unbroadcast_np(g * b._data, a._data.shape),
                 lambda g, o, a, b: g * a._data if g.shape == b._data.shape
                 else _unbroadcast_np(g * a._data, b._data.shape)))
# d(a/b) = da/b - (a/b²) db = da/b - (o/b) db
div = defop("div", np.true_divide, lambda g, o, a, b: unbroadcast(div(g, b), a.shape),
            lambda g, o, a, b: unbroadcast(div_grad_b(g, o, b), b.shape),
            frontend=binary, dunders=("__truediv__", "__rtruediv__"),
            raw=(lambda g, o, a, b: g / b._data if g.shape == a._data.shape
                 else _unbroadcast_np(g / b._data, a._data.shape),
                 lambda g, o, a, b: _div_grad_b_np(g, o._data, b._data) if g.shape == b._data.shape
                 else _unbroadcast_np(_div_grad_b_np(g, o._data, b._data), b._data.shape)))
# d(a^b) = b a^(b-1) da + a^b log(a) db
pow = defop("pow", np.power, lambda g, o, a, b: _pow_base_vjp(g, a, b),
            lambda g, o, a, b: unbroadcast(mul(g, mul(o, _log_base(a))), b.shape),
            frontend=binary, dunders=("__pow__", "__rpow__"), doc="``a ** b`` elementwise; the exponent may be a "
                                                               "number or a Tensor.",
            raw=(lambda g, o, a, b: _unbroadcast_np(g * (b._data * a._data ** _pow_exponent(b._data)), a._data.shape),
                 lambda g, o, a, b: _unbroadcast_np(g * (o._data * _log_base_np(a._data)), b._data.shape)))
# the gradient goes to the larger (smaller) input, half to each on ties
maximum = defop("maximum", np.maximum, lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, True)), a.shape),
                lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, False)), b.shape),
                frontend=binary, method=True,
                raw=(lambda g, o, a, b: _unbroadcast_np(g * _max_mask_np(a, b, o, True), a._data.shape),
                     lambda g, o, a, b: _unbroadcast_np(g * _max_mask_np(a, b, o, False), b._data.shape)))
minimum = defop("minimum", np.minimum, lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, True)), a.shape),
                lambda g, o, a, b: unbroadcast(mul(g, _max_mask(a, b, o, False)), b.shape),
                frontend=binary, method=True,
                raw=(lambda g, o, a, b: _unbroadcast_np(g * _max_mask_np(a, b, o, True), a._data.shape),
                     lambda g, o, a, b: _unbroadcast_np(g * _max_mask_np(a, b, o, False), b._data.shape)))
# where(c, a, b): the gradient goes to a where c holds and to b elsewhere
where = defop("where", lambda a, b, cond: np.where(cond, a, b),
              lambda g, o, a, b: unbroadcast(where(o.saved["cond"], g, _c(0.0, g)), a.shape),
              lambda g, o, a, b: unbroadcast(where(o.saved["cond"], _c(0.0, g), g), b.shape),
              frontend=custom(A.where_args),
              raw=(lambda g, o, a, b: _unbroadcast_np(np.where(o._saved["cond"], g, 0.0), a._data.shape),
                   lambda g, o, a, b: _unbroadcast_np(np.where(o._saved["cond"], 0.0, g), b._data.shape)))

# --- elementwise unary ---
neg = defop("neg", np.negative, lambda g, o, a: neg(g), dunders=("__neg__",),               # d(-a) = -da
            raw=(lambda g, o, a: -g,))
exp = defop("exp", np.exp, lambda g, o, a: mul(g, o), method=True,                          # d e^a = e^a da
            raw=(lambda g, o, a: g * o._data,))
log = defop("log", np.log, lambda g, o, a: div(g, a), method=True,                          # d log a = da / a
            raw=(lambda g, o, a: g / a._data,))
log1p = defop("log1p", np.log1p, lambda g, o, a: div(g, add(a, _c(1.0, a))), method=True,  # da / (1+a)
              raw=(lambda g, o, a: g / (a._data + 1.0),))
sqrt = defop("sqrt", np.sqrt, lambda g, o, a: div(g, mul(o, _c(2.0, o))), method=True,     # da / (2√a)
             raw=(lambda g, o, a: g / (o._data * 2.0),))
abs = defop("abs", np.abs, lambda g, o, a: mul(g, _const(np.sign(a._data))),                # sign(a) da
            method=True, dunders=("__abs__",), raw=(lambda g, o, a: g * np.sign(a._data),))
tanh = defop("tanh", np.tanh, lambda g, o, a: tanh_grad(g, o), method=True,               # (1 - tanh²) da
             raw=(lambda g, o, a: _tanh_grad_np(g, o._data),))
# σ(a) = 1 / (1 + e^(-a)), computed without overflow for large |a|; dσ = σ(1-σ) da
sigmoid = defop("sigmoid", _sigmoid_np, lambda g, o, a: sigmoid_grad(g, o), method=True,
                raw=(lambda g, o, a: _sigmoid_grad_np(g, o._data),))
relu = defop("relu", _relu_np, lambda g, o, a: relu_grad(g, a), method=True,  # max(a, 0); [a > 0] da
             raw=(lambda g, o, a: g * (a._data > _UNITS[a._data.dtype][0]),))  # (_relu_grad_np, inline: per ReLU per step)
# the error function (exact, via math.erf; used by the exact GELU); d erf = 2/√π e^(-a²) da
erf = defop("erf", lambda x: _erf_np(x).astype(x.dtype, copy=False),
            lambda g, o, a: mul(g, mul(exp(neg(mul(a, a))), _c(2.0 / math.sqrt(math.pi), a))), method=True,
            raw=(lambda g, o, a: g * (np.exp(-(a._data * a._data)) * (2.0 / math.sqrt(math.pi))),))
# d clip(a, lo, hi) = [lo <= a <= hi] da
clip = defop("clip", lambda a, lo, hi: np.clip(a, lo, hi),
             lambda g, o, a: mul(g, _mask(_inside(a._data, o.saved["lo"], o.saved["hi"]), g.dtype)),
             frontend=custom(A.clip_args), method=True,
             raw=(lambda g, o, a: g * _inside(a._data, o._saved["lo"], o._saved["hi"]),))
# a cast: the gradient is cast back (a replay for finite differences stays in float64)
astype = defop("astype", lambda a, dtype: a.astype(dtype), lambda g, o, a: astype(g, a.dtype),
               frontend=custom(A.astype_args), method=True, replay=lambda node, parents: parents[0],
               raw=(lambda g, o, a: g.astype(a._data.dtype),))

# --- reductions: axis=None or int or tuple, keepdims; saved: axes (sorted), keepdims ---
# d sum(a) = broadcast(g); d mean(a) = broadcast(g) / n
sum = defop("sum", lambda x, axes, keepdims: np.add.reduce(x, axes, None, None, keepdims),
            lambda g, o, a: _expand_back(g, a.shape, o.saved["axes"], o.saved["keepdims"]),
            frontend=reduction(empty_ok=True), method=True,
            raw=(lambda g, o, a: _expand_back_np(g, o, a),))
mean = defop("mean", lambda x, axes, keepdims: _mean_np(x, axes, keepdims),
             lambda g, o, a: div(_expand_back(g, a.shape, o.saved["axes"], o.saved["keepdims"]),
                                 _count(a.shape, o.saved["axes"])),
             frontend=reduction(empty_ok=False), method=True,
             raw=(lambda g, o, a: _mean_vjp_np(g, o, a),))
# d max(a): the gradient goes to the maximal element(s), split evenly between ties.
max = defop("max", lambda x, axes, keepdims: np.maximum.reduce(x, axis=axes, keepdims=keepdims),
            lambda g, o, a: _extreme_vjp(g, o, a), frontend=reduction(empty_ok=False), method=True,
            raw=(lambda g, o, a: _expand_back_np(g, o, a) * _extreme_share(o, a, g.dtype),))
min = defop("min", lambda x, axes, keepdims: np.minimum.reduce(x, axis=axes, keepdims=keepdims),
            lambda g, o, a: _extreme_vjp(g, o, a), frontend=reduction(empty_ok=False), method=True,
            raw=(lambda g, o, a: _expand_back_np(g, o, a) * _extreme_share(o, a, g.dtype),))
# logsumexp(a) = m + log Σ e^(a-m), m = max(a): stable for |a| ~ 1e4; d/da = softmax(a) over the axes.
# (Not exp(a - logsumexp(a)): in float32 at |a| ~ 1e4 the rounding of logsumexp costs 3 digits.)
logsumexp = defop("logsumexp", lambda x, axes, keepdims: _logsumexp_np(x, axes, keepdims),
                  lambda g, o, a: mul(_expand_back(g, a.shape, o.saved["axes"], o.saved["keepdims"]),
                                      _softmax_over(a, o.saved["axes"])),
                  frontend=reduction(empty_ok=False), method=True,
                  raw=(lambda g, o, a: _expand_back_np(g, o, a) * _softmax_over_np(a._data, o._saved["axes"]),))
# log_softmax(a) = a - logsumexp(a) along one axis; VJP: g - softmax(a) Σ g
log_softmax = defop("log_softmax", lambda x, axes: _log_softmax_np(x, axes),
                    lambda g, o, a: sub(g, mul(exp(o), _sum_over(g, o.saved["axes"], True))),
                    frontend=along_axis, method=True,
                    raw=(lambda g, o, a: g - np.exp(o._data) * np.add.reduce(g, axis=o._saved["axes"], keepdims=True),))
# softmax(a) = e^(a - max a) / Σ e^(a - max a), never overflows; VJP: s ⊙ (g - Σ g s)
softmax = defop("softmax", lambda x, axes: _softmax_np(x, axes),
                lambda g, o, a: mul(o, sub(g, _sum_over(mul(g, o), o.saved["axes"], True))),
                frontend=along_axis, method=True,
                raw=(lambda g, o, a: o._data * (g - np.add.reduce(g * o._data, axis=o._saved["axes"], keepdims=True)),))

# --- matrix product: d(A B) = dA B + A dB => gA = g Bᵀ, gB = Aᵀ g (summed over broadcast batch axes) ---
# (VJPs make products of transposed operands: ta/tb, saved only when set, transpose a/b in the forward)
matmul = defop("matmul", lambda a, b, ta=False, tb=False: np.matmul(_t(a) if ta else a, _t(b) if tb else b),
               lambda g, o, a, b: _matmul_vjp(0, g, o, a, b), lambda g, o, a, b: _matmul_vjp(1, g, o, a, b),
               frontend=custom(A.matmul_args, saves=False), method=True, dunders=("__matmul__", "__rmatmul__"),
               raw=(lambda g, o, a, b: _matmul_vjp_a_np(g, o, a._data, b._data),
                    lambda g, o, a, b: _matmul_vjp_b_np(g, o, a._data, b._data)))

# --- shapes: the gradient is moved back into the input's layout ---
reshape = defop("reshape", lambda x, shape: _reshape_np(x, shape), lambda g, o, a: _reshape_to(g, a.shape),
                frontend=custom(A.reshape_args), method=True,
                replay=lambda node, parents: reshape(parents[0], node.shape),
                raw=(lambda g, o, a: g.reshape(a._data.shape),))
permute = defop("permute", lambda x, axes: x.transpose(axes),
                lambda g, o, a: _permute_to(g, _inverse(o.saved["axes"])),
                frontend=custom(A.permute_args), method=True,
                raw=(lambda g, o, a: g.transpose(_inverse(o._saved["axes"])),))
expand = defop("expand", lambda x, shape: np.broadcast_to(x, shape), lambda g, o, a: unbroadcast(g, a.shape),
               frontend=custom(A.expand_args), method=True,
               replay=lambda node, parents: expand(parents[0], node.shape),
               raw=(lambda g, o, a: _unbroadcast_np(g, a._data.shape),))

# --- indexing: getitem's gradient is scattered back into zeros (adding at repeated indices);
# scatter_add is getitem's adjoint, so its own VJP is getitem again ---
getitem = defop("getitem", lambda x, index: _getitem_np(x, index),
                lambda g, o, a: scatter_add(g, a.shape, o.saved["index"]),
                frontend=custom(A.getitem_args), dunders=("__getitem__",),
                raw=(lambda g, o, a: _scatter_add_np(g, a._data.shape, o._saved["index"]),))
scatter_add = defop("scatter_add", lambda x, shape, index: _scatter_add_np(x, shape, index),
                    lambda g, o, a: getitem(g, o.saved["index"]), frontend=custom(A.scatter_add_args),
                    raw=(lambda g, o, a: _getitem_np(g, o._saved["index"]),))

# --- joining: each input gets its slice of the gradient back ---
concatenate = defop("concatenate", lambda *xs, axis, offsets: np.concatenate(xs, axis=axis),
                    each=lambda i, g, o, *ps: getitem(g, _slice_along(g.ndim, o.saved["axis"], o.saved["offsets"], i)),
                    frontend=custom(A.concatenate_args),
                    raw=lambda i, g, o, *ps: g[_slice_along(g.ndim, o._saved["axis"], o._saved["offsets"], i)])
stack = defop("stack", lambda *xs, axis: np.stack(xs, axis=axis),
              each=lambda i, g, o, *ps: getitem(g, (slice(None),) * o.saved["axis"] + (i,)),
              frontend=custom(A.stack_args),
              raw=lambda i, g, o, *ps: g[(slice(None),) * o._saved["axis"] + (i,)])

# --- fused gradient rules: the VJPs above as one node each, themselves differentiable; their
# forwards are the raw rules of tanh, sigmoid, relu and div ---
# tanh_grad(g, y) = g (1 - y²): tanh's VJP given its output y
tanh_grad = defop("tanh_grad", lambda g, y: _tanh_grad_np(g, y),
                  lambda gg, o, g, y: unbroadcast(tanh_grad(gg, y), g.shape),
                  lambda gg, o, g, y: unbroadcast(mul(mul(gg, g), mul(y, _c(-2.0, y))), y.shape), frontend=binary,
                  raw=(lambda gg, o, g, y: _unbroadcast_np(_tanh_grad_np(gg, y._data), g._data.shape),
                       lambda gg, o, g, y: _unbroadcast_np((gg * g._data) * (y._data * -2.0), y._data.shape)))
# sigmoid_grad(g, y) = g y (1 - y): sigmoid's VJP given its output y
sigmoid_grad = defop("sigmoid_grad", lambda g, y: _sigmoid_grad_np(g, y),
                     lambda gg, o, g, y: unbroadcast(sigmoid_grad(gg, y), g.shape),
                     lambda gg, o, g, y: unbroadcast(mul(mul(gg, g), sub(_c(1.0, y), mul(y, _c(2.0, y)))), y.shape),
                     frontend=binary,
                     raw=(lambda gg, o, g, y: _unbroadcast_np(_sigmoid_grad_np(gg, y._data), g._data.shape),
                          lambda gg, o, g, y: _unbroadcast_np((gg * g._data) * (1.0 - y._data * 2.0), y._data.shape)))
# relu_grad(g, a) = g [a > 0]: relu's VJP; a enters only through the mask (derivative 0), so it is
# saved (as x, its array), not a parent
relu_grad = defop("relu_grad", lambda g, x: _relu_grad_np(g, x),
                  lambda gg, o, g: unbroadcast(relu_grad(gg, o.saved["x"]), g.shape),
                  frontend=custom(A.relu_grad_args),
                  raw=(lambda gg, o, g: _unbroadcast_np(_relu_grad_np(gg, o._saved["x"]), g._data.shape),))
# div_grad_b(g, y, b) = -g y / b: div's VJP for its divisor b, given its output y = a / b
div_grad_b = defop("div_grad_b", lambda g, y, b: _div_grad_b_np(g, y, b),
                   lambda gg, o, g, y, b: unbroadcast(div_grad_b(gg, y, b), g.shape),
                   lambda gg, o, g, y, b: unbroadcast(div_grad_b(gg, g, b), y.shape),
                   lambda gg, o, g, y, b: unbroadcast(div(div(mul(mul(gg, g), y), b), b), b.shape),
                   frontend=custom(A.div_grad_b_args, saves=False),
                   raw=(lambda gg, o, g, y, b: _unbroadcast_np(_div_grad_b_np(gg, y._data, b._data), g._data.shape),
                        lambda gg, o, g, y, b: _unbroadcast_np(_div_grad_b_np(gg, g._data, b._data), y._data.shape),
                        lambda gg, o, g, y, b: _unbroadcast_np((gg * g._data) * y._data / b._data / b._data,
                                                               b._data.shape)))

# === end of the table ===========================================================================

# Raw rules that end in _unbroadcast_np or _expand_back_np (or mean's, which divides the latter)
# return their input's shape by construction: marked so, the array loop skips its check per edge
# (two shape tuples built and compared); rules put in their place later are checked again.
for _entry in (add, sub, mul, div, pow, maximum, minimum, where, expand, sum, mean, tanh_grad, sigmoid_grad,
               relu_grad, div_grad_b):
    _entry.op.raw = ShapedRules(_entry.op.raw)


# --- forwards longer than one expression ----------------------------------------------------

_erf_np = np.vectorize(math.erf, otypes=[np.float64])


# The fused rules' forwards, which are also the raw rules of tanh, sigmoid, relu and div.
def _tanh_grad_np(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    return g * (_UNITS[y.dtype][1] - y * y)


def _sigmoid_grad_np(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    return g * (y * (_UNITS[y.dtype][1] - y))


def _relu_grad_np(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    return g * (x > _UNITS[x.dtype][0])


def _div_grad_b_np(g: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(g * y) / b


_intp = np.intp


def _mean_np(x: np.ndarray, axes: Tuple[int, ...], keepdims: bool) -> Any:
    """``np.mean(x, axis=axes, keepdims=keepdims)`` bit for bit, without its Python wrapper: the same
    sum, divided by the same count (an ``intp``: a float32 sum is divided in float64 and rounded back,
    as NumPy does). float16 (summed in float32) and integers (in float64) keep ``np.mean``."""
    t = x.dtype.type
    if t is not np.float32 and t is not np.float64:
        return np.mean(x, axis=axes, keepdims=keepdims)
    s = np.add.reduce(x, axes, None, None, keepdims)
    n = 1
    shape = x.shape
    for ax in axes:
        n *= shape[ax]
    if type(s) is np.ndarray:
        s /= _intp(n)  # (in place, NumPy's true_divide(s, n, out=s): computed in float64, cast back)
        return s
    return t(s / _intp(n))


def _shifted(x: np.ndarray, axes: Tuple[int, ...]) -> Tuple[np.ndarray, np.ndarray]:
    m = np.maximum.reduce(x, axes, None, None, True)
    if not all_finite(m):  # rows that are all -inf (or hold inf/nan) are not shifted
        m = np.where(np.isfinite(m), m, 0)
    return x - m, m


def _logsumexp_np(x: np.ndarray, axes: Tuple[int, ...], keepdims: bool) -> np.ndarray:
    z, m = _shifted(x, axes)
    out = np.log(np.sum(np.exp(z), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = out.reshape(tuple([n for i, n in enumerate(x.shape) if i not in axes]))
    return out


def _log_softmax_np(x: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
    z, _ = _shifted(x, axes)
    return z - np.log(np.add.reduce(np.exp(z), axis=axes, keepdims=True))


def _softmax_np(x: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
    e = np.exp(_shifted(x, axes)[0])
    return e / np.add.reduce(e, axis=axes, keepdims=True)


def _reshape_np(x: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    try:
        return x.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                         f"into shape {shape}") from None


def _getitem_np(x: np.ndarray, index: Any) -> np.ndarray:
    try:
        return x[index]
    except (IndexError, OverflowError) as e:  # a huge int index overflows NumPy's C long
        raise IndexError(f"getitem: {e} (tensor of shape {x.shape}, index {V.show(index)})") from None


def _scatter_add_np(g: np.ndarray, shape: Tuple[int, ...], index: Any) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    if A.is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


# --- helpers of the VJPs ----------------------------------------------------------------------

_bmax = builtins.max  # this module defines ops named sum/max/min/abs/pow
_SUM, _RESHAPE, _EXPAND, _PERMUTE, _MATMUL = OPS["sum"], OPS["reshape"], OPS["expand"], OPS["permute"], OPS["matmul"]
_CONSTANTS: Dict[Tuple[float, np.dtype], Tensor] = {}


def _c(value: float, like: Tensor) -> Tensor:
    """The VJPs' constant ``value`` in ``like``'s float dtype, made once per (value, dtype): read-only."""
    dt = like._data.dtype
    t = _CONSTANTS.get((value, dt))
    if t is None:
        arr = np.asarray(value, dtype=dt if dt.kind == "f" else np.float64)
        arr.flags.writeable = False
        t = _CONSTANTS[(value, dt)] = Tensor._wrap(arr)
    return t


def _const(arr: np.ndarray) -> Tensor:
    return Tensor._wrap(arr)


def _mask(cond: np.ndarray, dtype) -> Tensor:
    return _const(cond.astype(dtype))


def _keepdims_shape(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple([1 if i in axes else n for i, n in enumerate(shape)])


def unbroadcast(g: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """Sum ``g`` down to ``shape``: the gradient of NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along its size-1 axes, so the
    gradient of each copy must be added back: sum over those axes.
    """
    if type(g) is not Tensor:
        g = lift(g, op="unbroadcast")
    gs = g._data.shape
    if type(shape) is tuple and gs == shape:
        return g
    shape = V.shape("unbroadcast", shape)
    if gs == shape:
        return g
    if len(shape) > len(gs) or broadcast_shape("unbroadcast", shape, gs) != gs:
        raise ValueError(f"unbroadcast: a gradient of shape {gs} cannot be summed down to shape {shape}")
    axes = _broadcast_axes(gs, shape)
    out = _sum_over(g, axes, True) if axes else g
    return _reshape_to(out, shape)


def _broadcast_axes(gs: Tuple[int, ...], shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """The axes of a gradient of shape ``gs`` to sum so that it fits ``shape`` (which broadcast to ``gs``)."""
    lead = len(gs) - len(shape)
    return tuple(range(lead)) + tuple([i + lead for i, n in enumerate(shape) if n == 1 and gs[i + lead] != 1])


_add_reduce = np.add.reduce


def _unbroadcast_np(g: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """:func:`unbroadcast` of an array (the raw rules' one helper): the same sums, no node."""
    gs = g.shape
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    if shape and gs[lead:] == shape:  # only new leading axes (a bias): the sum has the shape, a new array
        return _add_reduce(g, 0 if lead == 1 else tuple(range(lead)))  # (no reshaped view for backward to copy)
    axes = _broadcast_axes(gs, shape)
    return (np.add.reduce(g, axis=axes, keepdims=True) if axes else g).reshape(shape)


def _expand_back(g: Tensor, shape: Tuple[int, ...], axes: Tuple[int, ...], keepdims: bool) -> Tensor:
    """Undo a reduction over ``axes``: reshape to keepdims form, then broadcast to ``shape``."""
    if not keepdims:
        g = _reshape_to(g, _keepdims_shape(shape, axes))
    return _expand_to(g, shape)


def _mean_vjp_np(g: np.ndarray, o: Tensor, a: Tensor) -> np.ndarray:
    """mean's raw rule: ``g`` spread back over the reduced axes, divided by their size (in place once spread)."""
    shape, saved = a._data.shape, o._saved
    n = _count(shape, saved["axes"])
    if g.ndim or not shape:
        if not saved["keepdims"]:
            g = g.reshape(_keepdims_shape(shape, saved["axes"]))
        if g.shape == shape:  # nothing to spread: a new array, g (or the array it views) may be another's too
            return g / n
    out = np.empty(shape, g.dtype)
    out[...] = g
    out /= n
    return out


def _expand_back_np(g: np.ndarray, o: Tensor, a: Tensor) -> np.ndarray:
    """:func:`_expand_back` of an array, undoing the reduction ``o`` of ``a`` (a new array, or ``g``)."""
    shape = a._data.shape
    if g.ndim or not shape:  # (a 0-d g, from a full reduction, broadcasts as it is: no reshape)
        saved = o._saved
        if not saved["keepdims"]:
            g = g.reshape(_keepdims_shape(shape, saved["axes"]))
        if g.shape == shape:
            return g
    out = np.empty(shape, g.dtype)  # filled by broadcasting: a third of np.broadcast_to's cost (its view
    out[...] = g                    # is made in Python), and every consumer but sum's reads it whole anyway
    return out


# The four helpers below build exactly the node that sum/reshape/expand/permute would, for
# arguments the caller already knows are valid (VJPs run them on every backward pass, so they
# skip the argument normalisation and checks of the public functions).

def _sum_over(t: Tensor, axes: Tuple[int, ...], keepdims: bool) -> Tensor:
    """``sum(t, axis=axes, keepdims=keepdims)`` for sorted, non-negative, distinct ``axes``."""
    return make_node(np.add.reduce(t._data, axis=axes, keepdims=keepdims), _SUM, (t,),
                     {"axes": axes, "keepdims": bool(keepdims)})


def _reshape_to(t: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """``reshape(t, shape)`` for a tuple of ints ``shape`` with as many elements as ``t``."""
    if t._data.shape == shape:
        return t
    return make_node(_reshape_np(t._data, shape), _RESHAPE, (t,), {"shape": shape})


def _expand_to(t: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """``expand(t, shape)`` for a tuple of ints ``shape`` that ``t`` broadcasts to."""
    if t._data.shape == shape:
        return t
    return make_node(np.broadcast_to(t._data, shape), _EXPAND, (t,), {"shape": shape})


def _permute_to(t: Tensor, axes: Tuple[int, ...]) -> Tensor:
    """``permute(t, axes)`` for a permutation ``axes`` of ``t``'s axes."""
    return make_node(t._data.transpose(axes), _PERMUTE, (t,), {"axes": axes})


def _pow_base_vjp(g: Tensor, a: Tensor, b: Tensor) -> Tensor:
    e = sub(b, _c(1.0, b))
    if (b._data == 0).any():  # (raw rule: _pow_exponent)  # the method skips np.any's Python wrapper (this runs on every square's VJP)
        # a^0 is the constant 1, derivative 0, also at a == 0 where b a^(b-1) would be 0 * inf:
        # any finite exponent there gives b a^e = 0 without the nan.
        e = where(eq(b, 0.0), 1.0, e)
    return unbroadcast(mul(g, mul(b, pow(a, e))), a.shape)


def _pow_exponent(b: np.ndarray) -> np.ndarray:
    """The exponent ``b - 1`` of the raw rule for the base, 1 where ``b == 0`` (as in :func:`_pow_base_vjp`)."""
    e = b - 1.0
    if (b == 0).any():
        e = np.where(b == 0, 1.0, e)
    return e


def _log_base(a: Tensor) -> Tensor:
    # d(a^b)/db = a^b log a; at a == 0 the limit (b > 0) is 0, so use log(1) there.
    safe = where(eq(a, 0.0), 1.0, a) if np.any(a._data == 0) else a
    return log(safe)


def _log_base_np(a: np.ndarray) -> np.ndarray:
    return np.log(np.where(a == 0, 1.0, a) if (a == 0).any() else a)


def _max_mask(a: Tensor, b: Tensor, o: Tensor, first: bool) -> Tensor:
    return _const(np.broadcast_to(_max_mask_np(a, b, o, first), o.shape))


def _max_mask_np(a: Tensor, b: Tensor, o: Tensor, first: bool) -> np.ndarray:
    # 1 where this input won, 1/2 on ties (the subgradient PyTorch uses); broadcasts to the output's shape.
    mine, other = (a._data, b._data) if first else (b._data, a._data)
    m = (mine == o._data).astype(o._data.dtype)
    return m - o._data.dtype.type(0.5) * (mine == other)


def _inside(x: np.ndarray, lo, hi) -> np.ndarray:
    m = np.ones(x.shape, dtype=bool)
    if lo is not None:
        m &= x >= lo
    if hi is not None:
        m &= x <= hi
    return m


def _count(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> float:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return float(n)


def _extreme_vjp(g: Tensor, o: Tensor, a: Tensor) -> Tensor:
    share = _extreme_share(o, a, g.dtype)
    return mul(_expand_back(g, a.shape, o.saved["axes"], o.saved["keepdims"]), _const(share))


def _extreme_share(o: Tensor, a: Tensor, dtype: np.dtype) -> np.ndarray:
    """For max/min ``o`` of ``a``: each element's share of the gradient (1/k for k tied winners, else 0)."""
    axes, keepdims = o._saved["axes"], o._saved["keepdims"]
    o_kd = o._data if keepdims else o._data.reshape(_keepdims_shape(a.shape, axes))
    hit = a._data == o_kd
    return (hit / hit.sum(axis=axes, keepdims=True)).astype(dtype)


def _softmax_over(a: Tensor, axes: Tuple[int, ...]) -> Tensor:
    """softmax over several axes at once: move them last, flatten them, softmax, undo."""
    if len(axes) == 1:
        return softmax(a, axis=axes[0])
    if not axes:  # a reduction over no axis is the identity
        return _const(np.ones_like(a._data))
    keep = [i for i in range(a.ndim) if i not in axes]
    perm = tuple(keep + list(axes))
    p = permute(a, perm) if perm != tuple(range(a.ndim)) else a
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    s = reshape(softmax(reshape(p, p.shape[:len(keep)] + (n,)), axis=-1), p.shape)
    return permute(s, _inverse(perm)) if p is not a else s


def _softmax_over_np(x: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
    """:func:`_softmax_over` of an array (NumPy reduces over several axes at once)."""
    return _softmax_np(x, axes) if axes else np.ones_like(x)


def _inverse(perm: Tuple[int, ...]) -> Tuple[int, ...]:
    """The permutation that undoes ``perm``."""
    return tuple([int(i) for i in np.argsort(perm)])


def _t(x: np.ndarray) -> np.ndarray:
    """``x`` with its last two axes swapped (a view)."""
    return x.T if x.ndim == 2 else x.swapaxes(-1, -2)


def _mm(a: Tensor, b: Tensor, ta: bool, tb: bool) -> Tensor:
    """``matmul`` of ``a`` (transposed if ``ta``) and ``b`` (transposed if ``tb``): one node, no permute."""
    x = _t(a._data) if ta else a._data
    y = _t(b._data) if tb else b._data
    return make_node(np.matmul(x, y), _MATMUL, (a, b), {"ta": ta, "tb": tb} if ta or tb else None)


def _matmul_vjp(which: int, g: Tensor, o: Tensor, a: Tensor, b: Tensor) -> Tensor:
    # y = A' B' with A' = Aᵀ if ta else A (B' likewise): gA' = g B'ᵀ, gB' = A'ᵀ g, each read back through
    # the transposes as a product with flags, summed over broadcast batch axes.
    s = o._saved
    ta, tb = (s["ta"], s["tb"]) if s else (False, False)
    if a._data.ndim == 1 or b._data.ndim == 1:  # (the flags are only ever set on products of matrices)
        return _matmul_vector_vjp(which, g, a, b)
    if which == 0:
        return unbroadcast(_mm(b, g, tb, True) if ta else _mm(g, b, False, not tb), a.shape)
    return unbroadcast(_mm(g, a, True, ta) if tb else _mm(a, g, not ta, False), b.shape)


def _matmul_vector_vjp(which: int, g: Tensor, a: Tensor, b: Tensor) -> Tensor:
    # Promote 1-D operands to matrices (a: (k,) -> (1, k), b: (k,) -> (k, 1)) so one rule holds.
    a2 = _reshape_to(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = _reshape_to(b, b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = unsqueeze(g2, -1 if b.ndim == 1 else -2)
    if b.ndim == 1:
        g2 = unsqueeze(g2, -1)
    if which == 0:
        return _reshape_to(unbroadcast(_mm(g2, b2, False, True), a2.shape), a.shape)
    return _reshape_to(unbroadcast(_mm(a2, g2, True, False), b2.shape), b.shape)


def _matmul_vjp_a_np(g: np.ndarray, o: Tensor, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """matmul's raw rule for ``a``; for two matrices without transpose flags (a layer's product) ``g Bᵀ``
    has ``a``'s shape: nothing to sum back."""
    if o._saved is None and a.ndim == 2 and b.ndim == 2:
        return np.matmul(g, b.T)
    return _matmul_vjp_np(0, g, o, a, b)


def _matmul_vjp_b_np(g: np.ndarray, o: Tensor, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """matmul's raw rule for ``b``: ``Aᵀ g`` directly for two matrices without transpose flags."""
    if o._saved is None and a.ndim == 2 and b.ndim == 2:
        return np.matmul(a.T, g)
    return _matmul_vjp_np(1, g, o, a, b)


def _matmul_vjp_np(which: int, g: np.ndarray, o: Tensor, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`_matmul_vjp` on arrays: the same products, without nodes."""
    s = o._saved
    ta, tb = (s["ta"], s["tb"]) if s else (False, False)
    if a.ndim == 1 or b.ndim == 1:
        return _matmul_vector_vjp_np(which, g, a, b)
    if which == 0:
        return _unbroadcast_np(np.matmul(_t(b) if tb else b, _t(g)) if ta else np.matmul(g, b if tb else _t(b)),
                               a.shape)
    return _unbroadcast_np(np.matmul(_t(g), _t(a) if ta else a) if tb else np.matmul(a if ta else _t(a), g), b.shape)


def _matmul_vector_vjp_np(which: int, g: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    g2 = np.asarray(g)
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -1 if b.ndim == 1 else -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    if which == 0:
        return _unbroadcast_np(np.matmul(g2, _t(b2)), a2.shape).reshape(a.shape)
    return _unbroadcast_np(np.matmul(_t(a2), g2), b2.shape).reshape(b.shape)


def _slice_along(ndim: int, axis: int, offsets: Tuple[int, ...], i: int) -> Tuple[slice, ...]:
    sl = [slice(None)] * ndim
    sl[axis] = slice(offsets[i], offsets[i + 1])
    return tuple(sl)


# === composites: public functions made of the primitives (no entry, no VJP of their own) ========

@public(method=True)
def square(a: Any) -> Tensor:
    """``a ** 2`` (the ``pow`` primitive with exponent 2)."""
    return pow(lift(a, op="square"), 2.0)


@public(method=True)
def swapaxes(a: Any, i: int, j: int) -> Tensor:
    """Swap axes ``i`` and ``j`` (a ``permute``)."""
    a = lift(a, op="swapaxes")
    nd = a._data.ndim
    i, j = V.axis("swapaxes", i, nd, "i"), V.axis("swapaxes", j, nd, "j")
    if nd == 0:
        return a
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return permute(a, tuple(perm))


@public(method=True)
def transpose(a: Any, *axes: Any) -> Tensor:
    """``transpose(a)`` reverses the axes (``a.T``); ``transpose(a, i, j)`` swaps axes i and j
    (PyTorch's meaning); ``transpose(a, (2, 0, 1))`` permutes them (NumPy's meaning)."""
    a = lift(a, op="transpose")
    if not axes:
        return permute(a, tuple(range(a.ndim))[::-1])
    try:
        if len(axes) == 2 and all(isinstance(x, (int, np.integer)) for x in axes):
            return swapaxes(a, axes[0], axes[1])
        return permute(a, *axes)
    except (TypeError, ValueError) as e:  # the user called transpose: name it, not its delegate
        raise V.renamed(e, "transpose", ("permute", "swapaxes"), {"i": "axes", "j": "axes"}) from None


@public(method=True)
def broadcast_to(a: Any, *shape: Any) -> Tensor:
    """``expand`` under NumPy's name."""
    try:
        return expand(a, *shape)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "broadcast_to", ("expand",)) from None


@public(method=True)
def squeeze(a: Any, axis: Any = None) -> Tensor:
    """Drop size-1 axes (all of them, or the ones in ``axis``): a ``reshape``."""
    a = lift(a, op="squeeze")
    axes = norm_axes("squeeze", axis, a.ndim) if axis is not None else \
        tuple(i for i, n in enumerate(a.shape) if n == 1)
    for ax in axes:
        if a.shape[ax] != 1:
            raise ValueError(f"squeeze: axis {ax} of shape {a.shape} has size {a.shape[ax]}, not 1")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in axes))


@public(method=True)
def unsqueeze(a: Any, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis``: a ``reshape``."""
    a = lift(a, op="unsqueeze")
    axis = V.axis("unsqueeze", axis, a.ndim + 1)
    return reshape(a, a.shape[:axis] + (1,) + a.shape[axis:])


@public(method=True)
def flatten(a: Any, start_axis: int = 0) -> Tensor:
    """Merge the axes from ``start_axis`` on into one: a ``reshape``."""
    a = lift(a, op="flatten")
    start_axis = V.axis("flatten", start_axis, a.ndim, "start_axis")
    return reshape(a, a.shape[:start_axis] + (-1,))


# --- comparisons and arg-extremes: constant results (boolean / integer), no gradient ---

def _compare(name: str, fn: Callable, dunder: str) -> Callable:
    def cmp(a: Any, b: Any) -> Tensor:
        if type(a) is not Tensor or type(b) is not Tensor:
            a, b = pair(a, b, name)
        if a._data.shape != b._data.shape:
            broadcast_shape(name, a._data.shape, b._data.shape)
        return Tensor._wrap(np.asarray(fn(a._data, b._data)))

    cmp.__name__ = cmp.__qualname__ = name
    cmp.__doc__ = f"``a {dunder} b`` elementwise, as a boolean tensor without gradient."
    return public(dunders=("__" + name + "__",) if name not in ("eq", "ne") else ())(cmp)


lt, le = _compare("lt", np.less, "<"), _compare("le", np.less_equal, "<=")
gt, ge = _compare("gt", np.greater, ">"), _compare("ge", np.greater_equal, ">=")
eq, ne = _compare("eq", np.equal, "=="), _compare("ne", np.not_equal, "!=")


def _arg_extreme(name: str, fn: Callable) -> Callable:
    def arg(a: Any, axis: Optional[int] = None, keepdims: Optional[bool] = None, *, dim: Optional[int] = None,
            keepdim: Optional[bool] = None) -> Tensor:
        if dim is not None or keepdim is not None:
            axis, keepdims = torch_names(name, axis, keepdims, dim, keepdim)
        keepdims = False if keepdims is None else V.boolean(name, "keepdims", keepdims)
        a = lift(a, op=name)
        ax = None
        if axis is not None:
            axes = one_axis(name, axis, a.ndim)
            ax = axes[0] if axes else None
        if a.size == 0 and (ax is None or a.shape[ax] == 0):
            raise ValueError(f"{name}: a tensor of shape {a.shape} has no elements along axis {axis}")
        return Tensor._wrap(np.asarray(fn(a._data, axis=ax, keepdims=keepdims)))

    arg.__name__ = arg.__qualname__ = name
    arg.__doc__ = (f"Index of the {'largest' if name == 'argmax' else 'smallest'} element along ``axis`` (of the "
                   "flattened tensor for None), as an integer tensor without gradient (like comparisons).")
    return public(method=True)(arg)


argmax, argmin = _arg_extreme("argmax", np.argmax), _arg_extreme("argmin", np.argmin)

# == with a non-numeric object (None, a string...) falls back to identity, so `t in [None, t]` works.
_NUMERIC = (Tensor, np.ndarray, np.generic, numbers.Number, list, tuple)
Tensor.__eq__ = lambda self, other: eq(self, other) if isinstance(other, _NUMERIC) else NotImplemented
Tensor.__ne__ = lambda self, other: ne(self, other) if isinstance(other, _NUMERIC) else NotImplemented
Tensor.__pos__ = lambda self: self
Tensor.T = property(lambda self: transpose(self))
