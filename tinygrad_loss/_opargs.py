"""Argument handling of the ops whose signature is their own (``ops.py``'s ``custom`` entries).

Each ``*_args`` function takes the public function's arguments, checks them (errors name the
op and the argument) and returns ``(parent tensors, saved values by name)``; the saved values
are what the op's forward takes besides the parents' arrays and what its VJPs read back. A
function may instead return a Tensor, which the public function returns as is (a reshape to the
shape the tensor already has makes no node).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from . import _validate as V
from ._opkit import broadcast_shape, lift, norm_axes, pair
from .tensor import Tensor

Parents = Tuple[Tensor, ...]
Prepared = Tuple[Parents, Dict[str, Any]]


def clip_args(a: Any, lo: Optional[float] = None, hi: Optional[float] = None) -> Prepared:
    """Clamp to ``[lo, hi]``; the gradient passes where ``lo <= a <= hi``."""
    a = lift(a, op="clip")
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi")
    lo = V.number("clip", "lo", lo, allow_none=True, finite=False)
    hi = V.number("clip", "hi", hi, allow_none=True, finite=False)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
    return (a,), {"lo": lo, "hi": hi}


def astype_args(a: Any, dtype: Any) -> Any:
    """Cast to another float dtype (differentiable: the gradient is cast back)."""
    a = lift(a, op="astype")
    dt = V.dtype("astype", dtype)
    if dt == a.dtype:
        return a
    return (a,), {"dtype": dt}


def where_args(cond: Any, a: Any, b: Any) -> Prepared:
    """``a`` where ``cond`` is true, else ``b`` (all three broadcast together)."""
    c = cond._data if isinstance(cond, Tensor) else V.real_array("where", cond, "cond")
    if c.dtype != bool:
        c = c != 0
    a, b = pair(a, b, "where")
    shape = broadcast_shape("where", c.shape, a._data.shape, b._data.shape)
    if c.shape != shape:
        c = np.broadcast_to(c, shape)
    return (a, b), {"cond": c}


def matmul_args(a: Any, b: Any) -> Prepared:
    """Matrix product ``a @ b`` with NumPy's rules: 1-D operands, batches, broadcast batch axes."""
    a, b = pair(a, b, "matmul")
    sa, sb = a._data.shape, b._data.shape
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
    return (a, b), {}


def shape_arg(op: str, shape: Tuple[Any, ...], allow_infer: bool = False) -> Tuple[int, ...]:
    """The shape given as separate ints ``f(a, 2, 3)`` or as one sequence ``f(a, (2, 3))``, checked."""
    if len(shape) == 1 and not V.is_int(shape[0]):
        shape = shape[0]
    return V.shape(op, shape, allow_infer=allow_infer)


def reshape_args(a: Any, *shape: Any) -> Any:
    """Same data, new shape (one dimension may be -1)."""
    a = lift(a, op="reshape")
    shape = shape_arg("reshape", shape, allow_infer=True)
    if shape == a._data.shape:
        return a
    known = math.prod(n for n in shape if n != -1)
    if (known != a._data.size) if -1 not in shape else (known == 0 or a._data.size % known):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) into shape "
                         f"{shape}")
    return (a,), {"shape": shape}  # the forward explains a shape that does not fit


def permute_args(a: Any, *axes: Any) -> Prepared:
    """Reorder the axes: output axis i is input axis ``axes[i]``."""
    a = lift(a, op="permute")
    if len(axes) == 1 and not V.is_int(axes[0]):
        axes = axes[0]
    if not isinstance(axes, (tuple, list)):
        raise TypeError(f"permute: axes must be ints or a tuple of ints, got {V.show(axes)}")
    nd = a._data.ndim
    axes = tuple([V.axis("permute", ax, nd, "axes") for ax in axes])
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"permute: {axes} is not a permutation of the axes of a tensor of shape {a.shape}")
    return (a,), {"axes": axes}


