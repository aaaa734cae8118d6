"""Layers that only change the shape: Flatten and Reshape (the batch axis is kept)."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import _validate as V

from .. import ops
from ..tensor import Tensor
from .layers import Layer, Shape

__all__ = ["Flatten", "Reshape"]


def _size(dims: Sequence[Optional[int]]) -> Optional[int]:
    return None if any(d is None for d in dims) else int(math.prod(dims))


class Flatten(Layer):
    """``(batch, d1, d2, ...)`` -> ``(batch, d1·d2·...)``."""

    def __init__(self, name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self._build_now_if_shape_known()

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], _size(input_shape[1:]))

    def forward(self, x: Tensor) -> Tensor:
        return ops.reshape(x, (x.shape[0], -1))


class Reshape(Layer):
    """``(batch, ...)`` -> ``(batch, *target_shape)``; one entry of ``target_shape`` may be -1 (inferred)."""

    def __init__(self, target_shape: Sequence[int], name: Optional[str] = None,
                 input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        target = tuple(target_shape) if isinstance(target_shape, (list, tuple)) else (target_shape,)
        if not target or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and (n > 0 or n == -1)
                                 for n in target) or target.count(-1) > 1:
            raise ValueError(f"Reshape: target_shape must be positive ints with at most one -1, got {target_shape!r}")
        V.shape("Reshape", target, "target_shape", allow_infer=True)  # not larger than an array can hold
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.target_shape = tuple(int(n) for n in target)
        self._build_now_if_shape_known()

    def _resolve(self, input_shape: Shape) -> Tuple[Optional[int], ...]:
        size = _size(input_shape[1:])
        known = math.prod(n for n in self.target_shape if n != -1)
        if -1 not in self.target_shape:
            if size is not None and size != known:
                raise ValueError(f"{self.name}: cannot reshape inputs of shape {tuple(input_shape)} ({size} values per "
                                 f"sample) to {self.target_shape} ({known})")
            return self.target_shape
        if size is None:
            return tuple(None if n == -1 else n for n in self.target_shape)
        if size % known:
            raise ValueError(f"{self.name}: cannot reshape inputs of shape {tuple(input_shape)} ({size} values per "
                             f"sample) to {self.target_shape}")
        return tuple(size // known if n == -1 else n for n in self.target_shape)

    def build(self, input_shape: Shape) -> None:
        self._resolve(input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0],) + self._resolve(input_shape)

    def forward(self, x: Tensor) -> Tensor:
        return ops.reshape(x, (x.shape[0],) + self._resolve((None,) + x.shape[1:]))

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
