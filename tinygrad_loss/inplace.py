"""In-place updates of Tensors, with PyTorch's rules, and the version counter that keeps them honest.

``t += x``, ``t -= x``, ``t *= x``, ``t /= x``, ``t.zero_()``, ``t.fill_(v)`` and ``t.copy_(src)`` change
``t`` itself: the same object, the same ``requires_grad``. Which of three things happens depends
on whether the change has to be recorded:

* nothing to record (inside ``no_grad()``, or no tensor involved requires a gradient): the data is
  updated in place. This is how a hand-written loop updates its parameters:
  ``with no_grad(): w -= lr * w.grad``, and how ``w.grad.zero_()`` clears a gradient;
* ``t`` is a leaf that requires a gradient (a parameter): refused with a RuntimeError, because the
  update would have to be part of the graph that ends in the parameter itself;
* otherwise (``t`` computed by ops, e.g. ``h = x @ w; h += b``): recorded. ``t`` becomes the node
  of the update, and its old value lives on, unchanged, in a new tensor that the update's node
  (and every earlier consumer of ``t``) reads.

Every in-place change adds one to ``t._version``. An op records the versions of its inputs when
it runs (``Tensor._saved_versions``; None means every input, and the output, were at version 0),
and ``backward()`` refuses a node whose input or output has changed since: its VJP would read
the new values and return a wrong gradient. This is stricter than PyTorch, which checks only the
tensors an op's VJP reads: here every input counts, because the graph links tensors, not VJPs.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, List

import numpy as np

from . import ops
from .autograd import STATE
from .tensor import Tensor

__all__ = ["bump_version"]

_SLOTS = tuple(s for s in Tensor.__slots__ if s != "__weakref__")


def bump_version(t: Tensor) -> None:
    """Count one in-place change of ``t`` (for code that writes ``t.data`` in place itself), and of
    every tensor that shares its data through ``detach()``."""
    t._version += 1
    _bump_aliases(t)


# ``x.detach()`` shares x's data, so (as in PyTorch) it shares its version counter too: an in-place
# change through either one is seen by the ops that used the other. ``_ALIASES`` maps id(tensor) of
# every tensor that was detached or is a detached copy to the list of weak references of the tensors
# sharing its data (one list per group; Tensors compare elementwise, so no WeakSet/WeakKeyDictionary).
_ALIASES: Dict[int, List["weakref.ref[Tensor]"]] = {}
_plain_detach = Tensor.detach


def _join(group: List["weakref.ref[Tensor]"], t: Tensor) -> None:
    key = id(t)
    group.append(weakref.ref(t, lambda ref: (_ALIASES.pop(key, None), group.remove(ref) if ref in group else None)))
    _ALIASES[key] = group


def detach(self: Tensor) -> Tensor:
    """A new leaf sharing this tensor's data and version counter, cut off from the graph: an in-place
    change of one is an in-place change of the other (backward refuses ops that saw the old values)."""
    t = _plain_detach(self)
    group = _ALIASES.get(id(self))
    if group is None:
        group = []
        _join(group, self)
    _join(group, t)
    return t


def _bump_aliases(t: Tensor) -> None:
    group = _ALIASES.get(id(t)) if _ALIASES else None
    if group is not None:
        for ref in group:
            other = ref()
            if other is not None and other is not t and other._data is t._data:  # still the same storage
                other._version += 1


def _describe(t: Tensor) -> str:
    return f"'{t.name}'" if t.name else f"of shape {t.shape}"


def _refuse_leaf(who: str, t: Tensor) -> RuntimeError:
    return RuntimeError(
        f"{who}: the leaf tensor {_describe(t)} requires grad and is being changed in place outside no_grad(). "
        "The change cannot be recorded in the graph that leads to it. To update a parameter, write the update "
        "inside `with tinygrad_loss.no_grad():` (e.g. `with no_grad(): w -= lr * w.grad`); to compute a new "
        "tensor from it, write `v = w - ...` (out of place)")


def _snapshot(t: Tensor) -> Tensor:
    """A new Tensor object that takes over ``t``'s current value and place in the graph."""
    old = Tensor.__new__(Tensor)
    for s in _SLOTS:
        setattr(old, s, getattr(t, s))
    return old


