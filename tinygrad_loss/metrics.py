"""Metrics for ``compile(metrics=[...])``: values reported by ``fit``/``evaluate``, never differentiated.

A metric function returns one value per sample (NumPy, no graph); a :class:`Metric`
accumulates them over the batches of an epoch, so the reported value is the mean over
every sample seen (Keras's ``MeanMetricWrapper``)::

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

from .tensor import Tensor

__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "MeanAbsoluteError", "MeanSquaredError", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "mean_absolute_error", "mean_squared_error", "mae",
    "mse", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "get",
]


def _np(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _same_rank(y_true: np.ndarray, y_pred: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Keras's rule: ``(n,)`` against ``(n, 1)`` is expanded; ``(n, k, 1)`` against ``(n, k)`` squeezed."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None] if y_true.ndim == 1 else y_true
        if y_true.ndim != y_pred.ndim:
            y_pred = y_pred[..., 0]
    elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1] == 1:
        y_pred = y_pred[..., None] if y_pred.ndim == 1 else y_pred
        if y_true.ndim != y_pred.ndim:
            y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"metric: y_true has shape {y_true.shape} and y_pred has shape {y_pred.shape}; they must "
                         "match (a trailing axis of size 1 on one side only is allowed)")
    return y_true, y_pred


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(|y - ŷ|)`` over the last axis."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    return np.mean(np.abs(yt - yp), axis=-1)


def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean((y - ŷ)²)`` over the last axis."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    return np.mean(np.square(yt - yp), axis=-1)


mae = mean_absolute_error
mse = mean_squared_error


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Per-sample fraction of entries where ``[ŷ > threshold]`` equals the 0/1 label."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    return np.mean((yp > threshold).astype(np.float64) == yt, axis=-1)


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """``1`` where the predicted class (argmax ŷ) is the one-hot label's class (argmax y)."""
    yt, yp = _np(y_true), _np(y_pred)
    if yt.shape != yp.shape:
        raise ValueError(f"categorical_accuracy: y_true (one-hot) has shape {yt.shape} but y_pred has shape "
                         f"{yp.shape}")
    return (np.argmax(yt, axis=-1) == np.argmax(yp, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """``1`` where argmax ŷ equals the integer label y."""
    yt, yp = _np(y_true), _np(y_pred)
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    if yt.shape != yp.shape[:-1]:
        raise ValueError(f"sparse_categorical_accuracy: y_true (integer labels) has shape {yt.shape} but y_pred "
                         f"has shape {yp.shape}; expected labels of shape {yp.shape[:-1]}")
    return (np.argmax(yp, axis=-1) == yt).astype(np.float64)


class Metric:
    """Base: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``, ``reset_state()``."""

    def __init__(self, name: str):
        self.name = name

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
        v = np.asarray(_np(values), dtype=np.float64)
        if sample_weight is None:
            self.total += float(np.sum(v))
            self.count += float(v.size)
        else:
            w = np.broadcast_to(np.asarray(_np(sample_weight), dtype=np.float64), v.shape)
            self.total += float(np.sum(v * w))
            self.count += float(np.sum(w))

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of a per-sample metric function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn: Callable[..., np.ndarray], name: Optional[str] = None, **kwargs: Any):
        super().__init__(name or getattr(fn, "__name__", "metric"))
        self.fn = fn
        self.kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        super().update_state(self.fn(y_true, y_pred, **self.kwargs), sample_weight)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, name)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, name)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5):
        super().__init__(binary_accuracy, name, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_accuracy"):
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name)


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
