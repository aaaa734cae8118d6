"""The Tensor: a NumPy array plus what reverse-mode autodiff needs to know about it.

A Tensor made by an op is also a node of the computation graph. It keeps exactly
the op that made it, its parent Tensors, whatever the op's VJP needs saved, and the
name scope it was created under (see ``DESIGN.md``); nothing else is hidden on it.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _validate as V

__all__ = ["Tensor", "set_default_dtype", "get_default_dtype", "GraphReleasedError", "RELEASED"]

_DEFAULT_DTYPE = np.dtype(np.float32)


def set_default_dtype(dtype: Any) -> None:
    """Set the float dtype that Python numbers, lists and integer arrays become (float32 at start)."""
    global _DEFAULT_DTYPE
    _DEFAULT_DTYPE = V.dtype("set_default_dtype", dtype)


def get_default_dtype() -> np.dtype:
    """The float dtype new Tensors get when their data does not already carry a float dtype."""
    return _DEFAULT_DTYPE


def numeric_array(data: Any, who: str, what: str = "input") -> np.ndarray:
    """``data`` (a Tensor, NumPy array, number or nested list) as a real-numeric ndarray (no copy when
    possible), or a TypeError that names the operation ``who`` and the argument ``what``."""
    if isinstance(data, Tensor):
        return data.data
    return V.real_array(who, data, what)


try:  # the C function behind np.count_nonzero, without its Python wrapper
    from numpy._core.multiarray import count_nonzero as _count_nonzero
except ImportError:  # NumPy 1.x
    _count_nonzero = np.count_nonzero
_isfinite = np.isfinite


def all_finite(arr: np.ndarray) -> bool:
    """Whether every entry of ``arr`` is finite: counting the finite entries (C calls only) costs half
    of ``np.isfinite(arr).all()`` on the small arrays of a training step, where it runs every step."""
    return _count_nonzero(_isfinite(arr)) == arr.size


def check_finite(who: str, what: str, arr: np.ndarray) -> None:
    """Raise a ValueError naming ``who``, ``what`` and the first NaN/inf element of ``arr`` if there is one."""
    if arr.dtype.kind == "f" and not all_finite(arr):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{who}: {what} contains a non-finite value ({arr[idx].item()!r} at index {idx})")


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to a float ndarray: float arrays keep their dtype, everything else
    (Python numbers, lists, int/bool arrays) becomes the default dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dt = V.dtype("Tensor", dtype, kinds="fb")
        return np.array(V.real_array("Tensor", data, "data"), dtype=dt)
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f":
        return np.array(data)
    # Python data and int/bool arrays (float arrays returned above) become the default dtype
    return V.real_array("Tensor", data, "data").astype(_DEFAULT_DTYPE)


class _Tag:
    """A tensor's scope together with what few tensors have: a ``name``, the versions its op saw
    (``Tensor._tag`` is the bare scope string otherwise). Never changed once made: a tensor that
    gets a new name gets a new tag (``inplace`` copies tags from one tensor to another)."""

    __slots__ = ("name", "scope", "saved_versions")

    def __init__(self, name: Optional[str], scope: str, saved_versions: Optional[tuple]):
        self.name = name
        self.scope = scope
        self.saved_versions = saved_versions


class GraphReleasedError(RuntimeError):
    """Raised when backward runs through a graph whose intermediates were already released."""


# Stored in a node's ``_saved`` once backward (without retain_graph) has used and released them.
RELEASED = object()


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: Python numbers, lists and
    integer arrays become the default dtype (float32 unless changed with
    :func:`set_default_dtype`); float arrays keep their dtype. The data is copied.
    """

    # What a node keeps (DESIGN.md): ``_op`` (the registry entry, None for a leaf), its parents,
    # ``_saved`` (what the op's VJPs need besides the parents and the output, by name: a dict, or
    # None; RELEASED after a backward without retain_graph) and its scope. Version counters:
    # ``_version`` counts in-place changes of ``data``; ``_saved_versions`` is None (the op saw its
    # inputs, and made its output, at version 0) or the ``((tensor, version), ...)`` pairs it saw
    # (``None`` in place of a tensor: the node itself), checked by the engine before the VJPs run
    # (autograd._check_alive; see tinygrad_loss/inplace.py).
    # ``_pending`` is the engine's: the gradient being summed while a backward pass runs (else None).
    # ``_tag`` holds what most nodes share or lack: the scope string; a :class:`_Tag` when the tensor
    # also has a ``name`` or ``_saved_versions`` (properties below). One slot instead of three: a
    # node is 16 bytes smaller and its creation stores two attributes fewer (docs/performance.md).
    # ``_grad`` is ``grad``'s slot: None, a Tensor, or the bare array backward() stored for an
    # intermediate, wrapped into a Tensor the first time ``grad`` is read (most never are).
    # The parents (``parents``, a tuple) are kept in two slots, without a tuple of their own for the
    # usual one or two: ``_in0`` is the first parent and ``_in1`` the second, or None for a node with
    # one parent; a node with none (a leaf) or three or more has None in ``_in0`` and the tuple of its
    # parents in ``_in1``. (Tests for None are the cheapest there are, and the engine's.) A tuple
    # per node was a second object for CPython's cyclic collector to track and scan (it holds
    # Tensors) and 48-56 bytes; see docs/performance.md, fifth pass.
    __slots__ = ("_data", "_grad", "requires_grad", "_op", "_in0", "_in1", "_saved", "_tag", "_version", "_pending",
                 "__weakref__")
    # ``data`` is a property over the ``_data`` slot (its setter checks what is assigned); the op
    # front-ends and the engine read ``_data`` directly. NumPy calls on Tensors are answered by
    # ``__array_ufunc__``/``__array_function__`` (tinygrad_loss/numpy_interop.py).

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: Optional[str] = None):
        requires_grad = V.boolean("Tensor", "requires_grad", requires_grad)
        name = V.string("Tensor", "name", name, allow_none=True)
        self._data = _to_array(data, dtype)
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(f"Tensor: only float tensors can require gradients, got dtype {self._data.dtype}")
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._op = self._in0 = None
        self._in1: Any = ()
        self._saved = None
        self._tag = "" if name is None else _Tag(name, "", None)
        self._version = 0
        self._pending = None

    @staticmethod
    def _wrap(data: np.ndarray) -> "Tensor":
        """A leaf around ``data`` as is (no copy, no dtype conversion): for internal use."""
        t = Tensor.__new__(Tensor)
        t._data = data
        t._grad = t._op = t._saved = t._pending = t._in0 = None
        t.requires_grad = False
        t._in1 = ()
        t._tag = ""
        t._version = 0
        return t

    # --- plain properties -------------------------------------------------------------
    @property
    def grad(self) -> Optional["Tensor"]:
        """The gradient accumulated by ``backward()`` (None before any): a Tensor of this tensor's shape."""
        g = self._grad
        if g.__class__ is np.ndarray:  # an intermediate's gradient, stored bare by backward(): wrap it once
            if g.dtype != self._data.dtype:  # (stored as its VJPs made it: the cast is made here, when read)
                g = g.astype(self._data.dtype)
            g = self._grad = Tensor._wrap(g)
        return g

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        self._grad = value

    @property
    def data(self) -> np.ndarray:
        """The array of values. Assigning it (``w.data = w.data - lr * w.grad``) is not recorded: it
        takes an array, or a Tensor's values, of this tensor's shape (cast to its dtype), and counts
        as an in-place change (see :mod:`tinygrad_loss.inplace`)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if value is not self._data:  # ``w.data -= ...`` changed the array itself: nothing to check
            self._data = _new_data(self, value)
        self._version += 1

    @property
    def shape(self) -> Tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> "_Size":
        """The number of elements (NumPy's ``a.size``); called, the shape (PyTorch's ``t.size()``,
        ``t.size(dim)``)."""
        return _Size(self._data.shape)

    def view(self, *shape: Any) -> "Tensor":
        """PyTorch's name for :meth:`reshape` (``t.view(-1)``, ``t.view(2, 3)``)."""
        return self.reshape(*shape)

    def __format__(self, spec: str) -> str:
        # f"{loss:.4f}": a one-element tensor formats like its number.
        if not spec:
            return str(self)
        if self._data.size != 1:
            raise TypeError(f"unsupported format string {spec!r} for a Tensor of shape {self.shape}: only "
                            "one-element tensors format like a number (format t.numpy() or t.tolist() instead)")
        return format(self._data.item(), spec)

    @property
    def op(self) -> Optional[str]:
        """Name of the op that produced this tensor, or None for a leaf."""
        return None if self._op is None else self._op.name

    @property
    def parents(self) -> Tuple["Tensor", ...]:
        """The tensors this one was computed from (empty for a leaf)."""
        first, second = self._in0, self._in1
        if first is None:
            return second
        if second is None:
            return (first,)
        return (first, second)

    _parents = parents

    @_parents.setter
    def _parents(self, parents: Tuple["Tensor", ...]) -> None:
        self._in0, self._in1 = split_parents(parents)

    @property
    def scope(self) -> str:
        """The name scope (``"Dense/MeanSquaredError"``...) active when this tensor was made."""
        tag = self._tag
        return tag if tag.__class__ is str else tag.scope

    _scope = scope

    @_scope.setter
    def _scope(self, scope: str) -> None:
        self._retag(self.name, scope, self._saved_versions)

    def _retag(self, name: Optional[str], scope: str, seen: Optional[tuple]) -> None:
        """One slot for three fields: the bare scope string unless a name or saved versions need a _Tag."""
        self._tag = scope if name is None and seen is None else _Tag(name, scope, seen)

    @property
    def name(self) -> Optional[str]:
        """An optional label (``"w"``, ``"Dense/kernel"``), shown in pictures and error messages."""
        tag = self._tag
        return None if tag.__class__ is str else tag.name

    @name.setter
    def name(self, name: Optional[str]) -> None:
        self._retag(name, self._scope, self._saved_versions)

    @property
    def _saved_versions(self) -> Optional[tuple]:
        tag = self._tag
        return None if tag.__class__ is str else tag.saved_versions

    @_saved_versions.setter
    def _saved_versions(self, seen: Optional[tuple]) -> None:
        self._retag(self.name, self._scope, seen)

    @property
    def saved(self) -> Optional[Dict[str, Any]]:
        """What this node's op saved for its VJPs, by name (``{"axes": (1,), "keepdims": False}``), or
        None. Raises :class:`GraphReleasedError` once a backward pass has released it."""
        if self._saved is RELEASED:
            raise GraphReleasedError(
                f"the values saved by '{self._op.name}' (scope {self._scope or '-'}) were released by "
                "backward(); pass retain_graph=True to keep them")
        return self._saved

    @property
    def is_leaf(self) -> bool:
        """True when no recorded op produced this tensor (inputs, constants, parameters)."""
        return self._op is None

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(len(self.data)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # np.asarray(t) gives the data (not an object array holding the Tensor).
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut off from the graph."""
        t = Tensor._wrap(self.data)
        t.name = self.name
        return t

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        flag = V.boolean("requires_grad_", "flag", flag)
        if self._op is not None and not flag and self.requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; use detach()")
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only float tensors can require gradients, got {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``grad`` to None)."""
        self.grad = None

    def backward(self, gradient: Any = None, retain_graph: Optional[bool] = None, create_graph: bool = False,
                 observer: Any = None, intermediate_grads: bool = True) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every tensor that requires a gradient
        (see :func:`tinygrad_loss.backward` for the arguments)."""
        global _engine_backward
        if _engine_backward is None:  # autograd imports this module: bound on first use, not per call
            from .autograd import backward as _engine_backward
        _engine_backward(self, gradient, retain_graph, create_graph, observer, intermediate_grads)

    def draw(self, **options):
        """Draw the graph that produced this tensor (see :func:`tinygrad_loss.draw`)."""
        from .viz import draw

        return draw(self, **options)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20, edgeitems=2, prefix="Tensor(")
        extra = []
        if self.data.dtype != _DEFAULT_DTYPE:
            extra.append(f"dtype={self.data.dtype}")
        if self.requires_grad:
            extra.append("requires_grad=True")
        if self._op is not None:
            extra.append(f"op={self._op.name}")
        if self.name:
            extra.append(f"name={self.name!r}")
        return "Tensor(" + body + "".join(", " + e for e in extra) + ")"

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any()/.all() on .numpy()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    # Hashed by identity, in C (sets of tensors, as the engine's walk keeps, call no Python code).
    __hash__ = object.__hash__

    # Operators and op methods (exp, sum, astype...) are bound from the op registry (ops.py / _opkit.py).


_engine_backward = None  # autograd.backward, once Tensor.backward has run


class _Constant(Tensor):
    """A Python number an op lifted to a Tensor (the 0.5 of ``y * 0.5``). ``_opkit.lift`` keeps one per
    (number, type, dtype) and every op that uses that number shares it, so it is read-only: its array
    is not writeable, it never requires a gradient and has no name, and in-place updates are refused.
    The refusals are in ``__setattr__``, not properties: reading ``requires_grad`` (every op and the
    backward walk do, per parent) stays a plain slot read."""

    __slots__ = ()

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr == "requires_grad" and value:
            raise _refuse_constant(self, "requires_grad_", "cannot require a gradient")
        if attr == "name" and value is not None:
            raise _refuse_constant(self, "name", "cannot be named")
        if attr == "data":
            raise _refuse_constant(self, "Tensor.data", "is read-only")
        _set_attr(self, attr, value)

    def _in_place(self, *args: Any) -> None:
        raise _refuse_constant(self, "in-place update", "is read-only")

    __iadd__ = __isub__ = __imul__ = __itruediv__ = zero_ = fill_ = copy_ = _in_place


_set_attr = object.__setattr__


def _refuse_constant(t: Tensor, who: str, what: str) -> RuntimeError:
    return RuntimeError(f"{who}: this tensor is the number {t._data.item()!r} that an op turned into a constant; "
                        f"it is shared by every op that uses the same number, so it {what}. Make a Tensor of "
                        "your own (Tensor(value, requires_grad=...)) to use instead")


def constant(arr: np.ndarray) -> Tensor:
    """A read-only leaf around ``arr`` (made not writeable), for a number an op lifts (see :class:`_Constant`)."""
    arr.flags.writeable = False
    t = _Constant.__new__(_Constant)
    t._data = arr
    t._grad = t._op = t._saved = t._pending = t._in0 = None
    t.requires_grad = False
    t._in1 = ()
    t._tag = ""
    t._version = 0
    return t


def split_parents(parents: Tuple[Tensor, ...]) -> Tuple[Optional[Tensor], Any]:
    """A node's parents as its two slots ``(_in0, _in1)`` (see :class:`Tensor`)."""
    n = len(parents)
    if n == 1:
        return parents[0], None
    if n == 2:
        return parents
    return None, tuple(parents)


def is_lifted_constant(t: Tensor) -> bool:
    """Whether ``t`` is a number an op lifted (shared by every op that uses it; pictures draw it per use)."""
    return type(t) is _Constant


class _Size(int):
    """``t.size``: the number of elements, which can also be called like PyTorch's ``t.size()``."""

    def __new__(cls, shape: Tuple[int, ...]) -> "_Size":
        n = 1
        for d in shape:
            n *= d
        obj = super().__new__(cls, n)
        obj.shape = shape
        return obj

    def __call__(self, dim: Optional[int] = None) -> Any:
        if dim is None:
            return self.shape
        if not isinstance(dim, (int, np.integer)) or not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(f"size: dim {dim!r} is out of range for a tensor with {len(self.shape)} dimension(s)")
        return self.shape[dim]


def _new_data(t: Tensor, value: Any) -> np.ndarray:
    """``value`` as the new ``t.data``: same shape, ``t``'s dtype; a TypeError/ValueError otherwise."""
    arr = value._data if isinstance(value, Tensor) else value
    if not isinstance(arr, np.ndarray):
        try:
            arr = np.asarray(arr)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Tensor.data: expected an array of numbers, got {type(value).__name__} ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor.data: expected an array of numbers, got {type(value).__name__} of dtype {arr.dtype}")
    if arr.shape != t._data.shape:
        raise ValueError(f"Tensor.data: the new value has shape {arr.shape} but the tensor has shape {t._data.shape}; "
                         "assign an array of the same shape (make a new Tensor for another shape)")
    return arr if arr.dtype == t._data.dtype else arr.astype(t._data.dtype)