def expand_args(a: Any, *shape: Any) -> Any:
    """Broadcast to ``shape`` (NumPy rules); the gradient is summed back by :func:`unbroadcast`."""
    a = lift(a, op="expand")
    shape = shape_arg("expand", shape)
    if shape == a._data.shape:
        return a
    if broadcast_shape("expand", a.shape, shape) != shape:
        raise ValueError(f"expand: a tensor of shape {a.shape} cannot be broadcast to shape {shape}")
    return (a,), {"shape": shape}


def _index_array(x: Any) -> Any:
    """Tensor indices hold floats (the default dtype); use them as integers when they are whole."""
    if isinstance(x, Tensor):
        x = x._data
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


def getitem_args(a: Any, idx: Any) -> Prepared:
    """``a[idx]``: ints, slices, ``None``, ``...``, integer arrays and boolean masks, like NumPy."""
    a = lift(a, op="getitem")
    return (a,), {"index": _norm_index(idx)}  # the forward explains an index that does not fit


def scatter_add_args(g: Any, shape: Tuple[int, ...], idx: Any) -> Prepared:
    """Zeros of ``shape`` with ``g`` added at ``idx`` (repeated indices add up)."""
    g = lift(g, op="scatter_add")
    shape = V.shape("scatter_add", shape)
    try:  # where idx lands in an array of `shape` (a zero-strided array: nothing allocated but the result)
        target = np.broadcast_to(np.empty((), dtype=bool), shape)[_norm_index(idx)]
        np.broadcast_shapes(g._data.shape, np.shape(target))
    except (IndexError, TypeError, ValueError, OverflowError) as e:
        raise IndexError(f"scatter_add: idx {V.show(idx)} does not select a place for a gradient of shape "
                         f"{g.shape} in shape {shape}: {e}") from None
    return (g,), {"shape": shape, "index": idx}


def is_basic_index(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


def _many(name: str, tensors: Sequence[Any]) -> Parents:
    if isinstance(tensors, (Tensor, str, bytes, set, frozenset, dict)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{name}: tensors must be a list of tensors, got {V.show(tensors)}")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty list of tensors")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return tuple(lift(t, first, name) for t in tensors)


def concatenate_args(tensors: Sequence[Any], axis: int = 0) -> Prepared:
    """Join tensors along an existing axis."""
    ts = _many("concatenate", tensors)
    nd = ts[0].ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    ax = V.axis("concatenate", axis, nd)
    for t in ts:
        if t.ndim != nd or t.shape[:ax] + t.shape[ax + 1:] != ts[0].shape[:ax] + ts[0].shape[ax + 1:]:
            shapes = ", ".join(str(x.shape) for x in ts)
            raise ValueError(f"concatenate: shapes {shapes} must match except along axis {ax}")
    offsets = [0]
    for t in ts:
        offsets.append(offsets[-1] + t.shape[ax])
    return ts, {"axis": ax, "offsets": tuple(offsets)}


def stack_args(tensors: Sequence[Any], axis: int = 0) -> Prepared:
    """Join same-shaped tensors along a new axis."""
    ts = _many("stack", tensors)
    if any(t.shape != ts[0].shape for t in ts):
        raise ValueError("stack: all tensors must have the same shape, got " + ", ".join(str(t.shape) for t in ts))
    return ts, {"axis": V.axis("stack", axis, ts[0].ndim + 1)}


def relu_grad_args(g: Any, a: Any) -> Prepared:
    """``g`` where ``a > 0``, else 0: relu's gradient rule (``a`` is saved, not a parent: its derivative is 0)."""
    g = lift(g, op="relu_grad")
    x = a._data if isinstance(a, Tensor) else V.real_array("relu_grad", a, "a")
    broadcast_shape("relu_grad", g._data.shape, x.shape)
    return (g,), {"x": x}


def div_grad_b_args(g: Any, y: Any, b: Any) -> Prepared:
    """``-g y / b``: div's gradient rule for its divisor, given its output ``y`` (all three broadcast)."""
    g, y = pair(g, y, "div_grad_b")
    b = lift(b, g, "div_grad_b")
    broadcast_shape("div_grad_b", g._data.shape, y._data.shape, b._data.shape)
    return (g, y, b), None
