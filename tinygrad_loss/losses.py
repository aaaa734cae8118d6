"""Losses: each one a plain composition of primitive ops, so autodiff gives its gradient.

Every loss comes in two forms, with Keras's argument order ``(y_true, y_pred)``:

* a function, e.g. ``mean_squared_error(y_true, y_pred)``, returning the *per-sample*
  values: the last axis is the feature/class axis and is reduced, as in Keras, so inputs
  of shape ``(n, k)`` give ``n`` values (and a 1-D input of shape ``(k,)`` is one sample);
* a class, e.g. ``MeanSquaredError(reduction="sum_over_batch_size", name=None, dtype=None)``,
  whose ``__call__(y_true, y_pred, sample_weight=None)`` weights and reduces those values.

Reductions (Keras 3 semantics), for per-sample losses ``l_i`` and weights ``w_i``::

    "sum_over_batch_size"      Σ_i w_i l_i / N     N = number of per-sample values (not Σ w)
    "sum"                      Σ_i w_i l_i
    "none" (or None)           w_i l_i             one value per sample
    "mean_with_sample_weight"  Σ_i w_i l_i / Σ_i w_i

A loss may also mark some per-sample values as not counting (Keras's mask: the rows of
``SparseCategoricalCrossentropy(ignore_class=c)``, the anchors without a positive in
``Circle``); the mean then runs over the counted values only.

No loss has a backward of its own: all of them are built from ``ops.OPS``, and each
records its ops under a name scope named after the class (``"MeanSquaredError"``), so a
drawn graph shows the loss as one labelled group.

Each function body is its formula: the ``@_loss_function`` decorator converts and checks the
inputs and the keyword arguments (one place for every loss) and opens the name scope; a
class is its function plus reduction (``class Huber(_FunctionLoss, fn=huber, name="huber_loss")``).

Numerics follow Keras 3 (``keras/src/losses/losses.py``): probabilities are clipped to
``[ε, 1 - ε]`` with ``ε = 1e-7``; ``from_logits=True`` uses log-softmax and the softplus
form of binary cross-entropy, which stay finite and exact for logits of any size.
"""
from __future__ import annotations

