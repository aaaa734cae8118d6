"""Layers that merge several inputs into one: Concatenate and Add (functional models)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import ops
from ..tensor import Tensor
from .layers import Layer, Shape, _as_input

__all__ = ["Concatenate", "Add"]


class _Merge(Layer):
    """Base of the merge layers: called on a list of two or more tensors."""

    def __init__(self, name: Optional[str] = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def _convert_inputs(self, x: Any) -> List[Tensor]:
        if not isinstance(x, (list, tuple)) or len(x) < 2:
            raise ValueError(f"{self.name}: {type(self).__name__} takes a list of at least 2 inputs, got "
                             f"{type(x).__name__}")
        return [_as_input(self, t) for t in x]

    def _check(self, shapes: List[Shape]) -> None:
        raise NotImplementedError

    def build(self, input_shape: List[Shape]) -> None:
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"{self.name}: {type(self).__name__} takes a list of at least 2 inputs")
        self._check([tuple(s) for s in input_shape])
        super().build([tuple(s) for s in input_shape])

    def forward(self, xs: List[Tensor]) -> Tensor:
        if len({t.shape[:1] for t in xs}) > 1:  # else Add would broadcast a batch of 1 (or 0) over the others
            raise ValueError(f"{self.name}: {type(self).__name__} needs inputs with the same batch size, got shapes "
                             f"{[t.shape for t in xs]}")
        self._check([(None,) + t.shape[1:] for t in xs])
        return self.merge(xs)

    def merge(self, xs: List[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(_Merge):
    """The elementwise sum of inputs of the same shape."""

    def _check(self, shapes: List[Shape]) -> None:
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(f"{self.name}: Add needs inputs of the same shape, got {shapes}")

    def compute_output_shape(self, input_shape: List[Shape]) -> Shape:
        return tuple(input_shape[0])

    def merge(self, xs: List[Tensor]) -> Tensor:
        out = xs[0]
        for t in xs[1:]:
            out = ops.add(out, t)
        return out


class Concatenate(_Merge):
    """Joins the inputs along ``axis`` (default the last); the other axes must match."""

    def __init__(self, axis: int = -1, name: Optional[str] = None, dtype: Any = None):
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise ValueError(f"Concatenate: axis must be a non-batch axis (an int other than 0), got {axis!r}")
        super().__init__(name=name, dtype=dtype)
        self.axis = axis

    def _check(self, shapes: List[Shape]) -> None:
        nd = len(shapes[0])
        if any(len(s) != nd for s in shapes) or not -nd <= self.axis < nd or self.axis % nd == 0:
            raise ValueError(f"{self.name}: cannot concatenate shapes {shapes} along axis {self.axis}")
        ax = self.axis % nd
        if any(s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
            raise ValueError(f"{self.name}: Concatenate needs inputs that match except on axis {self.axis}, got "
                             f"{shapes}")

    def compute_output_shape(self, input_shape: List[Shape]) -> Shape:
        ax = self.axis % len(input_shape[0])
        sizes = [s[ax] for s in input_shape]
        out = list(input_shape[0])
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def merge(self, xs: List[Tensor]) -> Tensor:
        return ops.concatenate(xs, axis=self.axis)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
