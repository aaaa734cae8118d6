"""Activation functions, each a composition of primitive ops (so autodiff gives the gradient).

``get("relu")`` / ``get(callable)`` / ``get(None)`` resolve ``Dense(activation=...)``.
Defaults follow Keras: ``leaky_relu`` slope 0.2, ``elu`` alpha 1, ``gelu`` exact (erf).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Union

from .. import ops
from ..tensor import Tensor

__all__ = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "gelu", "softplus", "get", "serialize",
           "deserialize"]


def linear(x: Tensor) -> Tensor:
    """f(x) = x."""
    return x


def relu(x: Tensor) -> Tensor:
    """f(x) = max(x, 0)."""
    return ops.relu(x)


def sigmoid(x: Tensor) -> Tensor:
    """f(x) = 1 / (1 + e^(-x))."""
    return ops.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    """f(x) = tanh x."""
    return ops.tanh(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """f(x)_i = e^(x_i) / Σ_j e^(x_j) along ``axis``."""
    return ops.softmax(x, axis=axis)


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """f(x) = x for x > 0, ``negative_slope`` · x otherwise."""
    return ops.where(ops.gt(x, 0.0), x, ops.mul(x, negative_slope))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """f(x) = x for x > 0, α (e^x - 1) otherwise."""
    # exp of min(x, 0), not of x: the unused branch must not overflow (0 · ∞ would poison the gradient).
    neg = ops.mul(ops.sub(ops.exp(ops.minimum(x, 0.0)), 1.0), alpha)
    return ops.where(ops.gt(x, 0.0), x, neg)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    """Exact: f(x) = x · Φ(x) = ½ x (1 + erf(x / √2)) (Keras's default).
    ``approximate=True``: ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    if approximate:
        inner = ops.mul(ops.add(x, ops.mul(ops.pow(x, 3.0), 0.044715)), math.sqrt(2.0 / math.pi))
        return ops.mul(ops.mul(x, 0.5), ops.add(ops.tanh(inner), 1.0))
    return ops.mul(ops.mul(x, 0.5), ops.add(ops.erf(ops.div(x, math.sqrt(2.0))), 1.0))


def softplus(x: Tensor) -> Tensor:
    """f(x) = log(1 + e^x), computed as max(x, 0) + log1p(e^(-|x|)): never overflows."""
    return ops.add(ops.maximum(x, 0.0), ops.log1p(ops.exp(ops.neg(ops.abs(x)))))


_BY_NAME: Dict[str, Callable[..., Tensor]] = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "softplus": softplus,
}


def get(identifier: Union[str, Callable[..., Tensor], None]) -> Callable[..., Tensor]:
    """The activation named ``identifier`` (None means linear), or the callable itself."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(f"activations.get: unknown activation {identifier!r}; valid names are: "
                             + ", ".join(sorted(_BY_NAME)))
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"activations.get: expected a name or a callable, got {type(identifier).__name__}")


def serialize(fn: Callable[..., Tensor]) -> str:
    """The name Keras saves an activation under (a custom function: its ``__name__``, which loading
    finds in ``custom_objects``)."""
    for name, known in _BY_NAME.items():
        if known is fn:
            return name
    name = getattr(fn, "__name__", None)
    if not name or name == "<lambda>":
        raise ValueError(f"activations.serialize: cannot save {fn!r}: give activations as names or named functions")
    return name


def deserialize(name: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Callable[..., Tensor]:
    """The activation saved as ``name`` (a built-in, or one of ``custom_objects``)."""
    if isinstance(name, dict):  # Keras writes non-string activations as serialized objects
        name = name.get("config", {}).get("name") or name.get("class_name")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)
