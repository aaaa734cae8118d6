"""Argument checks shared by every public entry point.

Each validator gets the public function's name (``who``) and the argument's name (``what``),
returns the value normalized (an int, a float, a tuple, a dtype, an ndarray) and otherwise
raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value) whose
message names both: ``"Adam: epsilon must be a finite number >= 0, got nan"``.

Errors are raised here, from our own frame (never from inside NumPy), and nothing here imports
the rest of the package, so every module may use it. State-changing methods call these for
every argument first and only then change anything (all or nothing).
"""
from __future__ import annotations

import math
import numbers
import operator
import os
from typing import Any, Iterable, Optional, Tuple

import numpy as np

__all__ = ["show", "is_int", "is_real", "number", "integer", "boolean", "string", "path", "shape", "axes", "axis", "dtype",
           "real_array", "callable_or_none", "renamed", "MAX_BYTES"]

#: the largest array NumPy can address; a shape asking for more is refused up front
MAX_BYTES = np.iinfo(np.intp).max


def show(x: Any, limit: int = 60) -> str:
    """A short ``repr`` of a user value for an error message."""
    try:
        text = repr(x)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = f"<{type(x).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def is_int(x: Any) -> bool:
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, (bool, np.bool_))


def is_real(x: Any) -> bool:
    return isinstance(x, (numbers.Real, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _range_text(lo: Optional[float], hi: Optional[float], lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi}"
    return ""


def number(who: str, what: str, x: Any, lo: Optional[float] = None, hi: Optional[float] = None,
           lo_open: bool = False, hi_open: bool = False, allow_none: bool = False, finite: bool = True
           ) -> Optional[float]:
    """A real number (not a bool) in the given range, as a float; finite unless ``finite=False``
    (then only NaN is refused: ``clip(x, 0, inf)`` is meaningful)."""
    if x is None and allow_none:
        return None
    rng = _range_text(lo, hi, lo_open, hi_open)
    wanted = f"a {'finite ' if finite else ''}number {rng}".rstrip() + (" or None" if allow_none else "")
    if not is_real(x):
        raise TypeError(f"{who}: {what} must be {wanted}, got {show(x)} of type {type(x).__name__}")
    v = float(x)
    if math.isnan(v) or (finite and math.isinf(v)) or (lo is not None and (v < lo or (lo_open and v == lo))) or (
            hi is not None and (v > hi or (hi_open and v == hi))):
        raise ValueError(f"{who}: {what} must be {wanted}, got {show(x)}")
    return v


def integer(who: str, what: str, x: Any, lo: Optional[int] = None, hi: Optional[int] = None,
            allow_none: bool = False) -> Optional[int]:
    """A Python or NumPy integer (not a bool, not a float such as 2.0) in ``[lo, hi]``, as an int."""
    if x is None and allow_none:
        return None
    wanted = f"an int {_range_text(lo, hi, False, False)}".rstrip() + (" or None" if allow_none else "")
    if not is_int(x):
        raise TypeError(f"{who}: {what} must be {wanted}, got {show(x)} of type {type(x).__name__}")
    v = operator.index(x)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{who}: {what} must be {wanted}, got {v}")
    return v


def boolean(who: str, what: str, x: Any) -> bool:
    """``True`` or ``False`` (or a NumPy bool); ``"no"``, ``1`` and ``None`` are refused."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{who}: {what} must be True or False, got {show(x)} of type {type(x).__name__}")
    return bool(x)


def string(who: str, what: str, x: Any, choices: Optional[Iterable[str]] = None, allow_none: bool = False
           ) -> Optional[str]:
    """A ``str`` (one of ``choices`` when given)."""
    if x is None and allow_none:
        return None
    if not isinstance(x, str):
        raise TypeError(f"{who}: {what} must be a string{' or None' if allow_none else ''}, got {show(x)} of "
                        f"type {type(x).__name__}")
    if choices is not None and x not in choices:
        raise ValueError(f"{who}: {what} must be one of {', '.join(map(repr, choices))}; got {x!r}")
    return x


def path(who: str, what: str, x: Any, suffix: Optional[str] = None) -> str:
    """A file name (``str`` or ``os.PathLike``) as a ``str``, ending in ``suffix`` when given."""
    try:
        p = os.fspath(x)
    except TypeError:
        raise TypeError(f"{who}: {what} must be a file name (str or os.PathLike), got {show(x)} of type "
                        f"{type(x).__name__}") from None
    if not isinstance(p, str):
        raise TypeError(f"{who}: {what} must be a str file name, got {show(x)}")
    if not p or "\0" in p:
        raise ValueError(f"{who}: {what} must be a non-empty file name without NUL bytes, got {p!r}")
    if suffix is not None and not p.endswith(suffix):
        raise ValueError(f"{who}: {what} must end in {suffix}, got {p!r}")
    return p


def shape(who: str, x: Any, what: str = "shape", allow_infer: bool = False, itemsize: int = 8) -> Tuple[int, ...]:
    """An int or a sequence of ints, each >= 0 (or one -1 when ``allow_infer``), as a tuple;
    refused when the array it describes would be larger than NumPy can address."""
    dims = (x,) if is_int(x) else x
    if isinstance(dims, (str, bytes)) or not isinstance(dims, (tuple, list)):
        raise TypeError(f"{who}: {what} must be an int or a tuple of ints, got {show(x)} of type "
                        f"{type(x).__name__}")
    out = []
    for n in dims:
        if not is_int(n):
            raise TypeError(f"{who}: {what} must hold ints, got {show(x)} (an element of type {type(n).__name__})")
        out.append(operator.index(n))
    smallest = -1 if allow_infer else 0
    if any(n < smallest for n in out) or out.count(-1) > 1:
        rule = "sizes >= 0 (one may be -1)" if allow_infer else "sizes >= 0"
        raise ValueError(f"{who}: {what} must have {rule}, got {tuple(out)}")
    if math.prod(n for n in out if n > 0) * itemsize > MAX_BYTES:
        raise ValueError(f"{who}: {what} {tuple(out)} is too large: more elements than an array can hold")
    return tuple(out)


def axes(who: str, x: Any, ndim: int, what: str = "axis") -> Tuple[int, ...]:
    """``None`` (every axis), an int or a tuple/list of distinct ints in ``[-ndim, ndim)``, as a
    sorted tuple of non-negative axes. A 0-d tensor accepts axis 0 and -1 (as PyTorch does)."""
    if x is None:
        return tuple(range(ndim))
    many = isinstance(x, (tuple, list))
    items = tuple(x) if many else (x,)
    bound = max(ndim, 1)
    out = []
    for ax in items:
        if not is_int(ax):
            raise TypeError(f"{who}: {what} must be an int, a tuple of ints or None, got {show(x)}")
        ax = operator.index(ax)
        if not -bound <= ax < bound:
            raise ValueError(f"{who}: {what} {ax} is out of range for a tensor with {ndim} dimension(s)")
        out.append(ax % bound)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated {what} in {show(x)}")
    return tuple(sorted(out)) if ndim else ()


def axis(who: str, x: Any, ndim: int, what: str = "axis") -> int:
    """One int in ``[-ndim, ndim)`` as a non-negative axis (``ndim`` is the result's rank for
    ops that insert an axis, such as ``stack`` and ``unsqueeze``)."""
    if type(x) is int and -ndim <= x < ndim:  # the usual call (softmax's axis=-1): no ABC type test
        return x % ndim
    if not is_int(x):
        raise TypeError(f"{who}: {what} must be an int, got {show(x)} of type {type(x).__name__}")
    ax = operator.index(x)
    if not -max(ndim, 1) <= ax < max(ndim, 1):
        raise ValueError(f"{who}: {what} {ax} is out of range for a tensor with {ndim} dimension(s)")
    return ax % max(ndim, 1)


def dtype(who: str, x: Any, what: str = "dtype", kinds: str = "f", allow_none: bool = False) -> Optional[np.dtype]:
    """A NumPy dtype of one of ``kinds`` (``"f"``: floating). ``None`` is refused unless allowed
    (``np.dtype(None)`` would silently mean float64)."""
    if x is None:
        if allow_none:
            return None
        raise TypeError(f"{who}: {what} must be a dtype such as np.float32, got None")
    try:
        dt = np.dtype(x)
    except (TypeError, ValueError, SyntaxError):
        raise TypeError(f"{who}: {what} must be a dtype such as np.float32, got {show(x)}") from None
    if dt.kind not in kinds:
        names = {"f": "float", "b": "bool", "i": "integer", "u": "unsigned"}
        allowed = " or ".join(names.get(k, k) for k in kinds)
        raise TypeError(f"{who}: {what} must be a {allowed} dtype, got {dt}")
    return dt


_KIND_NAMES = {"O": "objects", "U": "strings", "S": "bytes", "c": "complex numbers", "b": "booleans",
               "M": "dates", "m": "time deltas", "V": "raw records"}


def real_array(who: str, x: Any, what: str = "input", allow_bool: bool = True, finite: bool = False,
               copy: bool = False) -> np.ndarray:
    """``x`` (a Tensor, an array, a number or a regular nested list) as an ndarray of real numbers.

    Refused with a TypeError naming ``who`` and ``what``: None, strings (even ``"1.5"``), objects,
    complex numbers, ragged lists and (unless ``allow_bool``) booleans. With ``finite=True`` a NaN or
    infinity is a ValueError giving its index."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{who}: {what} must be numeric (real numbers), got {show(x)} of type {type(x).__name__}")
    try:
        arr = np.array(x, copy=True) if copy else np.asarray(x)
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(f"{who}: {what} must be numeric (real numbers) in a regular (non-ragged) shape, got {show(x)}: "
                        f"{e}") from None
    kinds = "biuf" if allow_bool else "iuf"
    if arr.dtype.kind not in kinds:
        got = _KIND_NAMES.get(arr.dtype.kind, f"dtype {arr.dtype}")
        raise TypeError(f"{who}: {what} must be numeric (real numbers), got an array of {got} ({show(x)})")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{who}: {what} contains a non-finite value ({arr[idx].item()!r} at index {idx})")
    return arr


def callable_or_none(who: str, what: str, x: Any) -> Any:
    """A function (or None)."""
    if x is not None and not callable(x):
        raise TypeError(f"{who}: {what} must be a function or None, got {show(x)} of type {type(x).__name__}")
    return x


def renamed(err: BaseException, who: str, delegates: Tuple[str, ...], args: Optional[dict] = None) -> BaseException:
    """``err``, raised by a function ``who`` delegates to, as ``who``'s own error: the message says
    ``"who: ..."`` instead of ``"delegate: ..."`` (and the delegate's argument names in ``args`` are
    replaced by the caller's), so the user reads the name of the function they called.

    >>> try: ...  # return permute(a, *axes)
    ... except (TypeError, ValueError) as e: raise renamed(e, "transpose", ("permute",)) from None
    """
    msg = str(err)
    for d in delegates:
        if msg.startswith(d + ": "):
            rest = msg[len(d) + 2:]
            for old, new in (args or {}).items():
                if rest.startswith(old + " "):
                    rest = new + rest[len(old):]
            try:
                return type(err)(f"{who}: {rest}")
            except Exception:  # an exception type that wants other arguments keeps its message
                return err
    return err