def _become(t: Tensor, result: Tensor, who: str) -> None:
    """Make ``t`` the node ``result`` (recorded in-place update), one version later."""
    if result.shape != t.shape:
        raise ValueError(f"{who}: the result has shape {result.shape}, but an in-place update must keep the "
                         f"tensor's shape {t.shape}")
    if result.dtype != t.dtype:
        result = ops.astype(result, t.dtype)
    seen = result._saved_versions
    if seen is None:  # make_node records versions only when one is not 0
        seen = tuple((p, p._version) for p in result.parents)
    version = t._version + 1
    t._data, t._op, t._in0, t._in1, t._saved = result._data, result._op, result._in0, result._in1, result._saved
    t.requires_grad, t._scope = result.requires_grad, result._scope
    t._version = version
    # (None, v): the node's own version when it was made (its VJP may read its own value).
    t._saved_versions = tuple(seen) + ((None, version),)


def _recording(t: Tensor, other: Any) -> bool:
    return STATE.grad_enabled and (t.requires_grad or (isinstance(other, Tensor) and other.requires_grad))


def _write(who: str, t: Tensor, compute: Callable[[np.ndarray], np.ndarray]) -> Tensor:
    """Store ``compute(t.data)`` in ``t`` without recording; in the same array when it is ``t``'s own."""
    d = t._data
    new = compute(d)
    if new.shape != d.shape:
        raise ValueError(f"{who}: an operand of this shape would change the tensor's shape {d.shape} to "
                         f"{new.shape}; an in-place update must keep the shape")
    if d.flags.writeable and d.base is None:
        np.copyto(d, new, casting="unsafe")
        _bump_aliases(t)  # a tensor detached from t (or t's source) sees the change
    else:  # a view of another tensor's data (reshape, detach of a view...): never write through it
        t._data = new.astype(d.dtype, copy=True)
    t._version += 1
    return t


def _operand(who: str, x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.data
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: operand of type {type(x).__name__} is not numeric")
    return arr


def _binary_inplace(name: str, symbol: str, op: Callable, ufunc: np.ufunc) -> Callable:
    who = f"Tensor {symbol}"

    def method(self: Tensor, other: Any) -> Tensor:
        if _recording(self, other):
            if self._op is None and self.requires_grad:
                raise _refuse_leaf(who, self)
            _become(self, op(_snapshot(self), other), who)
            return self
        arr = _operand(who, other)
        return _write(who, self, lambda d: ufunc(d, arr))

    method.__name__ = name
    method.__doc__ = f"``t {symbol} x`` in place (see :mod:`tinygrad_loss.inplace`)."
    return method


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value`` (a number or one-element tensor), in place; returns the tensor."""
    if np.size(_operand("fill_", value)) != 1:
        raise ValueError(f"fill_: value must be a number or a one-element tensor, got shape {np.shape(value)}")
    if _recording(self, value):
        if self._op is None and self.requires_grad:
            raise _refuse_leaf("fill_", self)
        # The new value does not depend on the old one: the old one gets a zero gradient.
        _become(self, ops.add(ops.mul(_snapshot(self), 0.0), ops.reshape(value, ()) if isinstance(value, Tensor)
                              else float(value)), "fill_")
        return self
    v = _operand("fill_", value).reshape(())
    return _write("fill_", self, lambda d: np.full_like(d, v))


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 in place (``w.grad.zero_()``); returns the tensor."""
    return fill_(self, 0.0)


def copy_(self: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to this tensor's shape, cast to its dtype) into it, in place; returns it.
    When recorded, the gradient flows to ``src``."""
    arr = _operand("copy_", src)
    try:
        shape = np.broadcast_shapes(arr.shape, self.shape)
    except ValueError:
        shape = None
    if shape != self.shape:
        raise ValueError(f"copy_: src of shape {arr.shape} cannot be broadcast to the tensor's shape {self.shape}")
    if _recording(self, src):
        if self._op is None and self.requires_grad:
            raise _refuse_leaf("copy_", self)
        result = ops.mul(ops.broadcast_to(src, self.shape), 1.0)  # a node of its own, even for same shape
        _become(self, result, "copy_")
        return self
    return _write("copy_", self, lambda d: np.broadcast_to(arr, d.shape))


def _bind() -> None:
    T = Tensor
    for name, symbol, op, ufunc in (("__iadd__", "+=", ops.add, np.add), ("__isub__", "-=", ops.sub, np.subtract),
                                    ("__imul__", "*=", ops.mul, np.multiply),
                                    ("__itruediv__", "/=", ops.div, np.true_divide)):
        setattr(T, name, _binary_inplace(name, symbol, op, ufunc))
    T.zero_, T.fill_, T.copy_ = zero_, fill_, copy_
    T.detach = detach


_bind()
