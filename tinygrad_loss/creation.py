"""Tensor constructors and the project's seedable random generator.

Every random number in the project (``randn``, initializers, dropout masks, shuffling in
``fit``) is drawn from one ``numpy.random.Generator``; ``manual_seed(s)`` resets it, so the same
seed gives the same weights and the same training history.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate as V
from .tensor import Tensor, get_default_dtype

__all__ = [
    "manual_seed", "get_generator", "zeros", "ones", "full", "arange", "randn", "rand", "uniform",
    "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "tensor",
]

_GENERATOR = np.random.default_rng(0)

Shape = Union[int, Sequence[int]]


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator in place (returns it), so code that holds it sees the new seed."""
    seed = V.integer("manual_seed", "seed", seed, lo=0)
    _GENERATOR.bit_generator.state = np.random.PCG64(seed).state
    return _GENERATOR


def get_generator() -> np.random.Generator:
    """The generator every random draw of the project uses."""
    return _GENERATOR


def _shape(fn: str, shape: Tuple[Any, ...]) -> Tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))``: the shape, checked."""
    if len(shape) == 1 and not V.is_int(shape[0]):
        shape = shape[0]
    return V.shape(fn, shape)


def _dt(fn: str, dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else V.dtype(fn, dtype)


def _make(fn: str, make: Any, shape: Tuple[int, ...], dtype: Any, requires_grad: Any,
          name: Optional[str] = None) -> Tensor:
    """Check the common arguments, then ``make(shape)`` as a leaf of ``dtype``."""
    shape, dt = _shape(fn, shape), _dt(fn, dtype)
    rg = V.boolean(fn, "requires_grad", requires_grad)
    t = Tensor._wrap(np.asarray(make(shape)).astype(dt, copy=False))
    t.name = name
    if rg:
        t.requires_grad_(True)
    return t


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: Optional[str] = None) -> Tensor:
    """Same as ``Tensor(...)`` (PyTorch spelling)."""
    try:
        return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "tensor", ("Tensor",)) from None


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make("zeros", np.zeros, shape, dtype, requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make("ones", np.ones, shape, dtype, requires_grad)


def full(shape: Shape, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _full("full", shape, fill_value, dtype, requires_grad)


def _full(fn: str, shape: Any, fill_value: Any, dtype: Any, requires_grad: Any) -> Tensor:
    value = V.number(fn, "fill_value", fill_value, finite=False)
    return _make(fn, lambda shp: np.full(shp, value), (shape,), dtype, requires_grad)


def arange(start: float, stop: Optional[float] = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    start = V.number("arange", "start", start)
    stop = V.number("arange", "stop", stop, allow_none=True)
    step = V.number("arange", "step", step)
    if step == 0:
        raise ValueError("arange: step must not be zero")
    lo, hi = (0.0, start) if stop is None else (start, stop)
    n = max(0, int(np.ceil((hi - lo) / step)))
    shape = V.shape("arange", n, "the number of values")
    return _make("arange", lambda shp: lo + step * np.arange(shp[0]), shape, dtype, requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the project's generator."""
    return _make("randn", _GENERATOR.standard_normal, shape, dtype, requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the project's generator."""
    return _make("rand", _GENERATOR.random, shape, dtype, requires_grad)


def uniform(shape: Shape, low: float = 0.0, high: float = 1.0, dtype: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Uniform samples in [low, high) from the project's generator."""
    low, high = V.number("uniform", "low", low), V.number("uniform", "high", high)
    if not low < high:
        raise ValueError(f"uniform: need low < high, got low={low}, high={high}")
    if not np.isfinite(high - low):
        raise ValueError(f"uniform: high - low = {high - low} is too large")
    return _make("uniform", lambda shp: _GENERATOR.uniform(low, high, shp), (shape,), dtype, requires_grad)


def _like(fn: str, t: Any, dtype: Any) -> Tuple[Tuple[int, ...], np.dtype]:
    """The shape of ``t`` and the dtype of the result (``t``'s own when it is a float and none is given).
    Errors name ``fn`` (``zeros_like``), never the constructor it shares its checks with."""
    arr = t.data if isinstance(t, Tensor) else V.real_array(fn, t, "the tensor to imitate")
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind == "f" else get_default_dtype()
    return arr.shape, dtype


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like("zeros_like", t, dtype)
    return _make("zeros_like", np.zeros, (shape,), dt, requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like("ones_like", t, dtype)
    return _make("ones_like", np.ones, (shape,), dt, requires_grad)


def full_like(t: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like("full_like", t, dtype)
    return _full("full_like", shape, fill_value, dt, requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like("randn_like", t, dtype)
    return _make("randn_like", _GENERATOR.standard_normal, (shape,), dt, requires_grad)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like("rand_like", t, dtype)
    return _make("rand_like", _GENERATOR.random, (shape,), dt, requires_grad)
