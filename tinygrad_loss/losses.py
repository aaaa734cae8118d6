"""Losses: each one a plain composition of primitive ops, so autodiff gives its gradient.

Every loss comes in two forms, with Keras's argument order ``(y_true, y_pred)``:

* a function ``mean_squared_error(y_true, y_pred)`` returning the *per-sample* values
  (the last axis is the feature/class axis and is reduced, as in Keras);
* a class ``MeanSquaredError(reduction="sum_over_batch_size", name=None)`` whose
  ``__call__(y_true, y_pred, sample_weight=None)`` weights and reduces those values.

Reductions (Keras 3 semantics), with per-sample losses ``l_i`` and weights ``w_i``::

    "sum_over_batch_size"  (Σ_i w_i l_i) / N     N = number of per-sample values (not Σ w)
    "sum"                  Σ_i w_i l_i
    "none"                 w_i l_i               (one value per sample)

No loss has a backward of its own: all of them are built from ``ops.OPS``, and each
records its ops under a name scope named after the class (``"MeanSquaredError"``), so a
drawn graph shows the loss as one labelled group.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import ops
from .autograd import STATE, name_scope
from .tensor import Tensor, get_default_dtype

__all__ = [
    "Loss", "LossFunctionWrapper", "get", "reduce_weighted_values", "EPSILON",
    "MeanSquaredError", "mean_squared_error",
]

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: the fuzz factor used to clip probabilities and guard divisions."""

REDUCTIONS = ("sum_over_batch_size", "sum", "none")


# --- input handling shared by every loss ----------------------------------------------------

