"""Layers: Dense and Dropout, with Keras's arguments and lazy building.

A layer creates its weights in ``build(input_shape)``: right away when ``input_shape`` is
given, otherwise at its first call, from the shape of what it receives.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from .. import creation, ops
from ..tensor import Tensor, get_default_dtype, numeric_array
from . import activations, initializers
from .module import Module

__all__ = ["Layer", "Dense", "Dropout", "InputLayer", "Input"]

Shape = Tuple[Optional[int], ...]


def _as_input(layer: "Layer", x: Any) -> Tensor:
    """Inputs become Tensors of the layer's dtype (Python lists, NumPy arrays, other float dtypes)."""
    if isinstance(x, Tensor):
        if layer.dtype is not None and x.dtype != layer.dtype:
            return ops.astype(x, layer.dtype) if x.dtype.kind == "f" else Tensor._wrap(x.data.astype(layer.dtype))
        return x
    arr = numeric_array(x, layer.name, "the input")
    return Tensor._wrap(arr.astype(layer.dtype or get_default_dtype()))


class Layer(Module):
    """A Module that knows its input shape and builds its weights lazily.

    ``input_shape`` excludes the batch axis (Keras): ``Dense(1, input_shape=(2,))``.
    """

    def __init__(self, name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        super().__init__(name=name)
        self.built = False
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.input_shape = None
        self._input_shape_arg = None
        if input_shape is not None:
            if isinstance(input_shape, (int, np.integer)):
                input_shape = (input_shape,)
            shape = tuple(input_shape)
            if not shape or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
                raise ValueError(f"{self.name}: input_shape must be a tuple of positive ints (without the batch "
                                 f"axis), got {input_shape!r}")
            self._input_shape_arg = tuple(int(n) for n in shape)

    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.input_shape = tuple(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    @property
    def output_shape(self) -> Optional[Shape]:
        return None if self.input_shape is None else self.compute_output_shape(self.input_shape)

    def _maybe_build(self, x: Tensor) -> None:
        if not self.built:
            if self.dtype is None:
                self.dtype = x.dtype if x.dtype.kind == "f" else get_default_dtype()
            self.build((None,) + tuple(x.shape[1:]))

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        if self.dtype is None and isinstance(x, Tensor) and x.dtype.kind == "f":
            self.dtype = x.dtype
        x = _as_input(self, x)
        self._maybe_build(x)
        return super().__call__(x, *args, **kwargs)


class Dense(Layer):
    """``y = activation(x @ kernel + bias)``, kernel of shape ``(in, units)`` (Keras layout).

    Applies to the last axis of ``x``: ``(batch, in)`` -> ``(batch, units)``,
    ``(batch, t, in)`` -> ``(batch, t, units)``.
    """

    def __init__(self, units: int, activation: Union[str, Callable, None] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[Sequence[int]] = None, name: Optional[str] = None, dtype: Any = None,
                 input_dim: Optional[int] = None):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = None
        self.bias = None
        if self._input_shape_arg is not None:
            if self.dtype is None:
                self.dtype = get_default_dtype()
            self.build((None,) + self._input_shape_arg)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 2:
            raise ValueError(f"{self.name}: Dense needs inputs of at least 2 dimensions (batch, features), got "
                             f"input shape {tuple(input_shape)}")
        in_dim = input_shape[-1]
        dt = self.dtype or get_default_dtype()
        self.dtype = dt
        kernel = np.asarray(self.kernel_initializer((in_dim, self.units), dt), dtype=dt)
        if kernel.shape != (in_dim, self.units):
            raise ValueError(f"{self.name}: kernel_initializer returned shape {kernel.shape}, expected "
                             f"{(in_dim, self.units)}")
        self.kernel = creation.tensor(kernel, requires_grad=True, name=f"{self.name}.kernel", dtype=dt)
        if self.use_bias:
            bias = np.asarray(self.bias_initializer((self.units,), dt), dtype=dt)
            self.bias = creation.tensor(bias, requires_grad=True, name=f"{self.name}.bias", dtype=dt)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x: Tensor) -> Tensor:
        expected = self.input_shape[-1]
        if x.ndim < 2 or x.shape[-1] != expected:
            raise ValueError(f"{self.name}: expected inputs with {expected} features on the last axis "
                             f"(shape (batch, {expected})), got shape {x.shape}")
        y = ops.matmul(x, self.kernel)
        if self.use_bias:
            y = ops.add(y, self.bias)
        return self.activation(y)

    def __repr__(self) -> str:
        act = getattr(self.activation, "__name__", repr(self.activation))
        return f"Dense(name={self.name!r}, units={self.units}, activation={act})"


class InputLayer(Layer):
    """Declares the input shape of a :class:`Sequential` (Keras 3's
    ``Sequential([Input(shape=(2,)), Dense(1)])``, the same as ``Dense(1, input_shape=(2,))``).

    It has no weights, passes its input through after checking its shape, and is not listed
    by ``summary()``.
    """

    def __init__(self, shape: Sequence[int], dtype: Any = None, name: Optional[str] = None):
        super().__init__(name=name, input_shape=shape, dtype=dtype)
        self.build((None,) + self._input_shape_arg)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.input_shape[1:] or x.ndim != len(self.input_shape):
            raise ValueError(f"{self.name}: expected inputs of shape (batch, "
                             f"{', '.join(map(str, self.input_shape[1:]))}), got shape {x.shape}")
        return x

    def __repr__(self) -> str:
        return f"InputLayer(name={self.name!r}, shape={self.input_shape[1:]})"


def Input(shape: Sequence[int], dtype: Any = None, name: Optional[str] = None) -> InputLayer:
    """``keras.Input(shape=...)`` for the first entry of a :class:`Sequential`: an :class:`InputLayer`."""
    return InputLayer(shape, dtype=dtype, name=name)


class Dropout(Layer):
    """Inverted dropout: in training mode each entry is zeroed with probability ``rate`` and the
    survivors are scaled by ``1 / (1 - rate)`` (so the expected value is unchanged); in
    inference mode (``eval()``, ``predict``, ``evaluate``) it is the identity.

    ``layer(x, training=True/False)`` overrides the module's mode for one call (Keras).
    """

    def __init__(self, rate: float, name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        super().__init__(name=name, input_shape=input_shape)
        self.rate = float(rate)
        if self._input_shape_arg is not None:
            self.build((None,) + self._input_shape_arg)

    def forward(self, x: Tensor, training: Optional[bool] = None) -> Tensor:
        active = self.training if training is None else bool(training)
        if not active or self.rate == 0.0:
            return x
        keep = creation.get_generator().random(x.shape) >= self.rate
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return ops.mul(x, Tensor._wrap(mask))

    def __repr__(self) -> str:
        return f"Dropout(name={self.name!r}, rate={self.rate})"