import functools
import inspect
import math
import re
import sys
import warnings
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import _validate as V
from . import ops
from .autograd import STATE, name_scope
from .tensor import Tensor, _count_nonzero, check_finite, get_default_dtype, numeric_array

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: the fuzz factor that clips probabilities and guards divisions."""

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight")
DTYPES = ("float16", "float32", "float64")

_LOG2 = math.log(2.0)
_min_of, _max_of = np.minimum.reduce, np.maximum.reduce


class ArgumentOrderWarning(UserWarning):
    """``y_true`` and ``y_pred`` look swapped (soft targets against exactly 0/1 predictions)."""


# --- checks shared by every loss -------------------------------------------------------------

def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _const(arr: np.ndarray) -> Tensor:
    """A constant (no graph, no copy) around ``arr``."""
    return Tensor._wrap(arr)


def _check_dtype(owner: str, dtype: Any) -> Optional[np.dtype]:
    """``None`` (follow y_pred) or one of float16/32/64; anything else is a ValueError."""
    if dtype is None:
        return None
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: dtype {dtype!r} is not a NumPy dtype (NumPy has no bfloat16); "
                         f"use one of {DTYPES}") from None
    if dt.name not in DTYPES:
        raise ValueError(f"{owner}: dtype must be one of {DTYPES} or None, got {dt.name!r}")
    return dt


def _as_tensor(loss: str, what: str, x: Any, dtype: Optional[np.dtype]) -> Tensor:
    """``x`` as a Tensor of float ``dtype`` (``None``: keep a float array's dtype, else the default).

    A Tensor keeps its graph: a dtype change is the differentiable ``astype`` op.
    """
    if x.__class__ is Tensor:  # the usual call: a float Tensor already of the dtype asked for
        dt = x._data.dtype
        if dt is dtype or (dtype is None and dt.kind == "f"):
            return x
    if isinstance(x, Tensor):
        if x.dtype.kind != "f":  # bool/int tensors (comparisons, labels) carry no gradient
            return _const(x.data.astype(dtype or get_default_dtype()))
        return ops.astype(x, dtype) if dtype is not None and x.dtype != dtype else x
    arr = numeric_array(x, loss, what)
    if dtype is None:
        dtype = arr.dtype if (arr.dtype.kind == "f" and isinstance(x, (np.ndarray, np.generic))) \
            else get_default_dtype()
    return _const(np.array(arr, dtype=dtype))


def _checked(loss: str, what: str, x: Any, dtype: Optional[np.dtype]) -> Tensor:
    t = _as_tensor(loss, what, x, dtype)
    d = t._data
    check_finite(loss, what, d)
    if d.size == 0:
        raise ValueError(f"{loss}: {what} is empty (shape {d.shape})")
    return t


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> Tuple[Tensor, Tensor]:
    """Keras's rule for ranks that differ by one through a trailing axis of size 1.

    ``(n,)`` against ``(n, 1)`` gives ``(n, 1)`` and ``(n, 1)`` (the rank-1 side gets the axis);
    ``(n, k)`` against ``(n, k, 1)`` drops the trailing 1. Anything else is returned unchanged.
    """
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        x2, x1 = _fit_rank(x2, x1, expand_rank_1)
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        x1, x2 = _fit_rank(x1, x2, expand_rank_1)
    return x1, x2


def _fit_rank(low: Tensor, high: Tensor, expand_rank_1: bool) -> Tuple[Tensor, Tensor]:
    """``high`` has one more axis, of size 1: expand a rank-1 ``low``, else squeeze ``high``."""
    if low.ndim == 1 and expand_rank_1:
        return ops.unsqueeze(low, -1), high
    return low, ops.squeeze(high, -1)


def _check_range(loss: str, what: str, t: Tensor, lo: float, hi: Optional[float], hint: str = "") -> None:
    d = t._data
    # the extremes (two reductions, no temporary arrays) clear the usual case; NaN and the rest take the full test
    if d.size and lo <= _min_of(d, axis=None) and (hi is None or _max_of(d, axis=None) <= hi):
        return
    bad = (d < lo) if hi is None else ((d < lo) | (d > hi))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        span = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{loss}: {what} must be {span}, got {d[idx].item()!r} at index {idx}{hint}")


def _axes(loss: str, axis: Any, ndim: int) -> Any:
    """``axis`` checked against ``ndim``: an int (made non-negative), or a tuple of ints / None (all)."""
    return V.axes(loss, axis, ndim) if axis is None or isinstance(axis, (tuple, list)) else V.axis(loss, axis, ndim)


# --- keyword arguments: one checker per argument name ------------------------------------------

def _in(lo: Optional[float] = None, hi: Optional[float] = None, lo_open: bool = False,
        hi_open: bool = False) -> Callable[[str, str, Any], float]:
    return lambda loss, key, value: V.number(loss, key, value, lo, hi, lo_open, hi_open)


def _keep_checked(check: Callable[[str, Any, int], Any]) -> Callable[[str, str, Any], Any]:
    """An axis argument: its type is checked now, its range once the inputs' rank is known."""
    def run(loss: str, key: str, value: Any) -> Any:
        check(loss, value, 64)
        return value
    return run


_ARG_CHECKS: Dict[str, Callable[[str, str, Any], Any]] = {
    "from_logits": V.boolean, "apply_class_balancing": V.boolean, "remove_diagonal": V.boolean,
    "label_smoothing": _in(0.0, 1.0), "delta": _in(0.0, lo_open=True), "gamma": _in(0.0), "beta": _in(0.0),
    "margin": _in(), "q": _in(0.0, 1.0, lo_open=True, hi_open=True),
    "ignore_class": lambda loss, key, value: V.integer(loss, key, value, allow_none=True),
    "axis": _keep_checked(V.axis),
}
_MANY_AXES = {"axis": _keep_checked(V.axes)}


def _check_args(loss: str, kwargs: Dict[str, Any], extra: Optional[Dict[str, Callable]] = None) -> Dict[str, Any]:
    checks = {**_ARG_CHECKS, **(extra or {})}
    return {k: checks[k](loss, k, v) if k in checks else v for k, v in kwargs.items()}


# --- the name scope and the decorator that makes a body into a loss function ------------------

class _Scope:
    """``name_scope(name)``, unless the innermost scope already is ``name`` (a class calling its function).

    Re-entrant (a stack of what each entry did), so one is made per name and reused: a loss is
    called on every training step."""

    __slots__ = ("name", "suffix", "cm", "pushed")

    def __init__(self, name: str):
        self.name, self.suffix = name, "/" + name
        self.cm = name_scope(name)
        self.pushed: list = []

    def __enter__(self) -> str:
        cur = STATE.scope
        if cur == self.name or cur.endswith(self.suffix):
            self.pushed.append(False)
            return cur
        self.pushed.append(True)
        return self.cm.__enter__()

    def __exit__(self, *exc) -> bool:
        if self.pushed.pop():
            return bool(self.cm.__exit__(*exc))
        return False


_SCOPES: Dict[str, _Scope] = {}
#: (outer scope, name) -> the scope a built-in loss class's call runs in (see _FunctionLoss.__call__).
_INNER: Dict[Tuple[str, str], str] = {}


def _inner_scope(outer: str, name: str) -> str:
    """The scope ``_scope(name)`` enters inside ``outer``: ``outer`` itself when its innermost name already
    is ``name``, else ``outer/name`` (``name`` alone at the top); remembered (at most 1024 entries)."""
    if outer == name or outer.endswith("/" + name):
        inner = outer
    else:
        with name_scope(name) as inner:  # name_scope's own checks and string
            pass
    if len(_INNER) >= 1024:
        _INNER.clear()
    _INNER[(outer, name)] = inner
    return inner


def _scope(name: str) -> _Scope:
    """The :class:`_Scope` of ``name`` (made on first use; a bad name is name_scope's error)."""
    sc = _SCOPES.get(name)
    if sc is None:
        sc = _Scope(name)
        if len(_SCOPES) >= 1024:  # names of user losses made in a loop must not grow it forever
            _SCOPES.clear()
        _SCOPES[name] = sc
    return sc


Inputs = Callable[[str, Any, Any, Dict[str, Any]], Tuple[Any, Tensor]]


def _same_shape(loss: str, y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[Tensor, Tensor]:
    """Inputs of an elementwise loss: both Tensors of y_pred's float dtype, finite, equal shapes
    after Keras's squeeze/expand rule, else ValueError."""
    yp = _checked(loss, "y_pred", y_pred, None)
    return _matched(loss, _checked(loss, "y_true", y_true, yp._data.dtype), yp)


def _in_unit_interval(d: np.ndarray) -> bool:
    """Whether ``d`` is non-empty with every entry in [0, 1]: its extremes (two reductions, no
    temporary arrays). This also proves every entry finite: a NaN fails both comparisons."""
    return bool(d.size) and 0.0 <= _min_of(d, None) and _max_of(d, None) <= 1.0


def _matched(loss: str, yt: Tensor, yp: Tensor) -> Tuple[Tensor, Tensor]:
    """``_same_shape`` once both inputs are checked Tensors."""
    shape = yp._data.shape
    if yt._data.shape != shape:  # (equal shapes: the rank rule has nothing to do)
        shapes = (yt.shape, shape)
        yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
        if yt.shape != yp.shape:
            raise ValueError(f"{loss}: y_true has shape {shapes[0]} but y_pred has shape {shapes[1]}; they must "
                             "match (only a trailing axis of size 1 on one side is allowed, e.g. (n,) against (n, 1))")
    if not yp._data.shape:  # a single number: one sample with one feature
        yt, yp = ops.reshape(yt, (1,)), ops.reshape(yp, (1,))
    return yt, yp


# Input rules that start with _same_shape: a loss function built on one says so (``fn.same_shape_inputs``),
# so fit can convert y to y_true once per batch, or once per fit, instead of in every step.
_same_shape.same_shape = True  # type: ignore[attr-defined]


def _loss_function(scope: str, inputs: Inputs = _same_shape, checks: Optional[Dict[str, Callable]] = None
                   ) -> Callable[[Callable[..., Any]], Callable[..., Tensor]]:
    """Make ``body(y_true, y_pred, **kwargs)`` a loss function: its keyword arguments are
    checked (``_ARG_CHECKS`` by name, plus ``checks``), the inputs converted by ``inputs``, an
    ``axis`` checked against the rank, and everything recorded under ``name_scope(scope)``.

    A body may return ``(values, mask)`` (Keras's loss mask): the function returns the values,
    ``fn.with_mask`` both.
    """

    def deco(body: Callable[..., Any]) -> Callable[..., Tensor]:
        sig = inspect.signature(body)
        defaults = _check_args(scope, {k: p.default for k, p in list(sig.parameters.items())[2:]}, checks)

        in_scope = _Scope(scope)

        def run_in_scope(y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[Tensor, Optional[np.ndarray]]:
            """:func:`run` when the innermost scope already is ``scope`` (a class of the same name opened it)."""
            yt, yp = inputs(scope, y_true, y_pred, kw)
            if "axis" in kw:
                ax, nd = kw["axis"], yp._data.ndim
                kw = {**kw, "axis": ax % nd if type(ax) is int and -nd <= ax < nd else _axes(scope, ax, nd)}
            out = body(yt, yp, **kw)
            return out if isinstance(out, tuple) else (out, None)

        def run(y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[Tensor, Optional[np.ndarray]]:
            """The body on checked keyword arguments ``kw`` (a class checks them once, when built)."""
            with in_scope:
                return run_in_scope(y_true, y_pred, kw)

        def with_mask(y_true: Any, y_pred: Any, *args: Any, **kwargs: Any) -> Tuple[Tensor, Optional[np.ndarray]]:
            if not args and not kwargs:
                return run(y_true, y_pred, defaults)
            bound = sig.bind(y_true, y_pred, *args, **kwargs)
            bound.apply_defaults()
            return run(y_true, y_pred, _check_args(scope, dict(list(bound.arguments.items())[2:]), checks))

        @functools.wraps(body)
        def fn(y_true: Any, y_pred: Any, *args: Any, **kwargs: Any) -> Tensor:
            try:
                return with_mask(y_true, y_pred, *args, **kwargs)[0]
            except (TypeError, ValueError) as e:  # called as a function: its errors name it (a class names itself)
                raise V.renamed(e, body.__name__, (scope,)) from None

        fn.scope_name = scope  # type: ignore[attr-defined]
        fn.same_shape_inputs = getattr(inputs, "same_shape", False)  # type: ignore[attr-defined]
        fn.with_mask = with_mask  # type: ignore[attr-defined]
        fn.run = run  # type: ignore[attr-defined]
        fn.run_in_scope = run_in_scope  # type: ignore[attr-defined]
        fn.check_args = lambda kw: _check_args(scope, kw, checks)  # type: ignore[attr-defined]
        return fn

    return deco


# --- reduction ------------------------------------------------------------------------------

def _check_reduction(reduction: Optional[str], who: str) -> str:
    if reduction is None:
        return "none"
    V.string(who, "reduction", reduction)  # an array or a number is a TypeError, not NumPy's truth-value error
    if reduction == "mean":  # Keras accepts "mean" as a synonym
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(f"{who}: reduction must be one of {REDUCTIONS}, 'mean' or None; got {reduction!r}")
    return reduction


def _mask_weights(mask: np.ndarray, reduction: str, dtype: np.dtype) -> np.ndarray:
    """Keras's ``apply_mask``: masked values weigh 0; for a mean, the others weigh N / n_counted."""
    m = mask.astype(dtype)
    if reduction == "sum_over_batch_size" and m.sum():
        m = m * (m.size / m.sum())
    return m


def reduce_weighted_values(values: Tensor, sample_weight: Any = None, reduction: str = "sum_over_batch_size",
                           loss: str = "loss", mask: Optional[np.ndarray] = None) -> Tensor:
    """Weight per-sample ``values`` by ``sample_weight`` and reduce them (Keras 3 semantics).

    ``sample_weight`` must have the shape of ``values`` or broadcast to it: a scalar weights
    every sample, and ``(n, 1)`` against ``(n,)`` drops the trailing 1. ``"sum_over_batch_size"``
    divides the weighted sum by the *number of values*, not by the sum of the weights
    (``"mean_with_sample_weight"`` divides by ``Σ w`` broadcast to the values, and gives 0 when
    ``Σ w = 0``). ``mask`` (booleans shaped like ``values``) drops values from the sums and the count.
    """
    if reduction.__class__ is not str or reduction not in REDUCTIONS:  # (the checked names pass as they are)
        reduction = _check_reduction(reduction, loss)
    if sample_weight is None and mask is None and reduction == "sum_over_batch_size" and values._data.ndim:
        return ops.mean(values)  # (the usual call: what the general path below comes to)
    sw = None
    if sample_weight is not None:
        sw = _as_tensor(loss, "sample_weight", sample_weight, values.dtype)
        check_finite(loss, "sample_weight", sw.data)
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
    if mask is not None:
        m = _const(_mask_weights(mask, reduction, values.dtype))
        sw = m if sw is None else ops.mul(sw, m)
    if sw is not None:
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
    ``dtype``: ``"float16"``, ``"float32"`` or ``"float64"`` computes the loss (and returns it)
    in that dtype; ``None`` (default) keeps ``y_pred``'s float dtype.
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: Optional[str] = None,
                 dtype: Any = None):
        who = type(self).__name__
        self.reduction = _check_reduction(reduction, who)
        self.name = V.string(who, "name", name, allow_none=True) or _snake(who)
        self.dtype = _check_dtype(type(self).__name__, dtype)

    @property
    def scope_name(self) -> str:
        """The name scope the loss's ops are recorded under: the class name."""
        return type(self).__name__

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) must return per-sample losses")

    def _values_and_mask(self, y_true: Any, y_pred: Tensor) -> Tuple[Any, Optional[np.ndarray]]:
        # like Keras, subclasses receive Tensors of y_pred's float dtype
        return self.call(_as_tensor(self.scope_name, "y_true", y_true, y_pred.dtype), y_pred), None

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The weighted, reduced loss: a scalar Tensor, or per-sample values for ``reduction="none"``."""
        scope = self.scope_name
        with _scope(scope):
            y_pred = _as_tensor(scope, "y_pred", y_pred, self.dtype)
            values, mask = self._values_and_mask(y_true, y_pred)
            if not isinstance(values, Tensor):
                raise TypeError(f"{scope}: call(y_true, y_pred) must return a Tensor, got {type(values).__name__}")
            return reduce_weighted_values(values, sample_weight, self.reduction, loss=scope, mask=mask)

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction,
                "dtype": None if self.dtype is None else self.dtype.name}

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
                 name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {type(fn).__name__}")
        super().__init__(reduction=reduction, name=name if name is not None else getattr(fn, "__name__", "loss"),
                         dtype=dtype)
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

    def _values_and_mask(self, y_true: Any, y_pred: Tensor) -> Tuple[Any, Optional[np.ndarray]]:
        with_mask = getattr(self.fn, "with_mask", None)
        if with_mask is None or type(self).call is not LossFunctionWrapper.call:
            # a user's function, or a subclass's own call(): Tensors in, like Loss.call
            return super()._values_and_mask(y_true, y_pred)
        return with_mask(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


class _FunctionLoss(LossFunctionWrapper):
    """A built-in loss: its function (``fn=``) plus reduction, with Keras's signature
    ``Class(<the function's keyword arguments>, reduction=..., name=<name=>, dtype=None)``.
    The arguments are checked at construction and kept as attributes (``Huber(delta=2).delta``)."""

    _one_scope = False

    def __init_subclass__(cls, fn: Optional[Callable[..., Tensor]] = None, name: Optional[str] = None,
                          args: Optional[Tuple[str, ...]] = None, **kwargs: Any):
        """``args``: the function's keyword arguments the class takes, in Keras's order (default: all)."""
        super().__init_subclass__(**kwargs)
        if fn is not None:  # (a user's subclass of a built-in loss keeps its parent's function)
            cls._take_function(fn, name, args)
        # a class named as its function's scope, and whose values are its function's, opens that scope once
        # per call, not twice (the function's own entry would find it open and do nothing)
        cls._one_scope = (cls.__name__ == getattr(getattr(cls, "loss_fn", None), "scope_name", None)
                          and cls.scope_name is LossFunctionWrapper.scope_name
                          and cls._values_and_mask is _FunctionLoss._values_and_mask
                          and cls.call is LossFunctionWrapper.call)

    @classmethod
    def _take_function(cls, fn: Callable[..., Tensor], name: Optional[str], args: Optional[Tuple[str, ...]]) -> None:
        params = inspect.signature(inspect.unwrap(fn)).parameters
        args = [params[a] for a in args] if args else list(params.values())[2:]
        tail = [inspect.Parameter("reduction", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="sum_over_batch_size"),
                inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=name or fn.__name__),
                inspect.Parameter("dtype", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
        cls.__signature__ = inspect.Signature(args + tail)
        cls.loss_fn = staticmethod(fn)
        cls.default_name = name or fn.__name__

    def __init__(self, *args: Any, **kwargs: Any):
        bound = self.__signature__.bind(*args, **kwargs)
        bound.apply_defaults()
        kw = dict(bound.arguments)
        reduction, name, dtype = kw.pop("reduction"), kw.pop("name"), kw.pop("dtype")
        kw = self.loss_fn.check_args(kw)
        super().__init__(self.loss_fn, reduction=reduction, name=name, dtype=dtype, **kw)
        for key, value in kw.items():
            setattr(self, key, value)

    def _values_and_mask(self, y_true: Any, y_pred: Tensor) -> Tuple[Any, Optional[np.ndarray]]:
        if type(self).call is not LossFunctionWrapper.call:  # a user's subclass with its own call()
            return Loss._values_and_mask(self, y_true, y_pred)
        return self.loss_fn.run(y_true, y_pred, self._fn_kwargs)  # checked in __init__

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        if not self._one_scope:
            return super().__call__(y_true, y_pred, sample_weight)
        # Loss.__call__ with the function's body run directly in the class's scope (the same name). The
        # scope is entered inline, as _Scope does it (nothing pushed when the innermost scope already is
        # this name; else ``outer/name``, the string made once per outer scope), and put back on the way out.
        scope = type(self).__name__
        state = STATE
        outer = state.scope
        inner = _INNER.get((outer, scope))
        if inner is None:
            inner = _inner_scope(outer, scope)
        state.scope = inner
        try:
            y_pred = _as_tensor(scope, "y_pred", y_pred, self.dtype)
            values, mask = self.loss_fn.run_in_scope(y_true, y_pred, self._fn_kwargs)
            if values.__class__ is not Tensor and not isinstance(values, Tensor):
                raise TypeError(f"{scope}: call(y_true, y_pred) must return a Tensor, got {type(values).__name__}")
            reduction = self.reduction
            if sample_weight is None and mask is None and reduction.__class__ is str \
                    and reduction == "sum_over_batch_size" and values._data.ndim:
                return ops.mean(values)  # (reduce_weighted_values's first test, without its call)
            return reduce_weighted_values(values, sample_weight, reduction, loss=scope, mask=mask)
        finally:
            state.scope = outer


# --- regression losses ------------------------------------------------------------------------

def _softplus(x: Tensor) -> Tensor:
    # nn.activations owns softplus; nn imports the trainer, which imports this module: import on use
    from .nn.activations import softplus
    return softplus(x)


@_loss_function("MeanSquaredError")
def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Per-sample mean squared error: ``mean((y_true - y_pred)², axis=-1)``."""
    return ops.mean(ops.square(ops.sub(y_true, y_pred)), axis=-1)


class MeanSquaredError(_FunctionLoss, fn=mean_squared_error):
    """Mean squared error, ``1/n Σ_i (y_i - ŷ_i)²``: the default regression loss.

    Use it for regression with roughly Gaussian noise; large errors dominate, so outliers pull hard.
    """


@_loss_function("RootMeanSquaredError")
def root_mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Per-sample root mean squared error: ``sqrt(mean((y_true - y_pred)², axis=-1))``."""
    return ops.sqrt(mean_squared_error(y_true, y_pred))


class RootMeanSquaredError(_FunctionLoss, fn=root_mean_squared_error):
    """``sqrt`` of the reduced mean squared error: ``sqrt(MeanSquaredError(reduction)(...))``.

    Keras 3 has RMSE only as a metric; as a loss, the square root is taken *after* the
    reduction (so ``"sum_over_batch_size"`` gives ``sqrt(Σ w_i mse_i / N)`` and
    ``"mean_with_sample_weight"`` gives the Keras metric's ``sqrt(Σ w_i mse_i / Σ w_i)``);
    with ``"none"`` it is ``sqrt(w_i mse_i)`` per sample. Its gradient ``(ŷ - y) / (n · RMSE)``
    is undefined (0/0 → NaN) when every prediction is exact.
    """

    def _values_and_mask(self, y_true: Any, y_pred: Tensor) -> Tuple[Any, Optional[np.ndarray]]:
        try:
            return mean_squared_error.with_mask(y_true, y_pred)
        except (TypeError, ValueError) as e:
            raise V.renamed(e, "RootMeanSquaredError", ("MeanSquaredError",)) from None

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        with _scope(self.scope_name):
            reduced = super().__call__(y_true, y_pred, sample_weight)
            _check_range(self.scope_name, "the weighted mean squared error", reduced, 0.0, None,
                         " (negative sample weights make the square root undefined)")
            return ops.sqrt(reduced)


@_loss_function("MeanAbsoluteError")
def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Per-sample mean absolute error: ``mean(|y_true - y_pred|, axis=-1)``."""
    return ops.mean(ops.abs(ops.sub(y_true, y_pred)), axis=-1)


class MeanAbsoluteError(_FunctionLoss, fn=mean_absolute_error):
    """Mean absolute error, ``1/n Σ_i |y_i - ŷ_i|``: regression that is robust to outliers
    (it estimates the median; its gradient has constant size)."""


@_loss_function("MeanAbsolutePercentageError")
def mean_absolute_percentage_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``100 · mean(|y_true - y_pred| / max(|y_true|, ε), axis=-1)`` (ε = 1e-7 guards y_true = 0)."""
    diff = ops.abs(ops.div(ops.sub(y_true, y_pred), ops.maximum(ops.abs(y_true), EPSILON)))
    return ops.mul(ops.mean(diff, axis=-1), 100.0)


class MeanAbsolutePercentageError(_FunctionLoss, fn=mean_absolute_percentage_error):
    """Mean absolute percentage error, ``100/n Σ_i |y_i - ŷ_i| / max(|y_i|, ε)``, for targets
    where the relative error matters (sales, prices); a target of 0 makes it explode."""


@_loss_function("MeanSquaredLogarithmicError")
def mean_squared_logarithmic_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``mean((log(max(y_pred, ε) + 1) - log(max(y_true, ε) + 1))², axis=-1)``.

    As in Keras, values below ε = 1e-7 (including negatives) are raised to ε first.
    """
    first = ops.log(ops.add(ops.maximum(y_pred, EPSILON), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, EPSILON), 1.0))
    return ops.mean(ops.square(ops.sub(first, second)), axis=-1)


class MeanSquaredLogarithmicError(_FunctionLoss, fn=mean_squared_logarithmic_error):
    """Mean squared logarithmic error, ``1/n Σ_i (log(1 + ŷ_i) - log(1 + y_i))²``.

    Use it for non-negative targets spanning orders of magnitude, where under-predicting
    should cost more than over-predicting.
    """


@_loss_function("Huber")
def huber(y_true: Tensor, y_pred: Tensor, delta: float = 1.0) -> Tensor:
    """Per-sample Huber loss with error ``x = y_pred - y_true``::

        ½ x²               if |x| <= δ
        δ |x| - ½ δ²       otherwise
    """
    err = ops.sub(y_pred, y_true)
    abs_err = ops.abs(err)
    quadratic = ops.mul(ops.square(err), 0.5)
    linear = ops.sub(ops.mul(abs_err, delta), 0.5 * delta * delta)
    return ops.mean(ops.where(abs_err.data <= delta, quadratic, linear), axis=-1)


class Huber(_FunctionLoss, fn=huber, name="huber_loss"):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond (Keras name ``"huber_loss"``)."""


@_loss_function("LogCosh")
def log_cosh(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``mean(log(cosh(x)), axis=-1)`` with ``x = y_pred - y_true``, computed as
    ``x + softplus(-2x) - log 2`` so that large ``|x|`` never overflows ``cosh``."""
    x = ops.sub(y_pred, y_true)
    return ops.mean(ops.sub(ops.add(x, _softplus(ops.mul(x, -2.0))), _LOG2), axis=-1)


class LogCosh(_FunctionLoss, fn=log_cosh):
    """``log(cosh(ŷ - y))``: like MSE for small errors, like MAE for large ones, smooth everywhere."""


# --- probabilistic losses ---------------------------------------------------------------------

_PROB_HINT = " (y_pred holds probabilities when from_logits=False; pass from_logits=True for raw scores)"
_WARNED: set = set()


def _warn_if_swapped(loss: str, y_true: Tensor, y_pred: Tensor, axis: Optional[int]) -> None:
    """Warn once per loss when ``y_true`` holds soft probabilities while ``y_pred`` is exactly 0/1
    (one-hot rows when ``axis`` is given): the arguments were most likely passed as (y_pred, y_true)."""
    t, p = y_true.data, y_pred.data
    hard = np.all((p == 0) | (p == 1)) and (axis is None or np.all(p.sum(axis=axis) == 1))
    if loss not in _WARNED and hard and np.any((t > 0) & (t < 1)):
        _WARNED.add(loss)
        warnings.warn(f"{loss}: y_true holds probabilities strictly between 0 and 1 while y_pred is exactly "
                      f"{'one-hot' if axis is not None else '0/1'}; the arguments look swapped (the order is "
                      f"loss(y_true, y_pred)). This warning is shown once.", ArgumentOrderWarning,
                      stacklevel=_caller_level())


def _caller_level() -> int:
    """The ``stacklevel`` of a warning from :func:`_warn_if_swapped` that points at the first frame
    outside this module: the user's call, through however many of the loss's layers it went."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _probabilities(loss: str, y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[Tensor, Tensor]:
    """Targets in [0, 1] against probabilities in [0, 1] (or logits with ``from_logits=True``)."""
    yp = _checked(loss, "y_pred", y_pred, None)
    yt = _as_tensor(loss, "y_true", y_true, yp._data.dtype)
    # targets in [0, 1] (the usual case) are finite and not empty: the full checks run only for the others,
    # in the order _same_shape runs them (finite, not empty, then the shapes, then the range)
    in_unit = _in_unit_interval(yt._data)
    if not in_unit:
        _checked(loss, "y_true", yt, None)
    yt, yp = _matched(loss, yt, yp)
    if not in_unit:  # (the check above raised for NaN/inf or empty; this one for the values outside [0, 1])
        _check_range(loss, "y_true", yt, 0.0, 1.0)
    if not kw["from_logits"]:
        _check_range(loss, "y_pred", yp, 0.0, 1.0, _PROB_HINT)
        one_hot_axis = _axes(loss, kw["axis"], yp.ndim) if "Categorical" in loss else None
        _warn_if_swapped(loss, yt, yp, one_hot_axis)
    return yt, yp


_probabilities.same_shape = True  # type: ignore[attr-defined]


def _smooth_binary(z: Tensor, s: float) -> Tensor:
    return ops.add(ops.mul(z, 1.0 - s), 0.5 * s) if s else z


def _smooth_categorical(y: Tensor, s: float, axis: int) -> Tensor:
    return ops.add(ops.mul(y, 1.0 - s), s / y.shape[axis]) if s else y


def _bce_terms(z: Tensor, p: Tensor, from_logits: bool) -> Tensor:
    """Elementwise binary cross-entropy: ``softplus(x) - x z`` for logits (exact for any x),
    ``-(z log p + (1-z) log(1-p))`` with p clipped to [ε, 1-ε] for probabilities."""
    if from_logits:
        return ops.sub(_softplus(p), ops.mul(p, z))
    p = ops.clip(p, EPSILON, 1.0 - EPSILON)
    return ops.neg(ops.add(ops.mul(z, ops.log(p)), ops.mul(ops.sub(1.0, z), ops.log(ops.sub(1.0, p)))))


@_loss_function("BinaryCrossentropy", inputs=_probabilities)
def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """Per-sample binary cross-entropy, averaged over ``axis``.

    Probabilities ``p`` (clipped to ``[ε, 1-ε]``): ``-(z log p + (1-z) log(1-p))``.
    Logits ``x``: ``max(x, 0) - x z + log(1 + e^-|x|)``, exact and finite for any ``x``.
    ``label_smoothing = s`` replaces ``z`` by ``z (1 - s) + s/2``.
    """
    return ops.mean(_bce_terms(_smooth_binary(y_true, label_smoothing), y_pred, from_logits), axis=axis)


class BinaryCrossentropy(_FunctionLoss, fn=binary_crossentropy):
    """Binary cross-entropy for 0/1 (or soft) labels; ``from_logits=True`` for raw scores.

    Use it for binary and multi-label classification (one sigmoid per output).
    """


@_loss_function("BinaryFocalCrossentropy", inputs=_probabilities,
                checks={"alpha": _in(0.0, 1.0)})
def binary_focal_crossentropy(y_true: Tensor, y_pred: Tensor, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross-entropy scaled by the focal factor ``(1 - p_t)^γ``, averaged over ``axis``.

    ``p_t = z p + (1-z)(1-p)`` is the probability given to the true class, so confident right
    answers (``p_t → 1``) count for little. ``apply_class_balancing`` also weighs class 1 by
    ``α`` and class 0 by ``1 - α``. With logits the cross-entropy is the exact softplus form.
    """
    z = _smooth_binary(y_true, label_smoothing)
    p = ops.sigmoid(y_pred) if from_logits else y_pred
    p_t = ops.add(ops.mul(z, p), ops.mul(ops.sub(1.0, z), ops.sub(1.0, p)))
    focal = ops.mul(ops.pow(ops.sub(1.0, p_t), gamma), _bce_terms(z, y_pred, from_logits)) if gamma \
        else _bce_terms(z, y_pred, from_logits)  # (1 - p_t)^0 = 1, also where p_t = 1
    if apply_class_balancing:
        focal = ops.mul(ops.add(ops.mul(z, alpha), ops.mul(ops.sub(1.0, z), 1.0 - alpha)), focal)
    return ops.mean(focal, axis=axis)


class BinaryFocalCrossentropy(_FunctionLoss, fn=binary_focal_crossentropy):
    """Binary cross-entropy times ``(1 - p_t)^γ`` (Lin et al., 2017), optionally balanced by ``α``.

    Use it for imbalanced binary problems (detection, rare events): the many easy examples
    stop drowning the gradient of the few hard ones. ``gamma=0`` is plain binary cross-entropy.
    """


def _log_probs(loss: str, p: Tensor, from_logits: bool, axis: int) -> Tensor:
    """``log_softmax(p)`` for logits; for probabilities ``log(clip(p / Σ p, ε, 1-ε))`` as in Keras."""
    if from_logits:
        return ops.log_softmax(p, axis=axis)
    return ops.log(ops.clip(_renormalised(loss, p, axis), EPSILON, 1.0 - EPSILON))


def _renormalised(loss: str, p: Tensor, axis: int) -> Tensor:
    total = ops.sum(p, axis=axis, keepdims=True)
    if np.any(total.data == 0):
        raise ValueError(f"{loss}: a row of y_pred sums to 0 along axis {axis}; probabilities cannot be renormalised")
    return ops.div(p, total)


@_loss_function("CategoricalCrossentropy", inputs=_probabilities)
def categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Per-sample categorical cross-entropy ``-Σ_j y_j log ŷ_j`` over ``axis`` (the class axis).

    Probabilities are first renormalised to sum to 1 along ``axis`` and clipped to
    ``[ε, 1-ε]`` (Keras); logits go through ``log_softmax``. ``label_smoothing = s``
    replaces ``y`` by ``y (1 - s) + s / C`` for ``C`` classes.
    """
    y = _smooth_categorical(y_true, label_smoothing, axis)
    return ops.neg(ops.sum(ops.mul(y, _log_probs("CategoricalCrossentropy", y_pred, from_logits, axis)), axis=axis))


class CategoricalCrossentropy(_FunctionLoss, fn=categorical_crossentropy):
    """Cross-entropy ``-Σ_j y_j log ŷ_j`` for one-hot (or soft) labels; ``from_logits=True`` for scores."""


def _class_weights(loss: str, key: str, value: Any) -> Any:
    """A scalar ``alpha`` or one weight per class (a list)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [V.number(loss, key, v) for v in V.real_array(loss, value, key, allow_bool=False).ravel()]
    return V.number(loss, key, value)


@_loss_function("CategoricalFocalCrossentropy", inputs=_probabilities, checks={"alpha": _class_weights})
def categorical_focal_crossentropy(y_true: Tensor, y_pred: Tensor, alpha: Any = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """``-Σ_j α (1 - p_j)^γ y_j log p_j`` over ``axis``: cross-entropy that fades for confident classes.

    ``p`` is y_pred renormalised and clipped to [ε, 1-ε] (or ``softmax`` of logits, whose log is the
    exact ``log_softmax``); ``alpha`` is a scalar or one weight per class.
    """
    if isinstance(alpha, list) and len(alpha) != y_pred.shape[axis]:
        raise ValueError(f"CategoricalFocalCrossentropy: alpha has {len(alpha)} per-class weights but y_pred has "
                         f"{y_pred.shape[axis]} classes along axis {axis}")
    y = _smooth_categorical(y_true, label_smoothing, axis)
    logp = _log_probs("CategoricalFocalCrossentropy", y_pred, from_logits, axis)
    p = ops.softmax(y_pred, axis=axis) if from_logits else ops.exp(logp)
    weight = ops.mul(ops.pow(ops.sub(1.0, p), gamma), _along(alpha, axis, y_pred.ndim, y_pred.dtype))
    return ops.neg(ops.sum(ops.mul(weight, ops.mul(y, logp)), axis=axis))


class CategoricalFocalCrossentropy(_FunctionLoss, fn=categorical_focal_crossentropy):
    """Categorical cross-entropy times ``α (1 - p_j)^γ``: training focuses on the hard examples.

    Use it for imbalanced multi-class problems; ``alpha`` may hold one weight per class.
    """


def _along(values: Any, axis: int, ndim: int, dtype: np.dtype) -> Any:
    """A per-class list as an array laid along ``axis`` (a scalar stays a scalar)."""
    if not isinstance(values, list):
        return values
    shape = [1] * ndim
    shape[axis] = len(values)
    return np.asarray(values, dtype=dtype).reshape(shape)


def _labels(loss: str, labels: Any, shape: Tuple[int, ...], n_classes: Optional[int],
            ignore_class: Optional[int] = None, pred_shape: Tuple[int, ...] = (),
            names: Tuple[str, str] = ("y_true", "y_pred")) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Integer class labels of ``shape`` (a trailing axis of 1 is dropped), range-checked, and the
    mask of labels to keep (``None`` when ``ignore_class`` is ``None``). ``n_classes=None``: any int.
    ``names``: the arguments holding the labels and the predictions, for the error messages."""
    what, pred = names
    lab = numeric_array(labels, loss, f"{what} (integer class labels)")
    given = lab.shape
    if lab.ndim == len(shape) + 1 and lab.shape[-1] == 1:
        lab = lab.reshape(lab.shape[:-1])
    if lab.shape != shape:
        raise ValueError(f"{loss}: {what} has shape {given} and {pred} has shape {pred_shape}; {what} must hold "
                         f"one class index per row of {pred}, i.e. have shape {shape}")
    if lab.dtype.kind == "f":
        check_finite(loss, what, lab)
        if not np.all(lab == np.round(lab)):
            raise ValueError(f"{loss}: {what} must hold integer class labels, got {lab[lab != np.round(lab)].flat[0]}")
    lab = lab.astype(np.int64)
    keep = None if ignore_class is None else lab != ignore_class
    if keep is not None:
        lab = np.where(keep, lab, 0)  # any valid index: the ignored rows' values are replaced by 0
    # (a negative label seen as uint64 is huge: one comparison and a C count clear the usual case)
    if n_classes is not None and _count_nonzero(lab.view(np.uint64) >= n_classes):
        out = (lab < 0) | (lab >= n_classes)
        raise ValueError(f"{loss}: class label {lab[out].flat[0]} is out of range for y_pred with {n_classes} "
                         f"classes (labels must be in [0, {n_classes - 1}])")
    return lab, keep


def _sparse(loss: str, y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[Tuple[np.ndarray, Any], Tensor]:
    """Integer labels (and the ignore mask) against probabilities or logits over the last axis."""
    p = _checked(loss, "y_pred", y_pred, None)
    if p.ndim < 1:
        raise ValueError(f"{loss}: y_pred must have a class axis, got shape {p.shape}")
    if not kw.get("from_logits", False):  # a loss without from_logits (generalized CE) takes probabilities only
        _check_range(loss, "y_pred", p, 0.0, 1.0, _PROB_HINT if "from_logits" in kw else "")
    return _labels(loss, y_true, p.shape[:-1], p.shape[-1], kw.get("ignore_class"), p.shape), p


def _pick(x: Tensor, labels: np.ndarray) -> Tensor:
    """``x[..., label]`` for each row: the getitem op, whose gradient is a scatter."""
    return ops.getitem(x, _row_indices(labels.shape) + (labels,))


_ROW_INDICES: Dict[Tuple[int, ...], Tuple[np.ndarray, ...]] = {}


def _row_indices(shape: Tuple[int, ...]) -> Tuple[np.ndarray, ...]:
    """``np.indices(shape, sparse=True)`` as a tuple, made once per shape (read-only: graphs share them)."""
    idx = _ROW_INDICES.get(shape)
    if idx is None:
        idx = tuple(np.indices(shape, sparse=True))
        for a in idx:
            a.flags.writeable = False
        if len(_ROW_INDICES) >= 64:  # batch shapes are few; a loop over many must not grow it forever
            _ROW_INDICES.clear()
        _ROW_INDICES[shape] = idx
    return idx


@_loss_function("SparseCategoricalCrossentropy", inputs=_sparse)
def sparse_categorical_crossentropy(y_true: Tuple[np.ndarray, Any], y_pred: Tensor, from_logits: bool = False,
                                    ignore_class: Optional[int] = None) -> Tuple[Tensor, Any]:
    """Categorical cross-entropy with integer labels: ``-log ŷ[label]`` for each row.

    ``y_true`` holds class indices (ints, or floats that are whole numbers) of shape
    ``y_pred.shape[:-1]`` (or with a trailing axis of 1); the class axis is the last one.
    Rows whose label equals ``ignore_class`` (e.g. a "void" class -1 or 255) get loss 0, and
    the class's mean runs over the other rows only.
    """
    labels, keep = y_true
    values = ops.neg(_pick(_log_probs("SparseCategoricalCrossentropy", y_pred, from_logits, -1), labels))
    return (values, None) if keep is None else (ops.where(keep, values, 0.0), keep)


class SparseCategoricalCrossentropy(_FunctionLoss, fn=sparse_categorical_crossentropy):
    """Cross-entropy with integer class labels (``y_true`` of shape ``y_pred.shape[:-1]``).

    ``ignore_class`` (Keras): rows with that label count for nothing, and the default
    reduction averages over the remaining rows only (``Σ_valid w_i ℓ_i / n_valid``).
    """


@_loss_function("CategoricalGeneralizedCrossEntropy", inputs=_sparse)
def categorical_generalized_cross_entropy(y_true: Tuple[np.ndarray, Any], y_pred: Tensor, q: float = 0.5) -> Tensor:
    """``(1 - p^q) / q`` with ``p = ŷ[label]``: cross-entropy as ``q → 0``, MAE-like at ``q = 1``.

    ``y_true`` holds integer labels of shape ``y_pred.shape[:-1]``, ``y_pred`` probabilities; the
    gradient ``-p^(q-1)`` grows without bound as ``p → 0``.
    """
    return ops.div(ops.sub(1.0, ops.pow(_pick(y_pred, y_true[0]), q)), q)


class CategoricalGeneralizedCrossEntropy(_FunctionLoss, fn=categorical_generalized_cross_entropy):
    """Generalized cross-entropy ``(1 - p^q) / q`` (Zhang & Sabuncu, 2018) on integer labels.

    Use it when labels are noisy: between cross-entropy (``q → 0``) and the bounded, noise-tolerant
    mean absolute error (``q = 1``). ``q`` must be in (0, 1).
    """


@_loss_function("KLDivergence")
def kl_divergence(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``Σ_j y_j log(y_j / ŷ_j)`` over the last axis, both clipped to ``[ε, 1]`` (Keras)."""
    yt, yp = ops.clip(y_true, EPSILON, 1.0), ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(ops.mul(yt, ops.log(ops.div(yt, yp))), axis=-1)


class KLDivergence(_FunctionLoss, fn=kl_divergence):
    """Kullback-Leibler divergence ``Σ_j y_j log(y_j / ŷ_j)`` between two distributions
    (distillation, variational methods): cross-entropy minus the target's entropy."""


def _rates(loss: str, y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[Tensor, Tensor]:
    yt, yp = _same_shape(loss, y_true, y_pred, kw)
    _check_range(loss, "y_pred", yp, 0.0, None, " (y_pred is a rate; use exp or softplus on the output)")
    return yt, yp


_rates.same_shape = True  # type: ignore[attr-defined]


@_loss_function("Poisson", inputs=_rates)
def poisson(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``mean(ŷ - y log(ŷ + ε), axis=-1)``: the Poisson negative log-likelihood up to a constant."""
    return ops.mean(ops.sub(y_pred, ops.mul(y_true, ops.log(ops.add(y_pred, EPSILON)))), axis=-1)


class Poisson(_FunctionLoss, fn=poisson):
    """Poisson loss ``ŷ - y log(ŷ + ε)`` for count targets and non-negative rate predictions."""


# --- margin losses ------------------------------------------------------------------------------

def _hinge_labels(y: Tensor) -> Tensor:
    """Keras converts labels that are all 0 or 1 to -1/+1; other labels are used as given."""
    if np.all((y.data == 0) | (y.data == 1)):
        return ops.sub(ops.mul(y, 2.0), 1.0)
    return y


def _margin(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return ops.maximum(ops.sub(1.0, ops.mul(_hinge_labels(y_true), y_pred)), 0.0)


@_loss_function("Hinge")
def hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``mean(max(1 - y ŷ, 0), axis=-1)`` with labels ``y`` in {-1, +1} (0/1 labels are converted)."""
    return ops.mean(_margin(y_true, y_pred), axis=-1)


class Hinge(_FunctionLoss, fn=hinge):
    """Hinge loss ``max(1 - y ŷ, 0)`` for ±1 labels (0/1 labels are converted), as in linear SVMs:
    correct predictions beyond the margin cost nothing."""


@_loss_function("SquaredHinge")
def squared_hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``mean(max(1 - y ŷ, 0)², axis=-1)`` with labels ``y`` in {-1, +1} (0/1 labels are converted)."""
    return ops.mean(ops.square(_margin(y_true, y_pred)), axis=-1)


class SquaredHinge(_FunctionLoss, fn=squared_hinge):
    """Squared hinge loss ``max(1 - y ŷ, 0)²``: a hinge whose gradient fades smoothly at the margin."""


@_loss_function("CategoricalHinge")
def categorical_hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """``max(neg - pos + 1, 0)`` with ``pos = Σ y ŷ`` and ``neg = max((1 - y) ŷ)`` over the last axis."""
    pos = ops.sum(ops.mul(y_true, y_pred), axis=-1)
    neg = ops.max(ops.mul(ops.sub(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.sub(neg, pos), 1.0), 0.0)


class CategoricalHinge(_FunctionLoss, fn=categorical_hinge):
    """Multi-class hinge ``max(max_{j≠t} ŷ_j - ŷ_t + 1, 0)`` for one-hot labels (Crammer-Singer):
    the true class must beat every other class by a margin of 1.
    """


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    # x / max(‖x‖, ε), written as x / sqrt(max(Σx², ε²)) so a zero vector gets gradient 0, not NaN
    # (ε² underflows to 0 in float16: there the floor is the smallest normal number)
    sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.div(x, ops.sqrt(ops.maximum(sq, max(EPSILON * EPSILON, float(np.finfo(x.dtype).tiny)))))


@_loss_function("CosineSimilarity")
def cosine_similarity(y_true: Tensor, y_pred: Tensor, axis: int = -1) -> Tensor:
    """``-Σ (y / ‖y‖) (ŷ / ‖ŷ‖)`` along ``axis``: -1 for parallel vectors, 0 for orthogonal ones
    (and for a zero vector), +1 for opposite ones. Norms below ε = 1e-7 count as ε."""
    return ops.neg(ops.sum(ops.mul(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


class CosineSimilarity(_FunctionLoss, fn=cosine_similarity):
    """Negative cosine similarity along ``axis``: minimising it aligns ``ŷ`` with ``y``
    (embeddings and other targets whose direction matters, not their length)."""


# --- segmentation, embeddings and sequences -------------------------------------------------------

@_loss_function("Dice", checks=_MANY_AXES)
def dice(y_true: Tensor, y_pred: Tensor, axis: Any = None) -> Tensor:
    """``1 - 2 Σ y ŷ / (Σ y + Σ ŷ + ε)`` over ``axis`` (all axes by default: one number for the batch)."""
    overlap = ops.mul(ops.sum(ops.mul(y_true, y_pred), axis=axis), 2.0)
    return ops.sub(1.0, ops.div(overlap, ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)),
                                                 EPSILON)))


class Dice(_FunctionLoss, fn=dice):
    """Dice loss ``1 - 2|Y∩Ŷ| / (|Y| + |Ŷ|)`` for segmentation masks.

    Use it when the foreground is a small part of the image: it scores the overlap, so the
    many background pixels cannot dominate. ``axis=(1, 2, 3)`` gives one value per image.
    """


@_loss_function("Tversky", checks={**_MANY_AXES, "alpha": _in(0.0)})
def tversky(y_true: Tensor, y_pred: Tensor, alpha: float = 0.5, beta: float = 0.5, axis: Any = None) -> Tensor:
    """``1 - T / (T + α Σ y (1 - ŷ) + β Σ (1 - y) ŷ + ε)`` with ``T = Σ y ŷ`` over ``axis``.

    Keras's weighting: ``α`` multiplies the target mass the prediction misses, ``β`` the
    predicted mass outside the target; ``α = β = ½`` is the Dice loss.
    """
    overlap = ops.sum(ops.mul(y_true, y_pred), axis=axis)
    missed = ops.sum(ops.mul(y_true, ops.sub(1.0, y_pred)), axis=axis)
    extra = ops.sum(ops.mul(ops.sub(1.0, y_true), y_pred), axis=axis)
    denom = ops.add(ops.add(ops.add(overlap, ops.mul(missed, alpha)), ops.mul(extra, beta)), EPSILON)
    return ops.sub(1.0, ops.div(overlap, denom))


class Tversky(_FunctionLoss, fn=tversky):
    """Tversky loss (Salehi et al., 2017): Dice with separate weights for missed target mass
    (``alpha``) and predicted mass outside the target (``beta``); raise ``alpha`` to favour recall."""


def _embeddings(loss: str, y_true: Any, y_pred: Any, kw: Dict[str, Any]
                ) -> Tuple[Tuple[np.ndarray, np.ndarray, Tensor], Tensor]:
    """Labels and embeddings (one per row), and the reference set they are compared with:
    ``(labels, ref_labels, ref_embeddings)`` in the y_true slot (the batch itself by default)."""
    emb = _checked(loss, "y_pred", y_pred, None)
    if emb.ndim != 2:
        raise ValueError(f"{loss}: y_pred must hold one embedding per row, shape (n, d); got {emb.shape}")
    labels = _labels(loss, y_true, emb.shape[:1], None, None, emb.shape)[0]
    if kw.get("ref_embeddings") is None and kw.get("ref_labels") is None:
        return (labels, labels, emb), emb
    if kw.get("ref_embeddings") is None or kw.get("ref_labels") is None:
        raise ValueError(f"{loss}: give both ref_labels and ref_embeddings, or neither")
    ref = _checked(loss, "ref_embeddings", kw["ref_embeddings"], emb.dtype)
    if ref.ndim != 2 or ref.shape[1] != emb.shape[1]:
        raise ValueError(f"{loss}: ref_embeddings must have shape (m, {emb.shape[1]}); got {ref.shape}")
    ref_labels = _labels(loss, kw["ref_labels"], ref.shape[:1], None, None, ref.shape, ("ref_labels", "ref_embeddings"))
    return (labels, ref_labels[0], ref), emb


def _log_zero(dtype: np.dtype) -> float:
    """A finite stand-in for log 0 = -inf (whose gradient would be NaN): far below any real
    log-probability, yet two of them still add up to a finite number in ``dtype``."""
    return -3e4 if dtype == np.float16 else -1e30


def _masked_logsumexp(x: Tensor, mask: np.ndarray) -> Tensor:
    """``log Σ_{j: mask} e^x_j`` per row (a row with nothing in the mask gives ``_log_zero``)."""
    return ops.logsumexp(ops.where(mask, x, _log_zero(x.dtype)), axis=1)


@_loss_function("Circle", inputs=_embeddings)
def circle(y_true: Tuple[np.ndarray, np.ndarray, Tensor], y_pred: Tensor, ref_labels: Any = None,
           ref_embeddings: Any = None, remove_diagonal: bool = True, gamma: float = 80.0,
           margin: float = 0.4) -> Tuple[Tensor, np.ndarray]:
    """Circle loss (Sun et al., 2020) on L2-normalised embeddings with integer labels.

    With cosine distances ``d = max(1 - ŷ ŷᵀ, 0)``, for each anchor ``i``::

        P_i = logsumexp_{j same class} (-γ max(m + d_ij, 0) (m - d_ij))
        N_i = logsumexp_{j other class} (γ max(1 + m - d_ij, 0) (1 - m - d_ij))
        loss_i = softplus(P_i + N_i)

    The ``j`` run over the batch, or over ``ref_embeddings`` with ``ref_labels`` when given (the
    function's option, as in Keras). The pair ``(i, i)`` is not a positive when ``remove_diagonal``.
    Anchors with a zero loss (e.g. no positive) are masked: the class's mean runs over the others.
    """
    labels, ref_labels, ref = y_true
    dist = ops.maximum(ops.sub(1.0, ops.matmul(y_pred, ops.transpose(ref))), 0.0)
    positive = labels[:, None] == ref_labels[None, :]
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~np.eye(*positive.shape, dtype=bool)
    pos_weight = ops.maximum(ops.mul(ops.add(dist, margin), positive), 0.0)
    neg_weight = ops.maximum(ops.mul(ops.sub(1.0 + margin, dist), negative), 0.0)
    pos = ops.mul(ops.mul(pos_weight, ops.sub(margin, dist)), -gamma)
    neg = ops.mul(ops.mul(neg_weight, ops.sub(1.0 - margin, dist)), gamma)
    values = _softplus(ops.add(_masked_logsumexp(pos, positive), _masked_logsumexp(neg, negative)))
    return values, values.data > 0


class Circle(_FunctionLoss, fn=circle, args=("gamma", "margin", "remove_diagonal")):
    """Circle loss (Sun et al., 2020) on L2-normalised embeddings with integer labels.

    Use it for metric learning (face or product retrieval): same-label pairs are pulled
    together and other pairs pushed apart, each weighted by how far it is from its optimum.
    """


def _sequences(loss: str, y_true: Any, y_pred: Any, kw: Dict[str, Any]) -> Tuple[np.ndarray, Tensor]:
    logits = _checked(loss, "y_pred", y_pred, None)
    if logits.ndim != 3:
        raise ValueError(f"{loss}: y_pred must hold logits of shape (batch, time, classes); got {logits.shape}")
    labels = numeric_array(y_true, loss, "y_true (integer label sequences)")
    if labels.ndim != 2 or labels.shape[0] != logits.shape[0]:
        raise ValueError(f"{loss}: y_true must hold one label sequence per sample, shape ({logits.shape[0]}, "
                         f"max_label_length); got {labels.shape}")
    return _labels(loss, labels, labels.shape, logits.shape[2], None, logits.shape)[0], logits


@_loss_function("CTC", inputs=_sequences)
def ctc(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """Connectionist temporal classification: ``-log Σ_{alignments of y_true} Π_t softmax(y_pred_t)``.

    ``y_true``: ``(batch, max_label_length)`` integer labels; 0 is the blank and pads the end (a
    sequence's length is its number of non-zero entries, Keras's convention). ``y_pred``:
    ``(batch, time, classes)`` logits (not softmax-ed). The forward algorithm runs in log space
    over the extended label sequence ``(blank, l_1, blank, ..., l_L, blank)``, all samples and
    lattice positions at once, one step per time frame. A label that needs more frames than
    there are (each repeated label needs a blank between) has loss ``inf``.
    """
    if y_pred.dtype == np.float16:  # as Keras: float16 sums of log-probabilities run in float32
        return ops.astype(ctc(y_true, ops.astype(y_pred, np.float32)), np.float16)
    logp = ops.log_softmax(y_pred, axis=-1)
    n, steps, _ = y_pred.shape
    lengths = np.count_nonzero(y_true, axis=1)
    ext = np.zeros((n, 2 * y_true.shape[1] + 1), dtype=np.int64)
    ext[:, 1::2] = y_true
    width = ext.shape[1]
    emit = ops.getitem(logp, (np.arange(n)[:, None, None], np.arange(steps)[None, :, None], ext[:, None, :]))
    # a label position may be entered from two back unless it repeats the label before it
    skip = np.zeros((n, width), dtype=bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    floor = _log_zero(y_pred.dtype)
    alpha = ops.where(np.arange(width) < 2, ops.getitem(emit, (slice(None), 0)), floor)
    for t in range(1, steps):
        paths = ops.stack([alpha, _shift(alpha, 1, floor), ops.where(skip, _shift(alpha, 2, floor), floor)], axis=-1)
        alpha = ops.add(ops.logsumexp(paths, axis=-1), ops.getitem(emit, (slice(None), t)))
    rows = np.arange(n)
    last = ops.getitem(alpha, (rows, 2 * lengths))
    before = ops.where(lengths > 0, ops.getitem(alpha, (rows, np.maximum(2 * lengths - 1, 0))), floor)
    nll = ops.neg(ops.logsumexp(ops.stack([last, before], axis=-1), axis=-1))
    repeats = np.sum((y_true[:, 1:] == y_true[:, :-1]) & (np.arange(1, y_true.shape[1]) < lengths[:, None]), axis=1)
    feasible = lengths + repeats <= steps
    return nll if feasible.all() else ops.where(feasible, nll, np.inf)


class CTC(_FunctionLoss, fn=ctc):
    """Connectionist temporal classification for label sequences that are not aligned with the
    input frames (speech, handwriting): it sums over every alignment, so no frame labels are needed."""


def _shift(alpha: Tensor, k: int, fill: float) -> Tensor:
    """``alpha`` moved ``k`` lattice positions to the right, ``fill`` entering on the left."""
    pad = np.full((alpha.shape[0], k), fill, dtype=alpha.dtype)
    return ops.getitem(ops.concatenate([_const(pad), alpha], axis=1), (slice(None), slice(0, alpha.shape[1])))


# --- names: every class, and Keras's short names --------------------------------------------------

ALL_LOSSES = (
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
    CosineSimilarity, BinaryFocalCrossentropy, CategoricalFocalCrossentropy, Dice, Tversky, Circle,
    CategoricalGeneralizedCrossEntropy, CTC,
)
"""Every built-in loss class."""

SHORT_NAMES = {
    "mse": mean_squared_error, "MSE": mean_squared_error, "rmse": root_mean_squared_error,
    "RMSE": root_mean_squared_error, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error, "huber_loss": huber,
    "logcosh": log_cosh, "bce": binary_crossentropy, "BCE": binary_crossentropy, "kld": kl_divergence,
    "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
}
"""Keras's short names, each bound here to its loss *function* (``losses.mse is
losses.mean_squared_error``, as in ``keras.losses``); :func:`get` takes them too."""
globals().update(SHORT_NAMES)

_ALIASES: Dict[str, type] = {key: cls for cls in ALL_LOSSES
                             for key in (cls.__name__, _snake(cls.__name__), cls.loss_fn.__name__, cls.default_name)}
_ALIASES.update({alias: _ALIASES[fn.__name__] for alias, fn in SHORT_NAMES.items()})

__all__ = [
    "Loss", "LossFunctionWrapper", "ArgumentOrderWarning", "get", "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank", "EPSILON", "REDUCTIONS", "DTYPES", "ALL_LOSSES", "SHORT_NAMES",
    *(cls.__name__ for cls in ALL_LOSSES), *(cls.loss_fn.__name__ for cls in ALL_LOSSES), *SHORT_NAMES,
]


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