@functools.lru_cache(maxsize=None)
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _as_tensor(loss: str, what: str, x: Any, dtype: Optional[np.dtype]) -> Tensor:
    """A Tensor of ``dtype`` (a float dtype), keeping the graph when ``x`` already is a Tensor."""
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != dtype:
            if x.dtype.kind != "f":  # bool tensors from comparisons
                return Tensor._wrap(x.data.astype(dtype))
            return ops.astype(x, dtype)
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{loss}: {what} must be a Tensor, a NumPy array or a (nested) list of numbers; {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{loss}: {what} must be numeric, got an array of dtype {arr.dtype}")
    if dtype is None:
        dtype = arr.dtype if (arr.dtype.kind == "f" and isinstance(x, np.ndarray)) else get_default_dtype()
    return Tensor._wrap(arr.astype(dtype, copy=True))


def _check_finite(loss: str, what: str, t: Tensor) -> None:
    if not np.all(np.isfinite(t.data)):
        bad = np.argwhere(~np.isfinite(t.data))[0]
        where = tuple(int(i) for i in bad) if t.ndim else ()
        raise ValueError(f"{loss}: {what} contains a non-finite value ({t.data[where]!r} at index {where}); "
                         "losses need finite inputs")


def _inputs(loss: str, y_true: Any, y_pred: Any) -> Tuple[Tensor, Tensor]:
    """Convert both inputs to Tensors of ``y_pred``'s float dtype and reject NaN/inf."""
    y_pred = _as_tensor(loss, "y_pred", y_pred, None)
    if y_pred.dtype.kind != "f":
        y_pred = _as_tensor(loss, "y_pred", y_pred, get_default_dtype())
    y_true = _as_tensor(loss, "y_true", y_true, y_pred.dtype)
    _check_finite(loss, "y_pred", y_pred)
    _check_finite(loss, "y_true", y_true)
    if y_pred.size == 0 or y_true.size == 0:
        raise ValueError(f"{loss}: empty input (y_true shape {y_true.shape}, y_pred shape {y_pred.shape})")
    return y_true, y_pred


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> Tuple[Tensor, Tensor]:
    """Keras's rule for ranks that differ by one through a trailing axis of size 1.

    ``(n,)`` against ``(n, 1)`` becomes ``(n, 1)`` and ``(n, 1)`` (the rank-1 side is expanded);
    ``(n, k)`` against ``(n, k, 1)`` drops the trailing 1. Anything else is left alone.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.unsqueeze(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.unsqueeze(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def _same_shape(loss: str, y_true: Any, y_pred: Any) -> Tuple[Tensor, Tensor]:
    """Inputs for an elementwise loss: same shape after Keras's squeeze/expand, else ValueError."""
    yt, yp = _inputs(loss, y_true, y_pred)
    shapes = (yt.shape, yp.shape)
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    if yt.shape != yp.shape:
        raise ValueError(f"{loss}: y_true has shape {shapes[0]} and y_pred has shape {shapes[1]}; they must "
                         "match (a trailing axis of size 1 on one side only is allowed)")
    if yp.ndim == 0:  # a single number: one sample with one feature
        yt, yp = ops.reshape(yt, (1,)), ops.reshape(yp, (1,))
    return yt, yp


class _scope:
    """``name_scope(name)``, unless the innermost scope already is ``name`` (class calling its function)."""

    __slots__ = ("name", "cm")

    def __init__(self, name: str):
        self.name = name
        self.cm = None

    def __enter__(self):
        cur = STATE.scope
        if cur == self.name or cur.endswith("/" + self.name):
            return cur
        self.cm = name_scope(self.name)
        return self.cm.__enter__()

    def __exit__(self, *exc):
        if self.cm is not None:
            return self.cm.__exit__(*exc)
        return False


def _loss_function(class_name: str):
    """Decorate a per-sample loss function: run it under ``name_scope(class_name)``."""

    def deco(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Tensor:
            with _scope(class_name):
                return fn(*args, **kwargs)

        wrapper.scope_name = class_name
        return wrapper

    return deco


# --- reduction ------------------------------------------------------------------------------

def _check_reduction(reduction: Optional[str]) -> str:
    if reduction is None:
        return "none"
    if reduction == "mean":  # Keras accepts "mean" as a synonym
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(f"Loss: reduction must be one of {REDUCTIONS} (or None/'mean'), got {reduction!r}")
    return reduction


def reduce_weighted_values(values: Tensor, sample_weight: Any = None, reduction: str = "sum_over_batch_size",
                           loss: str = "loss") -> Tensor:
    """Weight per-sample ``values`` by ``sample_weight`` and reduce them (Keras 3 semantics).

    ``sample_weight`` may have the shape of ``values`` or broadcast to it (a scalar weights
    every sample; ``(n, 1)`` against ``(n,)`` drops the trailing 1). ``"sum_over_batch_size"``
    divides the weighted sum by the *number of values*, not by the sum of the weights.
    """
    reduction = _check_reduction(reduction)
    if sample_weight is not None:
        sw = _as_tensor(loss, "sample_weight", sample_weight, values.dtype)
        _check_finite(loss, "sample_weight", sw)
        values, sw = squeeze_or_expand_to_same_rank(values, sw)
        try:
            fits = np.broadcast_shapes(sw.shape, values.shape) == values.shape
        except ValueError:
            fits = False
        if not fits:
            hint = ""
            if values.ndim == 0:
                hint = (" (the last axis of y_true/y_pred is the feature axis, so 1-D inputs are a single "
                        "sample; reshape them to (n, 1) for n samples)")
            raise ValueError(f"{loss}: sample_weight of shape {sw.shape} does not match the per-sample losses "
                             f"of shape {values.shape}{hint}")
        values = ops.mul(values, sw)
    if reduction == "none" or values.ndim == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    return ops.div(total, float(values.size))


# --- the base class ---------------------------------------------------------------------------

class Loss:
    """Base of every loss: per-sample values from :meth:`call`, then weighting and reduction.

    Subclasses implement ``call(y_true, y_pred) -> Tensor`` of per-sample losses.
    ``reduction``: ``"sum_over_batch_size"`` (default, the mean), ``"sum"`` or ``"none"``.
    ``name`` defaults to the snake_case class name, as in Keras.
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: Optional[str] = None):
        self.reduction = _check_reduction(reduction)
        self.name = name if name is not None else _snake(type(self).__name__)

    @property
    def scope_name(self) -> str:
        """The name scope the loss's ops are recorded under: the class name."""
        return type(self).__name__

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) must return per-sample losses")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The weighted, reduced loss (a scalar Tensor unless ``reduction="none"``)."""
        with _scope(self.scope_name):
            values = self.call(y_true, y_pred)
            return reduce_weighted_values(values, sample_weight, self.reduction, loss=type(self).__name__)

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Use it to give your own loss function reductions and sample weights.
    """

    def __init__(self, fn: Callable[..., Tensor], reduction: Optional[str] = "sum_over_batch_size",
                 name: Optional[str] = None, **kwargs: Any):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {type(fn).__name__}")
        super().__init__(reduction=reduction, name=name if name is not None else getattr(fn, "__name__", None))
        self.fn = fn
        self._fn_kwargs = kwargs

    @property
    def scope_name(self) -> str:
        if type(self) is LossFunctionWrapper:
            return getattr(self.fn, "scope_name", None) or re.sub(r"[^A-Za-z0-9_.-]", "_", self.name) or "loss"
        return type(self).__name__

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


# --- regression losses ------------------------------------------------------------------------

@_loss_function("MeanSquaredError")
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample mean squared error over the last axis: ``mean((y_true - y_pred)², axis=-1)``."""
    yt, yp = _same_shape("mean_squared_error", y_true, y_pred)
    return ops.mean(ops.square(ops.sub(yt, yp)), axis=-1)


class MeanSquaredError(LossFunctionWrapper):
    """``MSE = 1/n Σ_i (y_i - ŷ_i)²``: the regression default; large errors dominate."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


# --- string aliases ---------------------------------------------------------------------------

_ALIASES: Dict[str, type] = {}


def _register(cls: type, *aliases: str) -> None:
    for key in (cls.__name__, _snake(cls.__name__)) + aliases:
        _ALIASES[key] = cls


_register(MeanSquaredError, "mse", "MSE")


def get(identifier: Union[str, Callable, type, None]) -> Optional[Callable]:
    """Resolve a loss for ``compile(loss=...)``.

    * a string (``"mse"``, ``"mean_squared_error"``, ``"MeanSquaredError"``...) gives a new
      instance of the matching :class:`Loss` class with its default arguments;
    * a :class:`Loss` subclass is instantiated; any other callable is returned unchanged;
    * ``None`` gives ``None``.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier)
        if cls is None:
            valid = ", ".join(sorted(_ALIASES, key=str.lower))
            raise ValueError(f"losses.get: unknown loss {identifier!r}; valid names are: {valid}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"losses.get: expected a loss name, a Loss or a callable, got {type(identifier).__name__}")
