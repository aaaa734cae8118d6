"""Losses: each one a plain composition of primitive ops, so autodiff gives its gradient.

Every loss comes in two forms, with Keras's argument order ``(y_true, y_pred)``:

* a function, e.g. ``mean_squared_error(y_true, y_pred)``, returning the *per-sample*
  values: the last axis is the feature/class axis and is reduced, as in Keras, so inputs
  of shape ``(n, k)`` give ``n`` values (and a 1-D input of shape ``(k,)`` is one sample);
* a class, e.g. ``MeanSquaredError(reduction="sum_over_batch_size", name=None)``, whose
  ``__call__(y_true, y_pred, sample_weight=None)`` weights and reduces those values.

Reductions (Keras 3 semantics), for per-sample losses ``l_i`` and weights ``w_i``::

    "sum_over_batch_size"      Σ_i w_i l_i / N     N = number of per-sample values (not Σ w)
    "sum"                      Σ_i w_i l_i
    "none" (or None)           w_i l_i             one value per sample
    "mean_with_sample_weight"  Σ_i w_i l_i / Σ_i w_i

No loss has a backward of its own: all of them are built from ``ops.OPS``, and each
records its ops under a name scope named after the class (``"MeanSquaredError"``), so a
drawn graph shows the loss as one labelled group.

Numerics follow Keras 3 (``keras/src/losses/losses.py``): probabilities are clipped to
``[ε, 1 - ε]`` with ``ε = 1e-7``; ``from_logits=True`` uses log-softmax and the softplus
form of binary cross-entropy, which stay finite and exact for logits of any size.
"""
from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import ops
from .autograd import STATE, name_scope
from .tensor import Tensor, check_finite, get_default_dtype, numeric_array

