"""Normalization layers, built from primitive ops (mean, sub, square, add, sqrt, div, mul):

* BatchNormalization: statistics over every axis but ``axis`` (the features). In training mode
  it normalizes with the batch's mean and (biased) variance, and updates the non-trainable moving
  statistics ``moving = momentum · moving + (1 - momentum) · batch``; in inference mode it
  normalizes with the moving statistics. Keras defaults: momentum 0.99, epsilon 1e-3.
* LayerNormalization: statistics over ``axis`` (the features) of each sample; the same in both
  modes. Keras default epsilon 1e-3.

Both compute ``y = gamma · (x - mean) / sqrt(var + epsilon) + beta``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _validate as V

from .. import ops
from ..autograd import no_grad
from ..tensor import Tensor, get_default_dtype
from . import initializers
from .layers import Layer, Shape, _get

__all__ = ["BatchNormalization", "LayerNormalization"]


def _check_unit_interval(owner: str, name: str, v: Any, low_open: bool) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (0 < v if low_open else 0 <= v) and v < 1
    if not ok:
        raise ValueError(f"{owner}: {name} must be a number in {'(0' if low_open else '[0'}, 1), got {v!r}")
    return float(v)


class _Normalization(Layer):
    """Shared by both: the feature axes, gamma (``scale``) and beta (``center``), and the affine step."""

    def __init__(self, axis: Union[int, Sequence[int]], epsilon: float, center: bool, scale: bool,
                 beta_initializer: Any, gamma_initializer: Any, name: Optional[str], input_shape: Any, dtype: Any):
        epsilon = V.number(type(self).__name__, "epsilon", epsilon, lo=0.0, lo_open=True)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"{type(self).__name__}: axis must be an int or a list of ints, got {axis!r}")
        center, scale = V.boolean(type(self).__name__, "center", center), V.boolean(type(self).__name__, "scale", scale)
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.axis = axis
        self.epsilon, self.center, self.scale = float(epsilon), center, scale
        self.beta_initializer = _get(type(self).__name__, "beta_initializer", initializers.get, beta_initializer)
        self.gamma_initializer = _get(type(self).__name__, "gamma_initializer", initializers.get, gamma_initializer)
        self.gamma = self.beta = None

    def _feature_axes(self, ndim: int) -> Tuple[int, ...]:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if any(not -ndim < a < ndim or a % ndim == 0 for a in axes):
            raise ValueError(f"{self.name}: axis {self.axis} is not a feature axis of inputs with {ndim} dimensions")
        return tuple(sorted(a % ndim for a in axes))

    def _param_shape(self, input_shape: Shape) -> Tuple[int, ...]:
        axes = self._feature_axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"{self.name}: the normalized axes must have a known size, got input shape {input_shape}")
        return shape

    def _broadcast_shape(self, x: Tensor) -> Tuple[int, ...]:
        axes = self._feature_axes(x.ndim)
        return tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim))

    def _make_weights(self, input_shape: Shape) -> Tuple[int, ...]:
        shape, dt = self._param_shape(input_shape), self.dtype or get_default_dtype()
        if self.scale:
            self.add_weight("gamma", np.asarray(self.gamma_initializer(shape, dt), dtype=dt))
        if self.center:
            self.add_weight("beta", np.asarray(self.beta_initializer(shape, dt), dtype=dt))
        return shape

    def _normalize(self, centered: Tensor, var: Any) -> Tensor:
        """``gamma · centered / sqrt(var + epsilon) + beta``."""
        y = ops.div(centered, ops.sqrt(ops.add(var, self.epsilon)))
        shape = self._broadcast_shape(centered)
        if self.scale:
            y = ops.mul(y, ops.reshape(self.gamma, shape))
        if self.center:
            y = ops.add(y, ops.reshape(self.beta, shape))
        return y

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer)}


class BatchNormalization(_Normalization):
    """Batch normalization (see the module docstring); ``layer(x, training=...)`` picks the mode for one call."""

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"BatchNormalization: axis must be an int, got {axis!r}")
        momentum = _check_unit_interval("BatchNormalization", "momentum", momentum, low_open=False)
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, name, input_shape, dtype)
        self.momentum = momentum
        self.moving_mean_initializer = _get(type(self).__name__, "moving_mean_initializer", initializers.get, moving_mean_initializer)
        self.moving_variance_initializer = _get(type(self).__name__, "moving_variance_initializer", initializers.get, moving_variance_initializer)
        self._build_now_if_shape_known()

    def build(self, input_shape: Shape) -> None:
        shape, dt = self._make_weights(input_shape), self.dtype or get_default_dtype()
        self.add_weight("moving_mean", np.asarray(self.moving_mean_initializer(shape, dt), dtype=dt), trainable=False)
        self.add_weight("moving_variance", np.asarray(self.moving_variance_initializer(shape, dt), dtype=dt),
                        trainable=False)
        super().build(input_shape)

    def forward(self, x: Tensor, training: Optional[bool] = None) -> Tensor:
        active = self.training if training is None else bool(training)
        shape = self._broadcast_shape(x)
        if not active:
            mean = ops.reshape(self.moving_mean, shape)
            return self._normalize(ops.sub(x, mean), ops.reshape(self.moving_variance, shape))
        features = self._feature_axes(x.ndim)
        stats_axes = tuple(i for i in range(x.ndim) if i not in features)
        mean = ops.mean(x, axis=stats_axes, keepdims=True)
        centered = ops.sub(x, mean)
        var = ops.mean(ops.square(centered), axis=stats_axes, keepdims=True)
        with no_grad():
            m = self.momentum
            self.moving_mean.data[...] = m * self.moving_mean.data + (1 - m) * mean.data.reshape(self.moving_mean.shape)
            self.moving_variance.data[...] = (m * self.moving_variance.data
                                              + (1 - m) * var.data.reshape(self.moving_variance.shape))
        return self._normalize(centered, var)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer)}


class LayerNormalization(_Normalization):
    """Layer normalization over ``axis`` (int or list; default the last) of each sample."""

    def __init__(self, axis: Union[int, List[int]] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, name, input_shape, dtype)
        self._build_now_if_shape_known()

    def build(self, input_shape: Shape) -> None:
        self._make_weights(input_shape)
        super().build(input_shape)

    def forward(self, x: Tensor) -> Tensor:
        axes = self._feature_axes(x.ndim)
        mean = ops.mean(x, axis=axes, keepdims=True)
        centered = ops.sub(x, mean)
        var = ops.mean(ops.square(centered), axis=axes, keepdims=True)
        return self._normalize(centered, var)
