"""Metrics for ``compile(metrics=[...])``: values reported by ``fit``/``evaluate``, never differentiated.

A metric function returns one value per sample; a :class:`Metric` accumulates them over the
batches of an epoch, so the reported value is the mean over every sample seen (Keras's
``MeanMetricWrapper``). As in Keras, ``mae`` and ``mse`` *are* the loss functions of
:mod:`tinygrad_loss.losses` (same shape rules, same checks), run under ``no_grad``::

    mae                          mean(|y - ŷ|, axis=-1)
    mse                          mean((y - ŷ)², axis=-1)
    binary_accuracy              mean([ŷ > threshold] == y, axis=-1)          threshold 0.5
    categorical_accuracy         [argmax ŷ == argmax y]
    sparse_categorical_accuracy  [argmax ŷ == y]                               y an integer label

``"accuracy"`` (or ``"acc"``) resolves like Keras 3, from the shapes of ``y`` and ``ŷ``: binary
when ŷ's last axis has size 1, sparse categorical when y has lower rank than ŷ (or a last
axis of size 1 while ŷ's is larger), categorical otherwise.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import _validate as V

from . import losses
from .autograd import no_grad
from .tensor import Tensor

__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "MeanAbsoluteError", "MeanSquaredError", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "mean_absolute_error", "mean_squared_error", "mae",
    "mse", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "get",
]

# Keras's regression metrics are its loss functions; MeanMetricWrapper calls them under no_grad
mean_absolute_error = mae = losses.mean_absolute_error
mean_squared_error = mse = losses.mean_squared_error


def _np(x: Any, who: str = "metric", what: str = "input") -> np.ndarray:
    return x.data if isinstance(x, Tensor) else V.real_array(who, x, what)


def _same_rank(who: str, y_true: Any, y_pred: Any) -> Tuple[np.ndarray, np.ndarray]:
    """The losses' rank rule (``(n,)`` against ``(n, 1)``...), then equal shapes or a ValueError."""
    yt, yp = losses.squeeze_or_expand_to_same_rank(Tensor._wrap(_np(y_true, who, "y_true")),
                                                         Tensor._wrap(_np(y_pred, who, "y_pred")))
    if yt.shape != yp.shape:
        raise ValueError(f"{who}: y_true has shape {np.shape(y_true)} and y_pred has shape {np.shape(y_pred)}; they "
                         "must match (a trailing axis of size 1 on one side only is allowed)")
    return yt.data, yp.data


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Per-sample fraction of entries where ``[ŷ > threshold]`` equals the 0/1 label (so ŷ = 0.5 is class 0)."""
    threshold = V.number("binary_accuracy", "threshold", threshold, 0.0, 1.0)
    yt, yp = _same_rank("binary_accuracy", y_true, y_pred)
    return np.mean((yp > threshold).astype(np.float64) == yt, axis=-1)


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """``1`` where the predicted class (argmax ŷ) is the one-hot label's class (argmax y)."""
    yt, yp = _np(y_true, "categorical_accuracy", "y_true"), _np(y_pred, "categorical_accuracy", "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"categorical_accuracy: y_true (one-hot) has shape {yt.shape} but y_pred has shape "
                         f"{yp.shape}")
    return (np.argmax(yt, axis=-1) == np.argmax(yp, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """``1`` where argmax ŷ equals the integer label y."""
    yt, yp = _np(y_true, "sparse_categorical_accuracy", "y_true"), _np(y_pred, "sparse_categorical_accuracy", "y_pred")
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    if yt.shape != yp.shape[:-1]:
        raise ValueError(f"sparse_categorical_accuracy: y_true (integer labels) has shape {yt.shape} but y_pred "
                         f"has shape {yp.shape}; expected labels of shape {yp.shape[:-1]}")
    return (np.argmax(yp, axis=-1) == yt).astype(np.float64)


class Metric:
    """Base: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``, ``reset_state()``."""

    def __init__(self, name: str):
        self.name = V.string(type(self).__name__, "name", name)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset_state(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """Weighted running mean of the values it is given."""

    def __init__(self, name: str = "mean"):
        super().__init__(name)
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        who = f"{type(self).__name__}.update_state"
        v = np.asarray(_np(values, who, "values"), dtype=np.float64)
        if sample_weight is None:
            total, count = float(np.sum(v)), float(v.size)
        else:
            w = np.asarray(V.real_array(who, sample_weight, "sample_weight", finite=True), dtype=np.float64)
            try:
                w = np.broadcast_to(w, v.shape)
            except ValueError:
                raise ValueError(f"{who}: sample_weight of shape {w.shape} does not broadcast to the per-sample "
                                 f"values' shape {v.shape}") from None
            total, count = float(np.sum(v * w)), float(np.sum(w))
        self.total += total  # both computed first: a bad argument changes nothing
        self.count += count

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of a per-sample function ``fn(y_true, y_pred, **kwargs)``, evaluated
    under ``no_grad`` (a loss function gives a Tensor and records no graph).

    The built-in metrics subclass it with ``fn=`` and ``name=``, e.g.
    ``class MeanSquaredError(MeanMetricWrapper, fn=mean_squared_error, name="mean_squared_error")``;
    their keyword arguments are ``fn``'s (``BinaryAccuracy(threshold=0.7)``).
    """

    fn: Optional[Callable[..., Any]] = None
    default_name = "metric"
    #: validators for ``fn``'s keyword arguments, run at construction (a bad one fails there, not mid-fit)
    arg_checks: Dict[str, Callable[[Any], Any]] = {}

    def __init_subclass__(cls, fn: Optional[Callable[..., Any]] = None, name: Optional[str] = None, **kw: Any):
        super().__init_subclass__(**kw)
        if fn is not None:
            cls.fn, cls.default_name = staticmethod(fn), name or fn.__name__

    def __init__(self, fn: Optional[Callable[..., Any]] = None, name: Optional[str] = None, **kwargs: Any):
        if isinstance(fn, str) and name is None:  # a built-in metric's first positional argument is its name
            fn, name = None, fn
        name = V.string(type(self).__name__, "name", name, allow_none=True)
        fn = fn if fn is not None else type(self).fn
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: fn must be callable, got {V.show(fn)}")
        super().__init__(name or (getattr(fn, "__name__", "metric") if type(self).fn is None else self.default_name))
        self.fn = fn
        self.kwargs = {k: self.arg_checks[k](v) if k in self.arg_checks else v for k, v in kwargs.items()}

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        try:
            with no_grad():
                values = self.fn(y_true, y_pred, **self.kwargs)
        except (TypeError, ValueError) as e:  # the function's error, as this metric's (BinaryAccuracy, not binary_accuracy)
            fn_names = (getattr(self.fn, "__name__", ""), getattr(self.fn, "scope_name", ""))
            raise V.renamed(e, f"{type(self).__name__}.update_state", fn_names) from None
        super().update_state(values, sample_weight)


class MeanAbsoluteError(MeanMetricWrapper, fn=mean_absolute_error):
    """The mean of ``|y - ŷ|`` over every value seen."""


class MeanSquaredError(MeanMetricWrapper, fn=mean_squared_error):
    """The mean of ``(y - ŷ)²`` over every value seen."""


class BinaryAccuracy(MeanMetricWrapper, fn=binary_accuracy):
    """How often ``[ŷ > threshold]`` equals the 0/1 label (``threshold=0.5``)."""

    arg_checks = {"threshold": lambda v: V.number("BinaryAccuracy", "threshold", v, 0.0, 1.0)}


class CategoricalAccuracy(MeanMetricWrapper, fn=categorical_accuracy):
    """How often argmax ŷ is the one-hot label's class."""


class SparseCategoricalAccuracy(MeanMetricWrapper, fn=sparse_categorical_accuracy):
    """How often argmax ŷ equals the integer label."""


_BY_NAME: Dict[str, Callable[[], Metric]] = {
    "mae": lambda: MeanAbsoluteError("mae"), "mean_absolute_error": MeanAbsoluteError,
    "mse": lambda: MeanSquaredError("mse"), "mean_squared_error": MeanSquaredError,
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
}


def get(identifier: Union[str, Metric, Callable], y_true: Any = None, y_pred: Any = None) -> Metric:
    """A fresh :class:`Metric` for ``compile(metrics=[...])``.

    ``"accuracy"``/``"acc"`` needs a sample of ``y_true`` and ``y_pred`` to choose between binary,
    sparse categorical and categorical accuracy (see the module docstring).
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower() if identifier.lower() in ("accuracy", "acc") else identifier
        if key in ("accuracy", "acc"):
            if y_true is None or y_pred is None:
                raise ValueError("metrics.get: 'accuracy' needs sample y_true and y_pred to pick its kind")
            yt, yp = _np(y_true), _np(y_pred)
            if yp.shape[-1] == 1:
                return BinaryAccuracy(identifier)
            if yt.ndim < yp.ndim or (yt.shape[-1] == 1 and yp.shape[-1] > 1):
                return SparseCategoricalAccuracy(identifier)
            return CategoricalAccuracy(identifier)
        make = _BY_NAME.get(identifier)
        if make is None:
            names = ", ".join(sorted(list(_BY_NAME) + ["accuracy", "acc"]))
            raise ValueError(f"metrics.get: unknown metric {identifier!r}; valid names are: {names}")
        return make()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metrics.get: expected a metric name, a Metric or a function, got {identifier!r}")