__all__ = [
    "Loss", "LossFunctionWrapper", "get", "reduce_weighted_values", "squeeze_or_expand_to_same_rank",
    "EPSILON", "REDUCTIONS", "ALL_LOSSES",
    "MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "CosineSimilarity",
    "mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "cosine_similarity",
    "mse", "mae", "mape", "msle", "kld", "logcosh",
]

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: the fuzz factor that clips probabilities and guards divisions."""

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight")

_LOG2 = math.log(2.0)


# --- input handling shared by every loss ----------------------------------------------------

def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _as_tensor(loss: str, what: str, x: Any, dtype: Optional[np.dtype]) -> Tensor:
    """``x`` as a Tensor of float ``dtype`` (``None``: keep a float array's dtype, else the default).

    A Tensor keeps its graph: a dtype change is the differentiable ``astype`` op.
    """
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != dtype:
            if x.dtype.kind != "f":  # bool tensors from comparisons carry no gradient
                return Tensor._wrap(x.data.astype(dtype))
            return ops.astype(x, dtype)
        if x.dtype.kind != "f":
            return Tensor._wrap(x.data.astype(get_default_dtype()))
        return x
    arr = numeric_array(x, loss, what)
    if dtype is None:
        dtype = arr.dtype if (arr.dtype.kind == "f" and isinstance(x, (np.ndarray, np.generic))) \
            else get_default_dtype()
    return Tensor._wrap(np.array(arr, dtype=dtype))


def _check_finite(loss: str, what: str, t: Tensor) -> None:
    check_finite(loss, what, t.data)


def _inputs(loss: str, y_true: Any, y_pred: Any) -> Tuple[Tensor, Tensor]:
    """Both inputs as Tensors of ``y_pred``'s float dtype; NaN, inf and empty inputs are errors."""
    y_pred = _as_tensor(loss, "y_pred", y_pred, None)
    y_true = _as_tensor(loss, "y_true", y_true, y_pred.dtype)
    _check_finite(loss, "y_pred", y_pred)
    _check_finite(loss, "y_true", y_true)
    if y_pred.size == 0 or y_true.size == 0:
        raise ValueError(f"{loss}: empty input (y_true has shape {y_true.shape}, y_pred has shape {y_pred.shape})")
    return y_true, y_pred


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> Tuple[Tensor, Tensor]:
    """Keras's rule for ranks that differ by one through a trailing axis of size 1.

    ``(n,)`` against ``(n, 1)`` gives ``(n, 1)`` and ``(n, 1)`` (the rank-1 side gets the axis);
    ``(n, k)`` against ``(n, k, 1)`` drops the trailing 1. Anything else is returned unchanged.
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
    """Inputs of an elementwise loss: equal shapes after Keras's squeeze/expand, else ValueError."""
    yt, yp = _inputs(loss, y_true, y_pred)
    shapes = (yt.shape, yp.shape)
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    if yt.shape != yp.shape:
        raise ValueError(f"{loss}: y_true has shape {shapes[0]} but y_pred has shape {shapes[1]}; they must match "
                         "(only a trailing axis of size 1 on one side is allowed, e.g. (n,) against (n, 1))")
    if yp.ndim == 0:  # a single number: one sample with one feature
        yt, yp = ops.reshape(yt, (1,)), ops.reshape(yp, (1,))
    return yt, yp


def _check_range(loss: str, what: str, t: Tensor, lo: float, hi: Optional[float], hint: str = "") -> None:
    d = t.data
    bad = (d < lo) if hi is None else ((d < lo) | (d > hi))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        span = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{loss}: {what} must be {span}, got {d[idx].item()!r} at index {idx}{hint}")


def _check_axis(loss: str, axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{loss}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{loss}: axis {axis} is out of range for inputs with {ndim} dimension(s)")
    return int(axis) % ndim


def _check_smoothing(loss: str, label_smoothing: Any) -> float:
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"{loss}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


class _scope:
    """``name_scope(name)``, unless the innermost scope already is ``name`` (a class calling its function)."""

    __slots__ = ("name", "cm")

    def __init__(self, name: str):
        self.name = name
        self.cm = None

    def __enter__(self) -> str:
        cur = STATE.scope
        if cur == self.name or cur.endswith("/" + self.name):
            return cur
        self.cm = name_scope(self.name)
        return self.cm.__enter__()

    def __exit__(self, *exc) -> bool:
        if self.cm is not None:
            cm, self.cm = self.cm, None
            return bool(cm.__exit__(*exc))
        return False


def _loss_function(class_name: str) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Run a per-sample loss function under ``name_scope(class_name)``."""

    def deco(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Tensor:
            with _scope(class_name):
                return fn(*args, **kwargs)

        wrapper.scope_name = class_name  # type: ignore[attr-defined]
        return wrapper

    return deco


# --- reduction ------------------------------------------------------------------------------

def _check_reduction(reduction: Optional[str]) -> str:
    if reduction is None:
        return "none"
    if reduction == "mean":  # Keras accepts "mean" as a synonym
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(f"Loss: reduction must be one of {REDUCTIONS}, 'mean' or None; got {reduction!r}")
    return reduction


def reduce_weighted_values(values: Tensor, sample_weight: Any = None, reduction: str = "sum_over_batch_size",
                           loss: str = "loss") -> Tensor:
    """Weight per-sample ``values`` by ``sample_weight`` and reduce them (Keras 3 semantics).

    ``sample_weight`` must have the shape of ``values`` or broadcast to it: a scalar weights
    every sample, and ``(n, 1)`` against ``(n,)`` drops the trailing 1. ``"sum_over_batch_size"``
    divides the weighted sum by the *number of values*, not by the sum of the weights
    (``"mean_with_sample_weight"`` divides by ``Σ w``, and gives 0 when ``Σ w = 0``).
    """
    reduction = _check_reduction(reduction)
    sw = None
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
                hint = ("; the last axis of y_true/y_pred is the feature axis, so 1-D inputs are a single sample "
                        "(reshape them to (n, 1) for n samples)")
            raise ValueError(f"{loss}: sample_weight of shape {sw.shape} does not match the per-sample losses "
                             f"of shape {values.shape}{hint}")
        values = ops.mul(values, sw)
    if reduction == "none" or values.ndim == 0:
        return values
    if reduction == "sum":
        return ops.sum(values)
    if reduction == "mean_with_sample_weight" and sw is not None:
        denom = float(np.sum(np.broadcast_to(sw.data, values.shape)))
        total = ops.sum(values)
        return ops.mul(total, 0.0) if denom == 0.0 else ops.div(total, denom)
    return ops.mean(values)  # Σ w_i l_i / N


# --- the base classes ---------------------------------------------------------------------------

class Loss:
    """Base of every loss: per-sample values from :meth:`call`, then weighting and reduction.

    Subclass it and implement ``call(y_true, y_pred) -> Tensor`` of per-sample losses, built
    from Tensor ops; the gradient comes from autodiff. ``call`` receives Tensors (lists and
    arrays are converted to ``y_pred``'s float dtype).

    ``reduction``: ``"sum_over_batch_size"`` (default: the mean), ``"sum"``, ``"none"``/``None``
    or ``"mean_with_sample_weight"``. ``name`` defaults to the snake_case class name.
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
        """The weighted, reduced loss: a scalar Tensor, or per-sample values for ``reduction="none"``."""
        with _scope(self.scope_name):
            # like Keras, subclasses receive Tensors of y_pred's float dtype
            y_pred = _as_tensor(self.scope_name, "y_pred", y_pred, None)
            y_true = _as_tensor(self.scope_name, "y_true", y_true, y_pred.dtype)
            values = self.call(y_true, y_pred)
            if not isinstance(values, Tensor):
                raise TypeError(f"{self.scope_name}: call(y_true, y_pred) must return a Tensor, "
                                f"got {type(values).__name__}")
            return reduce_weighted_values(values, sample_weight, self.reduction, loss=self.scope_name)

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Use it to give your own loss function reductions and sample weights::

        def my_loss(y_true, y_pred):
            return ((y_true - y_pred) ** 4).mean(axis=-1)
        loss = LossFunctionWrapper(my_loss, reduction="sum")
    """

    def __init__(self, fn: Callable[..., Tensor], reduction: Optional[str] = "sum_over_batch_size",
                 name: Optional[str] = None, **kwargs: Any):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {type(fn).__name__}")
        super().__init__(reduction=reduction, name=name if name is not None else getattr(fn, "__name__", "loss"))
        self.fn = fn
        self._fn_kwargs = kwargs

    @property
    def scope_name(self) -> str:
        if type(self) is LossFunctionWrapper:
            scope = getattr(self.fn, "scope_name", None) or re.sub(r"[^A-Za-z0-9_.-]", "_", str(self.name))
            return scope or "loss"
        return type(self).__name__

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


# --- regression losses ------------------------------------------------------------------------

@_loss_function("MeanSquaredError")
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample mean squared error: ``mean((y_true - y_pred)², axis=-1)``."""
    yt, yp = _same_shape("MeanSquaredError", y_true, y_pred)
    return ops.mean(ops.square(ops.sub(yt, yp)), axis=-1)


@_loss_function("RootMeanSquaredError")
def root_mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample root mean squared error: ``sqrt(mean((y_true - y_pred)², axis=-1))``."""
    return ops.sqrt(mean_squared_error(y_true, y_pred))


@_loss_function("MeanAbsoluteError")
def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample mean absolute error: ``mean(|y_true - y_pred|, axis=-1)``."""
    yt, yp = _same_shape("MeanAbsoluteError", y_true, y_pred)
    return ops.mean(ops.abs(ops.sub(yt, yp)), axis=-1)


@_loss_function("MeanAbsolutePercentageError")
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """``100 · mean(|y_true - y_pred| / max(|y_true|, ε), axis=-1)`` (ε = 1e-7 guards y_true = 0)."""
    yt, yp = _same_shape("MeanAbsolutePercentageError", y_true, y_pred)
    diff = ops.abs(ops.div(ops.sub(yt, yp), ops.maximum(ops.abs(yt), EPSILON)))
    return ops.mul(ops.mean(diff, axis=-1), 100.0)


@_loss_function("MeanSquaredLogarithmicError")
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean((log(max(y_pred, ε) + 1) - log(max(y_true, ε) + 1))², axis=-1)``.

    As in Keras, values below ε = 1e-7 (including negatives) are raised to ε first.
    """
    yt, yp = _same_shape("MeanSquaredLogarithmicError", y_true, y_pred)
    first = ops.log(ops.add(ops.maximum(yp, EPSILON), 1.0))
    second = ops.log(ops.add(ops.maximum(yt, EPSILON), 1.0))
    return ops.mean(ops.square(ops.sub(first, second)), axis=-1)


@_loss_function("Huber")
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Per-sample Huber loss with error ``x = y_pred - y_true``::

        ½ x²               if |x| <= δ
        δ |x| - ½ δ²       otherwise
    """
    delta = float(delta)
    if not delta > 0 or not math.isfinite(delta):
        raise ValueError(f"Huber: delta must be a positive finite number, got {delta!r}")
    yt, yp = _same_shape("Huber", y_true, y_pred)
    err = ops.sub(yp, yt)
    abs_err = ops.abs(err)
    quadratic = ops.mul(ops.square(err), 0.5)
    linear = ops.sub(ops.mul(abs_err, delta), 0.5 * delta * delta)
    return ops.mean(ops.where(abs_err.data <= delta, quadratic, linear), axis=-1)


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + e^x) = max(x, 0) + log1p(e^-|x|)``: never overflows.

    At ``x = 0`` the pieces have kinks; the ``maximum`` op hands ½ of the gradient to each
    side of a tie and ``abs'(0) = 0``, so the sum is the true derivative σ(0) = ½.
    """
    return ops.add(ops.maximum(x, 0.0), ops.log1p(ops.exp(ops.neg(ops.abs(x)))))


@_loss_function("LogCosh")
def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(log(cosh(x)), axis=-1)`` with ``x = y_pred - y_true``, computed as
    ``x + softplus(-2x) - log 2`` so that large ``|x|`` never overflows ``cosh``."""
    yt, yp = _same_shape("LogCosh", y_true, y_pred)
    x = ops.sub(yp, yt)
    return ops.mean(ops.sub(ops.add(x, _softplus(ops.mul(x, -2.0))), _LOG2), axis=-1)


# --- probabilistic losses ---------------------------------------------------------------------

_PROB_HINT = " (y_pred holds probabilities when from_logits=False; pass from_logits=True for raw scores)"


@_loss_function("BinaryCrossentropy")
def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """Per-sample binary cross-entropy, averaged over ``axis``.

    Probabilities ``p`` (clipped to ``[ε, 1-ε]``): ``-(z log p + (1-z) log(1-p))``.
    Logits ``x``: ``max(x, 0) - x z + log(1 + e^-|x|)``, exact and finite for any ``x``.
    ``label_smoothing = s`` replaces ``z`` by ``z (1 - s) + s/2``.
    """
    name = "BinaryCrossentropy"
    ls = _check_smoothing(name, label_smoothing)
    z, p = _same_shape(name, y_true, y_pred)
    ax = _check_axis(name, axis, p.ndim)
    _check_range(name, "y_true", z, 0.0, 1.0)
    if ls:
        z = ops.add(ops.mul(z, 1.0 - ls), 0.5 * ls)
    if from_logits:
        # softplus(x) - x z, with softplus written in its overflow-free form
        bce = ops.sub(_softplus(p), ops.mul(p, z))
    else:
        _check_range(name, "y_pred", p, 0.0, 1.0, _PROB_HINT)
        p = ops.clip(p, EPSILON, 1.0 - EPSILON)
        ll = ops.add(ops.mul(z, ops.log(p)), ops.mul(ops.sub(1.0, z), ops.log(ops.sub(1.0, p))))
        bce = ops.neg(ll)
    return ops.mean(bce, axis=ax)


def _log_probs(name: str, p: Tensor, from_logits: bool, axis: int) -> Tensor:
    """``log_softmax(p)`` for logits; for probabilities ``log(clip(p / Σ p, ε, 1-ε))`` as in Keras."""
    if from_logits:
        return ops.log_softmax(p, axis=axis)
    _check_range(name, "y_pred", p, 0.0, 1.0, _PROB_HINT)
    total = ops.sum(p, axis=axis, keepdims=True)
    if np.any(total.data == 0):
        raise ValueError(f"{name}: a row of y_pred sums to 0 along axis {axis}; probabilities cannot be renormalised")
    return ops.log(ops.clip(ops.div(p, total), EPSILON, 1.0 - EPSILON))


@_loss_function("CategoricalCrossentropy")
def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """Per-sample categorical cross-entropy ``-Σ_j y_j log ŷ_j`` over ``axis`` (the class axis).

    Probabilities are first renormalised to sum to 1 along ``axis`` and clipped to
    ``[ε, 1-ε]`` (Keras); logits go through ``log_softmax``. ``label_smoothing = s``
    replaces ``y`` by ``y (1 - s) + s / C`` for ``C`` classes.
    """
    name = "CategoricalCrossentropy"
    ls = _check_smoothing(name, label_smoothing)
    y, p = _same_shape(name, y_true, y_pred)
    ax = _check_axis(name, axis, p.ndim)
    _check_range(name, "y_true", y, 0.0, 1.0)
    if ls:
        y = ops.add(ops.mul(y, 1.0 - ls), ls / p.shape[ax])
    return ops.neg(ops.sum(ops.mul(y, _log_probs(name, p, from_logits, ax)), axis=ax))


def _class_indices(name: str, y_true: Any, y_pred: Tensor, ignore_class: Optional[int] = None
                   ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Integer labels of shape ``y_pred.shape[:-1]`` (a trailing 1 is dropped), range-checked,
    and the mask of labels to keep (``None`` when ``ignore_class`` is ``None``)."""
    lab = numeric_array(y_true, name, "y_true (integer class labels)")
    if y_pred.ndim < 1:
        raise ValueError(f"{name}: y_pred must have a class axis, got shape {y_pred.shape}")
    shape = lab.shape
    if lab.ndim == y_pred.ndim and lab.ndim and lab.shape[-1] == 1:
        lab = lab.reshape(lab.shape[:-1])
    if lab.shape != y_pred.shape[:-1]:
        raise ValueError(f"{name}: y_true has shape {shape} and y_pred has shape {y_pred.shape}; y_true must hold "
                         f"one class index per row of y_pred, i.e. have shape {y_pred.shape[:-1]}")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)):
            raise ValueError(f"{name}: y_true contains a non-finite value; class labels must be integers")
        if not np.all(lab == np.round(lab)):
            bad = lab[lab != np.round(lab)].flat[0].item()
            raise ValueError(f"{name}: y_true must hold integer class labels, got {bad!r}")
    lab = lab.astype(np.int64)
    keep = None
    if ignore_class is not None:
        keep = lab != ignore_class
        lab = np.where(keep, lab, 0)  # any valid index: the ignored rows' values are replaced by 0
    n_classes = y_pred.shape[-1]
    out = (lab < 0) | (lab >= n_classes)
    if out.any():
        bad = lab[out].flat[0].item()
        raise ValueError(f"{name}: class label {bad} is out of range for y_pred with {n_classes} classes "
                         f"(labels must be in [0, {n_classes - 1}])")
    return lab, keep


def _sparse_ce(y_true: Any, y_pred: Any, from_logits: bool, ignore_class: Optional[int]
               ) -> Tuple[Tensor, Optional[np.ndarray]]:
    name = "SparseCategoricalCrossentropy"
    if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer))):
        raise TypeError(f"{name}: ignore_class must be an int or None, got {ignore_class!r}")
    p = _as_tensor(name, "y_pred", y_pred, None)
    _check_finite(name, "y_pred", p)
    if p.size == 0:
        raise ValueError(f"{name}: empty input (y_pred has shape {p.shape})")
    lab, keep = _class_indices(name, y_true, p, ignore_class)
    logp = _log_probs(name, p, from_logits, p.ndim - 1)
    pick = tuple(np.indices(lab.shape, sparse=True)) + (lab,)
    values = ops.neg(ops.getitem(logp, pick))
    if keep is not None:
        values = ops.where(keep, values, 0.0)
    return values, keep


@_loss_function("SparseCategoricalCrossentropy")
def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: Optional[int] = None) -> Tensor:
    """Categorical cross-entropy with integer labels: ``-log ŷ[label]`` for each row.

    ``y_true`` holds class indices (ints, or floats that are whole numbers) of shape
    ``y_pred.shape[:-1]`` (or with a trailing axis of 1); the class axis is the last one.
    Rows whose label equals ``ignore_class`` (e.g. a "void" class -1 or 255) get loss 0.
    """
    return _sparse_ce(y_true, y_pred, from_logits, ignore_class)[0]


@_loss_function("KLDivergence")
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """``Σ_j y_j log(y_j / ŷ_j)`` over the last axis, both clipped to ``[ε, 1]`` (Keras)."""
    yt, yp = _same_shape("KLDivergence", y_true, y_pred)
    yt = ops.clip(yt, EPSILON, 1.0)
    yp = ops.clip(yp, EPSILON, 1.0)
    return ops.sum(ops.mul(yt, ops.log(ops.div(yt, yp))), axis=-1)


@_loss_function("Poisson")
def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(ŷ - y log(ŷ + ε), axis=-1)``: the Poisson negative log-likelihood up to a constant."""
    yt, yp = _same_shape("Poisson", y_true, y_pred)
    _check_range("Poisson", "y_pred", yp, 0.0, None, " (y_pred is a rate; use exp or softplus on the output)")
    return ops.mean(ops.sub(yp, ops.mul(yt, ops.log(ops.add(yp, EPSILON)))), axis=-1)


# --- margin losses ------------------------------------------------------------------------------

def _hinge_labels(y: Tensor) -> Tensor:
    """Keras converts labels that are all 0 or 1 to -1/+1; other labels are used as given."""
    if np.all((y.data == 0) | (y.data == 1)):
        return ops.sub(ops.mul(y, 2.0), 1.0)
    return y


def _margin(name: str, y_true: Any, y_pred: Any) -> Tensor:
    yt, yp = _same_shape(name, y_true, y_pred)
    return ops.maximum(ops.sub(1.0, ops.mul(_hinge_labels(yt), yp)), 0.0)


@_loss_function("Hinge")
def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(max(1 - y ŷ, 0), axis=-1)`` with labels ``y`` in {-1, +1} (0/1 labels are converted)."""
    return ops.mean(_margin("Hinge", y_true, y_pred), axis=-1)


@_loss_function("SquaredHinge")
def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(max(1 - y ŷ, 0)², axis=-1)`` with labels ``y`` in {-1, +1} (0/1 labels are converted)."""
    return ops.mean(ops.square(_margin("SquaredHinge", y_true, y_pred)), axis=-1)


@_loss_function("CategoricalHinge")
def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``max(neg - pos + 1, 0)`` with ``pos = Σ y ŷ`` and ``neg = max((1 - y) ŷ)`` over the last axis."""
    yt, yp = _same_shape("CategoricalHinge", y_true, y_pred)
    pos = ops.sum(ops.mul(yt, yp), axis=-1)
    neg = ops.max(ops.mul(ops.sub(1.0, yt), yp), axis=-1)
    return ops.maximum(ops.add(ops.sub(neg, pos), 1.0), 0.0)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    # x / max(‖x‖, ε), written as x / sqrt(max(Σx², ε²)) so a zero vector gets gradient 0, not NaN
    sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.div(x, ops.sqrt(ops.maximum(sq, EPSILON * EPSILON)))


@_loss_function("CosineSimilarity")
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """``-Σ (y / ‖y‖) (ŷ / ‖ŷ‖)`` along ``axis``: -1 for parallel vectors, 0 for orthogonal ones
    (and for a zero vector), +1 for opposite ones. Norms below ε = 1e-7 count as ε."""
    yt, yp = _same_shape("CosineSimilarity", y_true, y_pred)
    ax = _check_axis("CosineSimilarity", axis, yp.ndim)
    return ops.neg(ops.sum(ops.mul(_l2_normalize(yt, ax), _l2_normalize(yp, ax)), axis=ax))


# --- the classes ----------------------------------------------------------------------------------

class MeanSquaredError(LossFunctionWrapper):
    """Mean squared error, ``1/n Σ_i (y_i - ŷ_i)²``: the default regression loss."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class RootMeanSquaredError(Loss):
    """``sqrt`` of the reduced mean squared error: ``sqrt(MeanSquaredError(reduction)(...))``.

    Keras 3 has RMSE only as a metric; as a loss, the square root is taken *after* the
    reduction (so ``"sum_over_batch_size"`` gives ``sqrt(Σ w_i mse_i / N)`` and
    ``"mean_with_sample_weight"`` gives the Keras metric's ``sqrt(Σ w_i mse_i / Σ w_i)``);
    with ``"none"`` it is ``sqrt(w_i mse_i)`` per sample. Its gradient ``(ŷ - y) / (n · RMSE)``
    is undefined (0/0 → NaN) when every prediction is exact.
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "root_mean_squared_error"):
        super().__init__(reduction=reduction, name=name)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return mean_squared_error(y_true, y_pred)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        with _scope(self.scope_name):
            values = self.call(y_true, y_pred)
            reduced = reduce_weighted_values(values, sample_weight, self.reduction, loss=type(self).__name__)
            _check_range(type(self).__name__, "the weighted mean squared error", reduced, 0.0, None,
                         " (negative sample weights make the square root undefined)")
            return ops.sqrt(reduced)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean absolute error, ``1/n Σ_i |y_i - ŷ_i|``: regression that is robust to outliers."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error, ``100/n Σ_i |y_i - ŷ_i| / max(|y_i|, ε)``."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error, ``1/n Σ_i (log(1 + ŷ_i) - log(1 + y_i))²``."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond (Keras name ``"huber_loss"``)."""

    def __init__(self, delta: float = 1.0, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "huber_loss"):
        delta = float(delta)
        if not delta > 0 or not math.isfinite(delta):
            raise ValueError(f"Huber: delta must be a positive finite number, got {delta!r}")
        super().__init__(huber, reduction=reduction, name=name, delta=delta)
        self.delta = delta


class LogCosh(LossFunctionWrapper):
    """``log(cosh(ŷ - y))``: like MSE for small errors, like MAE for large ones."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "log_cosh"):
        super().__init__(log_cosh, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 (or soft) labels; ``from_logits=True`` for raw scores."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "binary_crossentropy"):
        label_smoothing = _check_smoothing("BinaryCrossentropy", label_smoothing)
        super().__init__(binary_crossentropy, reduction=reduction, name=name, from_logits=bool(from_logits),
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = bool(from_logits)
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy ``-Σ_j y_j log ŷ_j`` for one-hot (or soft) labels; ``from_logits=True`` for scores."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "categorical_crossentropy"):
        label_smoothing = _check_smoothing("CategoricalCrossentropy", label_smoothing)
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, from_logits=bool(from_logits),
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = bool(from_logits)
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with integer class labels (``y_true`` of shape ``y_pred.shape[:-1]``).

    ``ignore_class`` (Keras): rows with that label count for nothing, and the default
    reduction averages over the remaining rows only (``Σ_valid w_i ℓ_i / n_valid``).
    """

    def __init__(self, from_logits: bool = False, ignore_class: Optional[int] = None,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         from_logits=bool(from_logits), ignore_class=ignore_class)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        if self.ignore_class is None:
            return super().__call__(y_true, y_pred, sample_weight)
        with _scope(self.scope_name):
            values, keep = _sparse_ce(y_true, y_pred, self.from_logits, self.ignore_class)
            # Keras folds the mask into the weights; for a mean, valid rows get weight N / n_valid
            mask = keep.astype(values.dtype)
            if self.reduction == "sum_over_batch_size":
                n_valid = mask.sum()
                mask = mask * (mask.size / n_valid) if n_valid else mask
            if sample_weight is None:
                weights: Any = Tensor._wrap(mask)
            else:
                sw = _as_tensor(self.scope_name, "sample_weight", sample_weight, values.dtype)
                sw, m = squeeze_or_expand_to_same_rank(sw, Tensor._wrap(mask))
                weights = ops.mul(sw, m)
            return reduce_weighted_values(values, weights, self.reduction, loss=self.scope_name)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence ``Σ_j y_j log(y_j / ŷ_j)`` between two distributions."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "kl_divergence"):
        super().__init__(kl_divergence, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class Poisson(LossFunctionWrapper):
    """Poisson loss ``ŷ - y log(ŷ + ε)`` for count targets and non-negative rate predictions."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "poisson"):
        super().__init__(poisson, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class Hinge(LossFunctionWrapper):
    """Hinge loss ``max(1 - y ŷ, 0)`` for ±1 labels (0/1 labels are converted), as in SVMs."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "hinge"):
        super().__init__(hinge, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss ``max(1 - y ŷ, 0)²``: a smooth-at-the-margin hinge."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "squared_hinge"):
        super().__init__(squared_hinge, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class CategoricalHinge(LossFunctionWrapper):
    """Multi-class hinge ``max(max_{j≠t} ŷ_j - ŷ_t + 1, 0)`` for one-hot labels."""

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "categorical_hinge"):
        super().__init__(categorical_hinge, reduction=reduction, name=name)

    def get_config(self) -> Dict[str, Any]:
        return Loss.get_config(self)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis``: minimising it aligns ``ŷ`` with ``y``."""

    def __init__(self, axis: int = -1, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)
        self.axis = axis


# Keras's short function aliases
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy


# --- string aliases -----------------------------------------------------------------------------

ALL_LOSSES = (
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
    CosineSimilarity,
)
"""Every built-in loss class."""

_EXTRA_ALIASES = {
    MeanSquaredError: ("mse", "MSE"),
    RootMeanSquaredError: ("rmse", "RMSE"),
    MeanAbsoluteError: ("mae", "MAE"),
    MeanAbsolutePercentageError: ("mape", "MAPE"),
    MeanSquaredLogarithmicError: ("msle", "MSLE"),
    Huber: ("huber", "huber_loss"),
    LogCosh: ("logcosh", "log_cosh"),
    BinaryCrossentropy: ("bce", "BCE"),
    KLDivergence: ("kld", "KLD", "kl_divergence", "kullback_leibler_divergence"),
}

_ALIASES: Dict[str, type] = {}
for _cls in ALL_LOSSES:
    for _key in (_cls.__name__, _snake(_cls.__name__)) + _EXTRA_ALIASES.get(_cls, ()):
        _ALIASES[_key] = _cls
del _cls, _key


def get(identifier: Union[str, Callable, type, Dict[str, Any], None]) -> Optional[Callable]:
    """Resolve ``compile(loss=...)``: a name, a Loss class or config, or a callable.

    * a string (``"mse"``, ``"mean_squared_error"``, ``"MeanSquaredError"``, ...) gives a new
      instance of that :class:`Loss` with default arguments (so it returns a scalar, as the
      loss Keras's ``compile`` builds from the same string);
    * a dict ``{"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}``
      gives that class built with that config;
    * a :class:`Loss` subclass is instantiated; any other callable is returned unchanged;
    * ``None`` gives ``None``.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier)
        if cls is None:
            valid = ", ".join(sorted(_ALIASES, key=lambda k: (k.lower(), k)))
            raise ValueError(f"losses.get: unknown loss {identifier!r}; valid names are: {valid}")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _ALIASES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"losses.get: unknown loss class_name {name!r} in {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, type):
        if issubclass(identifier, Loss):
            return identifier()
        raise TypeError(f"losses.get: {identifier.__name__} is not a Loss subclass")
    if callable(identifier):
        return identifier
    raise TypeError(f"losses.get: expected a loss name, a Loss, a config dict or a callable; "
                    f"got {type(identifier).__name__}")
