"""Tensor constructors and the project's seedable random generator.

Every random number in the project (``randn``, initializers, dropout masks, shuffling in
``fit``) is drawn from one ``numpy.random.Generator``; ``manual_seed(s)`` resets it, so the same
seed gives the same weights and the same training history.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from .tensor import Tensor, get_default_dtype

__all__ = [
    "manual_seed", "get_generator", "zeros", "ones", "full", "arange", "randn", "rand", "uniform",
    "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "tensor",
]

_GENERATOR = np.random.default_rng(0)

Shape = Union[int, Sequence[int]]


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator in place (returns it), so code that holds it sees the new seed."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _GENERATOR.bit_generator.state = np.random.PCG64(int(seed)).state
    return _GENERATOR


def get_generator() -> np.random.Generator:
    """The generator every random draw of the project uses."""
    return _GENERATOR


def _shape(fn: str, shape: Tuple[Any, ...]) -> Tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{fn}: shape must be non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _dt(dtype: Any) -> np.dtype:
    if dtype is None:
        return get_default_dtype()
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"tensors hold floats: dtype must be a float dtype, got {dt}")
    return dt


def _make(arr: np.ndarray, requires_grad: bool, name: Optional[str] = None) -> Tensor:
    t = Tensor._wrap(arr)
    t.name = name
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: Optional[str] = None) -> Tensor:
    """Same as ``Tensor(...)`` (PyTorch spelling)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape("zeros", shape), dtype=_dt(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape("ones", shape), dtype=_dt(dtype)), requires_grad)


def full(shape: Shape, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shp = _shape("full", (shape,) if isinstance(shape, (int, np.integer)) else (tuple(shape),))
    if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float, np.integer, np.floating)):
        raise TypeError(f"full: fill_value must be a real number, got {fill_value!r}")
    return _make(np.full(shp, fill_value, dtype=_dt(dtype)), requires_grad)


def arange(start: float, stop: Optional[float] = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    if step == 0:
        raise ValueError("arange: step must not be zero")
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return _make(arr.astype(_dt(dtype)), requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the project's generator."""
    return _make(_GENERATOR.standard_normal(_shape("randn", shape)).astype(_dt(dtype)), requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the project's generator."""
    return _make(_GENERATOR.random(_shape("rand", shape)).astype(_dt(dtype)), requires_grad)


def uniform(shape: Shape, low: float = 0.0, high: float = 1.0, dtype: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Uniform samples in [low, high) from the project's generator."""
    if not low < high:
        raise ValueError(f"uniform: need low < high, got low={low}, high={high}")
    shp = _shape("uniform", (shape,) if isinstance(shape, (int, np.integer)) else (tuple(shape),))
    return _make(_GENERATOR.uniform(low, high, shp).astype(_dt(dtype)), requires_grad)


def _like(t: Any) -> Tuple[Tuple[int, ...], np.dtype]:
    arr = t.data if isinstance(t, Tensor) else np.asarray(t)
    dt = arr.dtype if arr.dtype.kind == "f" else get_default_dtype()
    return arr.shape, dt


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t)
    return zeros(shape, dtype=dt if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t)
    return ones(shape, dtype=dt if dtype is None else dtype, requires_grad=requires_grad)


def full_like(t: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t)
    return full(shape, fill_value, dtype=dt if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t)
    return randn(shape, dtype=dt if dtype is None else dtype, requires_grad=requires_grad)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t)
    return rand(shape, dtype=dt if dtype is None else dtype, requires_grad=requires_grad)
