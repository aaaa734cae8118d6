"""NumPy on Tensors: ``np.exp(t)``, ``np.mean(t)``, ``np_array * t`` return recorded Tensors.

NumPy hands a call that involves a Tensor to the Tensor (the ``__array_ufunc__`` and
``__array_function__`` protocols), and the Tensor answers with its own op, so the result is in
the graph and gradients flow through it (MyGrad does the same). The rules:

* a ufunc or function listed below becomes the op of the same meaning;
* a ufunc whose ``out=`` is a plain ndarray (``w.data -= lr * w.grad``) computes on the data and
  records nothing, as arithmetic on ``.data`` always does;
* questions about a tensor (``np.shape``, ``np.allclose``, ``np.isnan``...) are answered from its data;
* anything else raises a TypeError naming the NumPy function, rather than silently returning
  an ndarray with no gradient: write ``np.f(t.numpy())`` to compute on the data on purpose.
"""
from __future__ import annotations

from typing import Any, Callable, Dict

import numpy as np

from . import ops
from ._opkit import OPS
from .tensor import Tensor

__all__ = ["SUPPORTED_UFUNCS", "SUPPORTED_FUNCTIONS"]


def _data(x: Any) -> Any:
    """``x`` with every Tensor (also inside lists/tuples) replaced by its data."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_data(v) for v in x)
    return x


def _refuse(name: str, why: str) -> TypeError:
    return TypeError(f"numpy.{name} on a Tensor: {why}; write numpy.{name}(t.numpy(), ...) to compute on the "
                     "data without a gradient")


# --- ufuncs ---------------------------------------------------------------------------------

# A primitive whose forward is a NumPy ufunc answers that ufunc (np.exp -> ops.exp), so a new
# registry entry is reachable from NumPy too; the rest are spellings of ops that are not their ufunc.
SUPPORTED_UFUNCS: Dict[str, Callable[..., Tensor]] = {
    op.forward.__name__: getattr(ops, name) for name, op in OPS.items() if isinstance(op.forward, np.ufunc)
}
SUPPORTED_UFUNCS.update({
    "float_power": ops.pow, "fabs": ops.abs, "square": ops.square, "matmul": ops.matmul,
    "positive": lambda a: a if isinstance(a, Tensor) else ops.mul(a, 1.0),
    "less": ops.lt, "less_equal": ops.le, "greater": ops.gt, "greater_equal": ops.ge,
    "equal": ops.eq, "not_equal": ops.ne,
})
# Ufuncs with a boolean answer about the values: computed on the data (there is no gradient to keep).
_QUESTION_UFUNCS = {"isfinite", "isnan", "isinf", "signbit", "logical_and", "logical_or", "logical_not",
                    "logical_xor"}
_IN_PLACE = {"add": "__iadd__", "subtract": "__isub__", "multiply": "__imul__", "divide": "__itruediv__"}


def array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """``Tensor.__array_ufunc__``: see the module docstring."""
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if out is not None:
        return _ufunc_with_out(name, ufunc, method, inputs, out, kwargs)
    if method != "__call__":
        raise _refuse(f"{name}.{method}", "only elementwise calls are differentiable (for reductions use "
                                          f"numpy.sum/numpy.max... or the Tensor's methods)")
    if name in _QUESTION_UFUNCS:
        return ufunc(*_data(inputs), **kwargs)
    rule = SUPPORTED_UFUNCS.get(name)
    if rule is None:
        raise _refuse(name, "this ufunc has no differentiable op here (supported: "
                            + ", ".join(sorted(SUPPORTED_UFUNCS)) + ")")
    if kwargs:
        raise _refuse(name, f"the keyword argument(s) {', '.join(sorted(kwargs))} are not supported")
    return rule(*inputs)


def _ufunc_with_out(name: str, ufunc: np.ufunc, method: str, inputs: Any, out: Any, kwargs: Dict) -> Any:
    outs = out if isinstance(out, tuple) else (out,)
    if not any(isinstance(o, Tensor) for o in outs):
        # ``w.data -= lr * w.grad``: arithmetic on plain arrays, nothing to record.
        return getattr(ufunc, method)(*_data(inputs), out=outs, **kwargs)
    target = outs[0]
    if (len(outs) == 1 and method == "__call__" and not kwargs and name in _IN_PLACE and len(inputs) == 2
            and inputs[0] is target):
        return getattr(target, _IN_PLACE[name])(inputs[1])  # np.add(t, 1, out=t) is t += 1
    raise _refuse(name, "out= may be a Tensor only as t += / -= / *= / /= (numpy.add(t, x, out=t)); "
                        "use the in-place operators")


# --- functions ------------------------------------------------------------------------------

def _no_extra(name: str, **given: Any) -> None:
    bad = sorted(k for k, v in given.items() if v is not None)
    if bad:
        raise _refuse(name, f"the argument(s) {', '.join(bad)} are not supported")


def _reduction(name: str, op: Callable) -> Callable:
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
        _no_extra(name, dtype=dtype, out=out, **rest)
        return op(a, axis=axis, keepdims=keepdims)
    return fn


def _dot(a, b, out=None):
    _no_extra("dot", out=out)
    if np.ndim(_data(a)) > 2 or np.ndim(_data(b)) > 2:
        raise _refuse("dot", "only 1-D and 2-D operands are supported (use numpy.matmul for stacks)")
    return ops.matmul(a, b)


def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise _refuse("where", "only the three-argument form where(condition, x, y) is supported")
    return ops.where(_data(condition), x, y)


def _clip(a, a_min=None, a_max=None, out=None, **kw):
    _no_extra("clip", out=out, **kw)
    return ops.clip(a, _data(a_min), _data(a_max))


def _joining(name: str, op: Callable) -> Callable:
    def fn(arrays, axis=0, out=None, dtype=None, casting=None):
        _no_extra(name, out=out, dtype=dtype, casting=casting)
        return op(arrays, axis=axis)
    return fn


def _reshape(a, shape=None, order="C", newshape=None, copy=None):
    if order != "C" or copy is not None:
        raise _refuse("reshape", "only order='C' without copy= is supported")
    return ops.reshape(a, shape if newshape is None else newshape)


SUPPORTED_FUNCTIONS: Dict[str, Callable[..., Any]] = {
    "sum": _reduction("sum", lambda a, **k: ops.sum(a, **k)),
    "mean": _reduction("mean", lambda a, **k: ops.mean(a, **k)),
    "max": _reduction("max", lambda a, **k: ops.max(a, **k)), "amax": _reduction("amax", lambda a, **k: ops.max(a, **k)),
    "min": _reduction("min", lambda a, **k: ops.min(a, **k)), "amin": _reduction("amin", lambda a, **k: ops.min(a, **k)),
    "dot": _dot, "where": _where, "clip": _clip,
    "reshape": _reshape,
    "transpose": lambda a, axes=None: ops.transpose(a) if axes is None else ops.transpose(a, *axes),
    "swapaxes": lambda a, axis1, axis2: ops.swapaxes(a, axis1, axis2),
    "squeeze": lambda a, axis=None: ops.squeeze(a, axis),
    "expand_dims": lambda a, axis: ops.unsqueeze(a, axis),
    "broadcast_to": lambda array, shape, subok=False: ops.broadcast_to(array, shape),
    "concatenate": _joining("concatenate", ops.concatenate), "stack": _joining("stack", ops.stack),
    "argmax": lambda a, axis=None, out=None, keepdims=False: ops.argmax(a, axis=axis, keepdims=keepdims),
    "argmin": lambda a, axis=None, out=None, keepdims=False: ops.argmin(a, axis=axis, keepdims=keepdims),
}
# Questions about a tensor's values or shape, answered from the data (no gradient is involved).
_QUESTIONS = {"shape", "ndim", "size", "allclose", "isclose", "array_equal", "array_equiv", "any", "all",
              "count_nonzero", "nonzero", "result_type", "array2string", "array_repr", "array_str", "copy",
              "iscomplexobj", "isrealobj", "may_share_memory", "shares_memory"}


def array_function(self: Tensor, func: Callable, types: Any, args: Any, kwargs: Dict[str, Any]) -> Any:
    """``Tensor.__array_function__``: see the module docstring."""
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    name = func.__name__
    if name in _QUESTIONS:
        return func(*_data(args), **{k: _data(v) for k, v in kwargs.items()})
    rule = SUPPORTED_FUNCTIONS.get(name)
    if rule is None:
        raise _refuse(name, "this function has no differentiable op here (supported: "
                            + ", ".join(sorted(SUPPORTED_FUNCTIONS)) + ", and the elementwise ufuncs)")
    try:
        return rule(*args, **kwargs)
    except TypeError as e:
        if str(e).startswith("numpy."):
            raise
        raise _refuse(name, f"unsupported arguments ({e})") from None


Tensor.__array_ufunc__ = array_ufunc
Tensor.__array_function__ = array_function
