"""Keras-style training: ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

:class:`Trainable` is a mixin for any Module (``nn.Model`` and ``nn.Sequential`` use it). One
training step of ``fit`` (:meth:`Trainable.train_step`) is exactly the explicit PyTorch-style loop::

    optimizer.zero_grad()
    loss = loss_fn(y_batch, model(x_batch))     # Keras argument order
    loss.backward()
    optimizer.step()

Reported numbers follow Keras 3: an epoch's ``loss`` is the mean of the batch losses
weighted by batch size (each computed *before* that batch's update), metrics are means over
every sample of the epoch, and ``val_*`` values are computed after the epoch's last update.
"""
from __future__ import annotations

import copy
import functools
import math
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate as V
from . import creation
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optim
from .autograd import STATE, no_grad
from .autograd import backward as _engine_backward
from .callbacks import HOOKS, Callback, CallbackList, History
from .nn import module as _nn_module
from .tensor import Tensor, all_finite, check_finite, get_default_dtype, numeric_array

__all__ = ["Trainable", "ProgressBar", "History"]


def _fmt(v: float) -> str:
    """Keras's number format in progress lines."""
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


class ProgressBar:
    """One progress line per epoch, like Keras: ``3/10 [======>.......] - 0s 2ms/step - loss: 0.1234``.

    ``verbose=1`` redraws the line in place with ``\\r`` (at most every ``interval`` seconds, so a
    long epoch shows progress without flooding the terminal) and ends it with a newline; when
    the stream is not a terminal it writes only the finished line. ``verbose=2`` writes only
    ``10/10 - 0s - 2ms/step - loss: 0.1234`` at the end.
    """

    def __init__(self, target: int, verbose: int = 1, width: int = 30, interval: float = 0.05, stream: Any = None):
        self.target = target
        self.verbose = verbose
        self.width = width
        self.interval = interval
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", None) if verbose else None  # verbose=0: skip the syscall
        self.dynamic = bool(isatty and isatty())
        self.start = time.perf_counter()
        self.current = 0
        self._last = 0.0
        self._prev_len = 0

    def line(self, current: int, values: Dict[str, float], finished: bool) -> str:
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(current, 1)
        stats = "".join(f" - {k}: {_fmt(v)}" for k, v in values.items())
        if self.verbose == 2:
            return f"{current}/{self.target} - {int(elapsed)}s - {_fmt_time(per_step)}/step{stats}"
        done = int(self.width * current / self.target) if self.target else self.width
        bar = "=" * done
        if current < self.target:
            bar = (bar[:-1] if bar else "") + ">"
        bar = bar.ljust(self.width, ".")
        if finished:
            timing = f"{int(elapsed)}s {_fmt_time(per_step)}/step"
        else:
            timing = f"ETA: {_fmt_time(per_step * (self.target - current))}"
        return f"{current}/{self.target} [{bar}] - {timing}{stats}"

    def update(self, current: int, values: Dict[str, float], finished: bool = False) -> None:
        self.current = current
        if self.verbose == 0:
            return
        if not finished:
            if self.verbose != 1 or not self.dynamic:
                return
            now = time.perf_counter()
            if now - self._last < self.interval:
                return
            self._last = now
        text = self.line(current, values, finished)
        if self.verbose == 1 and self.dynamic:
            pad = max(self._prev_len - len(text), 0)
            self.stream.write("\r" + text + " " * pad)
            self._prev_len = len(text)
        else:
            self.stream.write(text)
        if finished:
            self.stream.write("\n")
        self.stream.flush()


# --- data checks ----------------------------------------------------------------------------

def _array(fn: str, what: str, data: Any) -> np.ndarray:
    arr = numeric_array(data, fn, what)
    if arr.ndim == 0:
        raise ValueError(f"{fn}: {what} must have a batch axis, got a scalar")
    if len(arr) == 0:
        raise ValueError(f"{fn}: {what} is empty")
    check_finite(fn, what, arr)
    return arr


def _arrays(fn: str, what: str, data: Any, count: int) -> List[np.ndarray]:
    """One array per model input (``what="x"``) or output (``"y"``): ``data`` itself when there is
    one, else a list of ``count`` arrays."""
    if count == 1:
        return [_array(fn, what, data)]
    if not isinstance(data, (list, tuple)) or len(data) != count:
        got = f"{len(data)} items" if isinstance(data, (list, tuple)) else type(data).__name__
        kind = "inputs" if what == "x" else "outputs"
        raise ValueError(f"{fn}: the model has {count} {kind}, so {what} must be a list of {count} arrays, got {got}")
    return [_array(fn, f"{what}[{i}]", d) for i, d in enumerate(data)]


def _positive_int(fn: str, name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{fn}: {name} must be a positive int, got {v!r}")
    return int(v)


def _batch_size(fn: str, batch_size: Any) -> int:
    return 32 if batch_size is None else _positive_int(fn, "batch_size", batch_size)


def _check_verbose(fn: str, verbose: Any) -> None:
    # (an array or "2" would otherwise hit a truth-value error or pass; a plain int skips the slow ABC test)
    if verbose.__class__ is not int and not V.is_int(verbose):
        raise TypeError(f"{fn}: verbose must be 0, 1 or 2, got {V.show(verbose)}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"{fn}: verbose must be 0, 1 or 2, got {verbose!r}")


def _check_fit_options(epochs: Any, shuffle: Any, initial_epoch: Any, callbacks: Any, validation_split: Any) -> None:
    _positive_int("fit", "epochs", epochs)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"fit: shuffle must be True or False, got {shuffle!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(f"fit: initial_epoch must be a non-negative int, got {initial_epoch!r}")
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"fit: callbacks must be a list of Callback instances, got {type(callbacks).__name__} "
                        "(wrap a single callback in a list)")
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) or \
            not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be a number in [0, 1), got {validation_split!r}")


def _class_weight_to_sample_weight(fn: str, y: np.ndarray, class_weight: Any) -> np.ndarray:
    """Keras's rule: each sample weighs ``class_weight[its class]`` (1 for a class not listed); the
    class is the label rounded to an int, or the argmax of a one-hot row."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"{fn}: class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}")
    for k, w in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or isinstance(w, bool) or \
                not isinstance(w, (int, float, np.number)) or not 0 <= w < math.inf:
            raise ValueError(f"{fn}: class_weight must map int class indices to finite weights >= 0, got {k!r}: {w!r}")
    labels = y
    if labels.ndim > 1:
        labels = labels.argmax(axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels.reshape(len(y), -1)[:, 0]).astype(np.int64)
    return np.array([float(class_weight.get(int(c), 1.0)) for c in labels])


def _batches(n: int, batch_size: int, order: Optional[np.ndarray] = None):
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield (np.arange(start, stop) if order is None else order[start:stop])


def _one_or_list(items: List[Any]) -> Any:
    return items[0] if len(items) == 1 else list(items)


isfinite = math.isfinite


def _all_finite(pred: Any) -> bool:
    if pred.__class__ is Tensor:  # the common case first, without a generator (it runs every step)
        return all_finite(pred._data)
    if isinstance(pred, Tensor):
        return all_finite(pred.data)
    return all(all_finite(p.data) for p in pred)


def _value(loss: Tensor) -> float:
    """The loss's number (``float(loss.item())``; a 0-d float array's ``item`` directly)."""
    if loss.__class__ is Tensor:
        a = loss._data
        if a.ndim == 0:
            v = a.item()
            if v.__class__ is float:  # any float dtype (an int, bool or complex goes through float() below)
                return v
    return float(loss.item())


def _non_finite(value: float, y_pred: Any) -> str:
    """What became non-finite in a step that returned ``value``: the model's output, else the loss."""
    return "the model's output" if not _all_finite(y_pred) else f"the loss ({value})"


def _hooks_used(callbacks: CallbackList) -> Tuple[frozenset, List[Callback]]:
    """The hooks some callback has its own of (not the base class's no-op: fit calls no other, so it skips
    calls that would do nothing), and the callbacks with their own ``on_epoch_end``, in order."""
    used, epoch_end = set(), []
    for cb in callbacks.callbacks:
        for hook in HOOKS:
            if getattr(getattr(cb, hook), "__func__", None) is not getattr(Callback, hook):
                used.add(hook)
                if hook == "on_epoch_end":
                    epoch_end.append(cb)
    return frozenset(used), epoch_end


def _same_shape_rule(loss: Any) -> bool:
    """Whether ``loss`` is a built-in loss of Keras's squeeze/expand input rule (``losses._same_shape``, which
    also refuses a non-finite ``y_pred`` with a ValueError before any computation)."""
    return bool(getattr(getattr(loss, "fn", None), "same_shape_inputs", False)) and \
        type(loss).__module__ == losses_mod.__name__


def _target_maker(loss: Any, y: np.ndarray, pred: Any) -> Optional[Callable[[np.ndarray], Tensor]]:
    """How the compiled loss itself turns a batch of ``y`` into the ``y_true`` it computes with, when fit
    can do that once per batch (or once per fit) instead of the loss in every step: for a built-in loss of
    Keras's squeeze/expand rule, a Tensor of the loss's dtype, with the trailing axis Keras gives labels of
    shape ``(n,)`` against predictions of shape ``(n, 1)``. None: ``y`` goes to the loss as it is."""
    if not _same_shape_rule(loss) or not isinstance(pred, Tensor):
        return None
    dtype = loss.dtype or pred.dtype
    expand = y.ndim == 1 and pred.ndim == 2 and pred.shape[-1] == 1
    return lambda a: Tensor._wrap(np.array(a[:, None] if expand else a, dtype=dtype))


_PURE: Dict[Any, Any] = {}
"""Filled at the first fit by :func:`_pure_layers`: layer type -> the activations it may hold (None: it holds none),
and ``"model"`` -> ``Sequential``."""


def _pure_layers() -> Dict[Any, Any]:
    if not _PURE:
        from .nn import activations, layers, model  # (nn imports this module: looked up once, at the first fit)
        builtin = frozenset(getattr(activations, n) for n in activations.__all__
                            if n not in ("get", "serialize", "deserialize"))
        _PURE.update({layers.Dense: builtin, layers.Activation: builtin, layers.InputLayer: None,
                      "model": model.Sequential})
    return _PURE


def _probe_free(model: Any) -> bool:
    """Whether fit may take its first training step's forward and loss as its probe (``_early_step``): the
    loss is a built-in one of the squeeze/expand rule, the model is a ``Sequential`` of built ``Dense``,
    ``Activation`` or ``InputLayer`` layers with built-in activations, every module already in training
    mode, gradients recorded and no ``detect_anomaly()``. Such a forward depends only on the inputs and
    weights and changes nothing (no random numbers, no running statistics, no building), so when it fails
    the probe runs as before and reports the failure before any state changes. The outputs' rank, last
    axis and dtype, which the probe's output decides the targets by, do not depend on the batch size."""
    pure = _pure_layers()
    if type(model) is not pure["model"] or not STATE.grad_enabled or STATE.anomaly is not None or \
            model._metric_specs or not _same_shape_rule(model.loss) or model.training is not True or \
            model._containers or type(model).train_step is not Trainable.train_step:
        return False
    layers = model._layers
    if not layers or len(model._modules) != len(layers):
        return False
    for layer in layers:
        acts = pure.get(type(layer), False)
        if acts is False or layer.training is not True or not layer.built or layer._modules or \
                layer._containers or (acts is not None and layer.activation not in acts):
            return False
    return True


def _sample_count_error(fn: str, first: str, a0: np.ndarray, name: str, a: np.ndarray) -> ValueError:
    """The refusal of arrays ``first`` and ``name`` that hold different numbers of samples."""
    what = "x and y" if (first, name) == ("x", "y") else "every input and output"
    return ValueError(f"{fn}: {what} must have the same number of samples, got {first} of shape {a0.shape} "
                      f"({len(a0)} samples) and {name} of shape {a.shape} ({len(a)} samples)")


def _raising(fn: Callable) -> Callable:
    """``fn`` run under ``np.errstate(all="raise")``. NumPy 2's errstate used as a decorator sets and resets a
    context variable at each call (thread-safe, re-entrant, and cheaper than making and entering an errstate);
    NumPy 1's shares one errstate's saved state between calls, so there each call enters a new one."""
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        return np.errstate(all="raise")(fn)

    @functools.wraps(fn)
    def raising(*args: Any) -> Any:
        with np.errstate(all="raise"):
            return fn(*args)
    return raising


@_raising
def _first_forward(model: Any, x: np.ndarray, dtype: np.dtype, yt: np.ndarray, sample_weight: Any) -> tuple:
    """:meth:`Trainable._early_step`'s forward and loss, with floating-point warnings raised: ``(x, y, y_pred,
    loss)`` from the batch's one input array ``x`` and its targets' array ``yt``; ``_wrap_inputs`` and
    ``_target_maker`` inline (the model and loss are ones :func:`_probe_free` accepts: one input, a built-in loss
    of the squeeze/expand rule)."""
    x = Tensor._wrap(x.astype(dtype, copy=False))
    y_pred = model(x)  # (an output that is not a Tensor fails below, as _target_maker's None would: the probe says why)
    loss, p = model.loss, y_pred._data  # (the Tensor's shape, ndim and dtype are its array's)
    expand = yt.ndim == 1 and p.ndim == 2 and p.shape[-1] == 1
    y = Tensor._wrap(np.array(yt[:, None] if expand else yt, dtype=loss.dtype or p.dtype))
    return x, y, y_pred, loss(y, y_pred, sample_weight=sample_weight)


_PLAIN_HOOKS = frozenset({"on_train_begin", "on_train_end", "on_epoch_end"})
"""The callback hooks a fit may use and still run its epochs as :meth:`Trainable._plain_epochs`."""


class _Data(NamedTuple):
    """The arrays of one data set: one per model input, one per output, and per-sample weights."""
    x: List[np.ndarray]
    y: List[np.ndarray]
    sample_weight: Optional[np.ndarray] = None

    @property
    def size(self) -> int:
        return len(self.x[0])

    def take(self, idx: Any) -> "_Data":
        sw = None if self.sample_weight is None else self.sample_weight[idx]
        return _Data([a[idx] for a in self.x], [a[idx] for a in self.y], sw)


class _Feed:
    """The training batches of one ``fit``, ready for :meth:`Trainable.train_step`: tuples
    ``(x, y, sample_weight, y arrays for the metrics, number of samples)``, inputs cast to the
    parameters' dtype (``dtype``) and ``y`` made by ``targets`` (see :func:`_target_maker`).

    Data that fits in one batch is prepared once, for every epoch. It is not shuffled: reordering
    the samples of the only batch would reorder the terms of its sums and nothing else.
    """

    def __init__(self, model: "Trainable", data: _Data, batch_size: int, shuffle: bool, dtype: np.dtype,
                 targets: Optional[Callable[[np.ndarray], Tensor]], whole: Optional[tuple] = None):
        self.model, self.data, self.batch_size, self.shuffle = model, data, batch_size, shuffle
        self.dtype, self.targets = dtype, targets
        self.steps = math.ceil(data.size / batch_size)
        if self.steps == 1 and whole is None:
            whole = self._batch(data.take(np.arange(data.size)))
        self.whole = [whole] if self.steps == 1 else None  # ``whole``: the one batch, made already (_early_step)

    def epoch(self) -> Iterable[Tuple[Any, Any, Optional[np.ndarray], List[np.ndarray], int]]:
        if self.whole is not None:
            return self.whole
        order = creation.get_generator().permutation(self.data.size) if self.shuffle else None
        return (self._batch(self.data.take(idx)) for idx in _batches(self.data.size, self.batch_size, order))

    def _batch(self, batch: _Data) -> Tuple[Any, Any, Optional[np.ndarray], List[np.ndarray], int]:
        y = _one_or_list(batch.y) if self.targets is None else self.targets(batch.y[0])
        return self.model._wrap_inputs(batch.x, self.dtype), y, batch.sample_weight, batch.y, batch.size


class _FitPlan:
    """What every epoch of one ``fit`` call shares, and the little state that carries across epochs."""

    __slots__ = ("epochs", "feed", "val", "batch_size", "verbose", "callbacks", "history", "hooks", "epoch_end",
                 "modes_seen", "refusing", "early")

    def __init__(self, epochs: int, feed: _Feed, val: Optional[_Data], batch_size: int, verbose: int,
                 callbacks: CallbackList, history: History):
        self.epochs, self.feed, self.val, self.batch_size = epochs, feed, val, batch_size
        self.verbose, self.callbacks, self.history = verbose, callbacks, history
        # the callback hooks some callback overrides (the others are not called), and the callbacks whose
        # on_epoch_end does something (History's, at least), in order
        self.hooks, self.epoch_end = _hooks_used(callbacks)
        self.modes_seen = -1  # nn.module.mode_changes() when fit last put the model in training mode
        self.refusing = None  # the compiled loss, when it refuses a non-finite y_pred itself (see Trainable._step)
        self.early: Optional[Tuple[Any, Tensor]] = None  # the first step's (y_pred, loss), made in place of the probe

    @property
    def steps(self) -> int:
        return self.feed.steps


class _OneBatchPlan:
    """What :meth:`Trainable._plain_epochs` and ``_training_mode`` use of a :class:`_FitPlan`, for
    :meth:`Trainable._fit_one_batch` (which has no callback list, feed or hooks to plan)."""

    __slots__ = ("epochs", "early", "refusing", "modes_seen", "history")

    def __init__(self, epochs: int, early: Tuple[Any, Tensor], refusing: Any, modes_seen: int):
        self.epochs, self.early, self.refusing, self.modes_seen = epochs, early, refusing, modes_seen


class _Inference:
    """:meth:`Trainable._inference` (a class: cheaper to enter and leave than a ``contextlib`` generator, and every
    fit, evaluate and predict call enters it)."""

    __slots__ = ("model", "was", "grad")

    def __init__(self, model: "Trainable"):
        self.model = model

    def __enter__(self) -> None:
        self.was = self.model.training
        self.model.eval()
        self.grad = no_grad()
        self.grad.__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            self.grad.__exit__(*exc)
        finally:
            self.model.train(self.was)


def _split_validation(data: _Data, validation_split: float) -> Tuple[_Data, _Data]:
    """Hold out the *last* ``validation_split`` fraction of the samples (before any shuffling, as Keras)."""
    n = data.size
    split = int(math.floor(n * (1.0 - validation_split)))
    if split == 0 or split == n:
        raise ValueError(f"fit: validation_split={validation_split} of {n} samples leaves {split} for training and "
                         f"{n - split} for validation; both must be non-empty")
    return data.take(slice(0, split)), data.take(slice(split, n))


class Trainable:
    """``compile``/``fit``/``evaluate``/``predict`` for a Module (needs ``__call__``, ``parameters``,
    ``train``/``eval``, ``get_weights``/``set_weights``; ``input_spec`` if it knows its input shape)."""

    optimizer: Optional[optim.Optimizer] = None
    loss: Any = None
    compiled: bool = False
    stop_training: bool = False
    _metric_specs: Sequence[Any] = ()

    # --- compile ----------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Optional[Sequence[Any]] = None) -> None:
        """Choose the optimizer (name or instance), the loss (name, Loss or callable
        ``fn(y_true, y_pred) -> Tensor``; a list gives one loss per output of a model with several
        outputs, whose total loss is their sum, as in Keras) and the metrics to report.

        As in Keras, a plain callable is wrapped in :class:`losses.LossFunctionWrapper`, so it may
        return per-sample values (e.g. ``losses.mean_squared_error``): they are averaged over the batch.
        """
        opt = optim.get(optimizer)
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='mse' or loss=MeanSquaredError()")
        loss_fn = [_as_loss(l) for l in loss] if isinstance(loss, (list, tuple)) else _as_loss(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_mod.Metric)) or callable(metrics):
            raise TypeError("compile: metrics must be a list, e.g. metrics=['mae']")
        elif not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile: metrics must be a list, e.g. metrics=['mae'], got {metrics!r}")
        for m in metrics:  # resolve names now so a typo fails at compile time ("accuracy" waits for data)
            if not (isinstance(m, str) and m.lower() in ("accuracy", "acc")):
                metrics_mod.get(m)
        self.optimizer = opt
        self.loss = loss_fn
        self._metric_specs = list(metrics)
        self._compile_spec = {"loss": loss, "metrics": list(metrics)}  # as given: what saving writes
        self.compiled = True

    def _check_compiled(self, fn: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"{fn}: the model must be compiled first: call model.compile(optimizer=..., loss=...)")

    def _compute_loss(self, y: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The compiled loss of one batch; with several outputs, the sum of the outputs' losses."""
        if not isinstance(y_pred, (list, tuple)):
            return self.loss(y, y_pred, sample_weight=sample_weight)
        fns = self.loss if isinstance(self.loss, list) else [self.loss] * len(y_pred)
        if len(fns) != len(y_pred):
            raise ValueError(f"compile: got {len(fns)} losses for a model with {len(y_pred)} outputs")
        total = None
        for fn, yt, yp in zip(fns, y, y_pred):
            term = fn(yt, yp, sample_weight=sample_weight)
            total = term if total is None else total + term
        return total

    # --- shapes -----------------------------------------------------------------------------
    def _input_count(self) -> int:
        return 1

    def _output_count(self) -> int:
        return 1

    def _param_dtype(self) -> np.dtype:
        ps = self.parameters()
        return ps[0].dtype if ps else get_default_dtype()

    def _check_x(self, fn: str, x: np.ndarray) -> None:
        spec = getattr(self, "input_spec", None)
        if spec is not None and tuple(x.shape[1:]) != tuple(spec):
            raise ValueError(f"{fn}: the model expects inputs of shape (batch, {', '.join(map(str, spec))}) but x has "
                             f"shape {x.shape}")

    def _prepare(self, fn: str, x: Any, y: Any, sample_weight: Any = None, class_weight: Any = None) -> _Data:
        """Checked arrays (same number of samples everywhere) and the per-sample weights."""
        n_in = self._input_count()
        if n_in == 1 and (y is None or self._output_count() == 1):  # the usual model: the checks below, without their lists
            xa = _array(fn, "x", x)
            n = len(xa)
            ys = []
            if y is not None:
                ya = _array(fn, "y", y)
                if len(ya) != n:
                    raise _sample_count_error(fn, "x", xa, "y", ya)
                ys = [ya]
            self._check_x(fn, xa)
            if sample_weight is None and class_weight is None:
                return _Data([xa], ys, None)
            return _Data([xa], ys, self._sample_weights(fn, ys, n, sample_weight, class_weight))
        xs = _arrays(fn, "x", x, n_in)
        ys = _arrays(fn, "y", y, self._output_count()) if y is not None else []
        named = [("x" if len(xs) == 1 else f"x[{i}]", a) for i, a in enumerate(xs)]
        named += [("y" if len(ys) == 1 else f"y[{i}]", a) for i, a in enumerate(ys)]
        (first, a0), n = named[0], len(xs[0])
        for name, a in named[1:]:
            if len(a) != n:
                raise _sample_count_error(fn, first, a0, name, a)
        if len(xs) == 1:
            self._check_x(fn, xs[0])
        return _Data(xs, ys, self._sample_weights(fn, ys, n, sample_weight, class_weight))

    @staticmethod
    def _sample_weights(fn: str, ys: List[np.ndarray], n: int, sample_weight: Any,
                        class_weight: Any) -> Optional[np.ndarray]:
        if sample_weight is not None and class_weight is not None:
            raise ValueError(f"{fn}: give class_weight or sample_weight, not both (Keras refuses the pair too)")
        sw = None
        if class_weight is not None:
            if len(ys) != 1:
                raise ValueError(f"{fn}: class_weight needs a model with a single output")
            sw = _class_weight_to_sample_weight(fn, ys[0], class_weight)
        elif sample_weight is not None:
            sw = _array(fn, "sample_weight", sample_weight)
            if len(sw) != n:
                raise ValueError(f"{fn}: sample_weight has {len(sw)} entries for {n} samples")
        return sw

    def _validation_set(self, data: _Data, validation_split: float, validation_data: Any) -> Tuple[_Data, Any]:
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight)")
            return data, self._prepare("fit (validation_data)", *validation_data)
        if validation_split:
            return _split_validation(data, validation_split)
        return data, None

    def _wrap_inputs(self, arrays: List[np.ndarray], dtype: Optional[np.dtype] = None) -> Any:
        if dtype is None:
            dtype = self._param_dtype()
        return _one_or_list([Tensor._wrap(a.astype(dtype, copy=False)) for a in arrays])

    def _inference(self) -> "_Inference":
        """Inference mode (dropout off, batch statistics frozen) without gradients; the previous
        mode comes back afterwards. Used by evaluate, predict, validation and the probe."""
        return _Inference(self)

    def _probe(self, fn: str, data: _Data) -> Any:
        """Run the model (and the loss) on the first sample, in inference mode: this builds a
        lazily-built model, and a shape mismatch between the data, the model and the loss fails
        here, before any training. Returns the model's output."""
        with self._inference():
            try:
                pred = self(self._wrap_inputs([a[:1].copy() for a in data.x]))  # a copy: never the caller's
            except (ValueError, TypeError) as e:
                raise type(e)(f"{fn}: x of shape {data.x[0].shape} does not fit the model: {e}") from None
            if data.y and _all_finite(pred):
                self._probe_loss(fn, data, pred)
        return pred

    def _probe_loss(self, fn: str, data: _Data, pred: Any) -> None:
        if isinstance(pred, (list, tuple)) and self._metric_specs:
            raise ValueError(f"{fn}: metrics are supported for models with a single output; this one has {len(pred)}")
        # y as fit will feed it (see _target_maker): the same check, without the loss's own expand of y
        targets = _target_maker(self.loss, data.y[0], pred) if len(data.y) == 1 else None
        y = _one_or_list([a[:1] for a in data.y]) if targets is None else targets(data.y[0][:1])
        try:
            value = self._compute_loss(y, pred)
        except (ValueError, TypeError) as e:
            shape = pred.shape[1:] if isinstance(pred, Tensor) else pred[0].shape[1:]
            raise type(e)(f"{fn}: y of shape {data.y[0].shape} does not fit the model's output of shape "
                          f"(batch, {', '.join(map(str, shape))}) under the loss: {e}") from None
        if not isinstance(value, Tensor) or value.ndim != 0:
            got = f"a Tensor of shape {value.shape}" if isinstance(value, Tensor) else type(value).__name__
            raise TypeError(f"{fn}: the loss must return a scalar Tensor, got {got} (a Loss with "
                            "reduction='none' gives per-sample values: use 'sum_over_batch_size' or 'sum')")

    # --- metrics ----------------------------------------------------------------------------
    def _update_metrics(self, metrics: Optional[List[metrics_mod.Metric]], y: List[np.ndarray],
                        y_pred: Tensor) -> List[metrics_mod.Metric]:
        """Update the running metrics with one batch; the first batch creates them (a Metric given
        to compile is copied, so training and validation never share running totals)."""
        if not self._metric_specs:
            return []
        yt, yp = y[0], y_pred.data
        if metrics is None:
            metrics = []
            for spec in self._metric_specs:
                m = copy.deepcopy(spec) if isinstance(spec, metrics_mod.Metric) else metrics_mod.get(spec, yt, yp)
                m.reset_state()
                metrics.append(m)
        for m in metrics:
            m.update_state(yt, yp)
        return metrics

    @staticmethod
    def _logs(loss: float, metrics: List[metrics_mod.Metric]) -> Dict[str, float]:
        return {"loss": loss, **{m.name: m.result() for m in metrics}}

    # --- fit --------------------------------------------------------------------------------
    def train_step(self, x: Any, y: Any, sample_weight: Any = None) -> Tuple[float, Any]:
        """One update: exactly the explicit loop of this module's docstring. Returns the batch's
        loss (before the update) and the predictions. A non-finite output or loss is returned
        without ``backward``/``step``, so ``fit`` can stop before applying it."""
        return self._step(x, y, sample_weight, True)

    def _step(self, x: Any, y: Any, sample_weight: Any, intermediate_grads: bool,
              refusing: Any = None) -> Tuple[float, Any]:
        """:meth:`train_step`; ``fit`` runs it with ``intermediate_grads=False`` (the graph of its step is
        never handed out, so only the parameters' gradients are stored) and ``refusing``: its compiled loss
        when that loss tests ``y_pred`` for non-finite values itself (:func:`_same_shape_rule`); the output is
        then tested again only when the loss raised, instead of twice in every step."""
        self.optimizer.zero_grad()
        y_pred = self(x)
        return self._loss_step(y, y_pred, sample_weight, intermediate_grads, refusing), y_pred

    def _loss_step(self, y: Any, y_pred: Any, sample_weight: Any, intermediate_grads: bool, refusing: Any,
                   loss: Optional[Tensor] = None) -> float:
        """The rest of :meth:`_step` once the forward is made: the loss (unless ``loss`` gives it, made already:
        :meth:`_early_step`), its value, ``backward`` and the update; NaN when the output is non-finite."""
        if loss is not None:
            pass
        elif refusing is not None and refusing is self.loss and y_pred.__class__ is Tensor:
            try:
                loss = refusing(y, y_pred, sample_weight)  # (a built-in loss's third argument; positional: cheaper)
            except ValueError:
                if _all_finite(y_pred):
                    raise
                return math.nan
        else:
            if not _all_finite(y_pred):
                return math.nan
            loss = self.loss(y, y_pred, sample_weight=sample_weight) if y_pred.__class__ is Tensor else \
                self._compute_loss(y, y_pred, sample_weight)
        if loss.__class__ is Tensor:  # _value(loss), inline: a call less in every step
            a = loss._data
            value = a.item() if a.ndim == 0 else None
            if value.__class__ is not float:
                value = float(loss.item())
            if isfinite(value):  # Tensor.backward's arguments in order: a keyword costs more, every step
                loss.backward(None, None, False, None, intermediate_grads)
                self.optimizer.step()
            return value
        value = _value(loss)
        if isfinite(value):
            loss.backward(intermediate_grads=intermediate_grads)
            self.optimizer.step()
        return value

    def _bind_optimizer(self, params: List[Tensor]) -> None:
        if not self.optimizer.params:
            self.optimizer.add_params(params)
        elif {id(p) for p in self.optimizer.params} != {id(p) for p in params}:
            raise ValueError("fit: the optimizer is bound to other parameters than this model's; give each model "
                             "its own optimizer")

    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None, epochs: int = 1, verbose: int = 1,
            callbacks: Optional[List[Callback]] = None, validation_split: float = 0.0,
            validation_data: Optional[Tuple[Any, ...]] = None, shuffle: bool = True,
            class_weight: Optional[Dict[int, float]] = None, sample_weight: Any = None,
            initial_epoch: int = 0) -> History:
        """Train for ``epochs`` passes over ``(x, y)`` in mini-batches of ``batch_size`` (32 by default).

        ``shuffle`` reorders the training samples every epoch with the project's generator
        (``manual_seed`` makes the history reproducible); a single batch is fed in order. ``validation_split`` holds out the
        *last* fraction of the samples (before shuffling, as Keras does); ``validation_data=(x_val,
        y_val)`` gives a validation set explicitly. ``sample_weight`` (one weight per sample) or
        ``class_weight`` (``{class: weight}``) weight each sample's loss. Returns a :class:`History`.
        The parameters keep no ``.grad`` afterwards (Keras shows none): a ``loss.backward()`` after
        ``fit`` gives that loss's gradients, not their sum with the last training step's.
        """
        self._check_compiled("fit")
        if x is None or y is None:
            raise ValueError("fit: both x and y are required")
        # the usual call (verbose=0 and the other options at their defaults, as every check below would pass them):
        # a model fit may train on its first step's forward (_probe_free) gets the one-batch fit
        quick = verbose.__class__ is int and verbose == 0 and epochs.__class__ is int and epochs > 0 and \
            callbacks is None and validation_data is None and sample_weight is None and class_weight is None and \
            initial_epoch.__class__ is int and initial_epoch == 0 and shuffle.__class__ is bool and \
            validation_split.__class__ in (float, int) and validation_split == 0 and \
            (batch_size is None or batch_size.__class__ is int and batch_size > 0)
        if quick:
            batch_size = 32 if batch_size is None else batch_size
            data = self._prepare("fit", x, y)
            if len(data.x[0]) <= batch_size and _probe_free(self):  # (data.size)
                early = self._early_step(data, x.__class__ is list and y.__class__ is list)
                if early is not None:
                    return self._fit_one_batch(epochs, early)
            val = None
        else:
            _check_fit_options(epochs, shuffle, initial_epoch, callbacks, validation_split)
            batch_size = _batch_size("fit", batch_size)
            _check_verbose("fit", verbose)
            data, val = self._validation_set(self._prepare("fit", x, y, sample_weight, class_weight),
                                             validation_split, validation_data)
        plan = self._fit_plan(data, val, epochs, batch_size, verbose, callbacks, bool(shuffle), initial_epoch, quick)
        cbs = plan.callbacks
        cbs.set_model(self)
        cbs.set_params({"epochs": epochs, "steps": plan.steps, "verbose": verbose})
        self.stop_training = False
        was_training = self.training
        cbs.on_train_begin()
        try:
            self._run_epochs(initial_epoch, plan)
        finally:
            self.optimizer.zero_grad()
            if not was_training or plan.modes_seen != _nn_module._MODE_CHANGES:  # else it is in training mode
                self.train(was_training)
        cbs.on_train_end()
        return plan.history

    def _fit_plan(self, data: _Data, val: Optional[_Data], epochs: int, batch_size: int, verbose: int,
                  callbacks: Any, shuffle: bool, initial_epoch: int, early_tried: bool = False) -> _FitPlan:
        """Probe the data (:meth:`_probe`, or the first step's forward: :meth:`_early_step`, unless ``fit`` tried
        that already), bind the optimizer and make the callbacks, batches and plan of one ``fit``."""
        early = self._early_step(data) if (
            not early_tried and not callbacks and not verbose and val is None and initial_epoch < epochs and
            data.size <= batch_size and _probe_free(self)) else None
        if early is None:
            pred = self._probe("fit", data)
            if val is not None:
                self._probe("fit (validation_data)", val)
            modes = _nn_module._MODE_CHANGES if self.training else -1  # the probes left every module in training mode
            params = self.parameters()
            whole = None
            targets = _target_maker(self.loss, data.y[0], pred) if len(data.y) == 1 else None
        else:  # every module is in training mode (_probe_free)
            params, whole, targets, pred, loss = early
            modes = _nn_module._MODE_CHANGES
        self._bind_optimizer(params)
        history = History()  # last, as in Keras: it records what the other callbacks added to the logs
        cbs = CallbackList(list(callbacks or []) + [history])
        feed = _Feed(self, data, batch_size, shuffle, params[0].dtype if params else get_default_dtype(), targets,
                     whole)
        plan = _FitPlan(epochs, feed, val, batch_size, verbose, cbs, history)
        plan.modes_seen = modes
        if early is not None:
            plan.early = (pred, loss)
        plan.refusing = self.loss if early is not None or _same_shape_rule(self.loss) else None
        return plan

    def _early_step(self, data: _Data, fresh: bool = False) -> Optional[Tuple[List[Tensor], tuple, Callable, Tensor,
                                                                              Tensor]]:
        """The first training step's forward and loss on the one batch, in place of the probe (see
        :func:`_probe_free`): ``(parameters, the batch as _Feed makes it, None, y_pred, loss)``,
        or None when anything failed or came out non-finite, so that the probe runs and says what, as before.
        Under ``np.errstate(all="raise")``: a floating-point warning (which the probe and the step would show
        again) becomes a refusal instead. ``fresh``: ``data`` holds no weights and its arrays were made from
        lists, by fit, C-ordered and nobody else's, so they are the batch already (``take`` would copy them as
        they are)."""
        params = self.parameters()
        batch = data if fresh else data.take(np.arange(data.size))
        try:
            x, y, y_pred, loss = _first_forward(self, batch.x[0], params[0].dtype, batch.y[0], batch.sample_weight)
        except Exception:  # noqa: BLE001 (whatever it was, the probe meets it again and reports it)
            return None
        if loss.__class__ is not Tensor or loss._data.ndim != 0:
            return None
        value = loss._data.item()  # (_value, inline)
        if not isfinite(value if value.__class__ is float else float(loss.item())):
            return None
        # (no targets maker: the feed of a batch made already never makes another)
        return params, (x, y, batch.sample_weight, batch.y, len(batch.x[0])), None, y_pred, loss

    def _fit_one_batch(self, epochs: int, early: tuple) -> History:
        """The rest of ``fit`` after :meth:`_early_step` for the usual call (see ``fit``): what :meth:`_fit_plan` and
        :meth:`_plain_epochs` do for it, with History, the only callback, called directly instead of through a
        CallbackList, and without the feed and plan objects of the general path."""
        params, whole, _, pred, loss = early
        plan = _OneBatchPlan(epochs, (pred, loss), self.loss, _nn_module._MODE_CHANGES)  # every module in training mode
        self._bind_optimizer(params)
        plan.history = history = History()
        history.set_model(self)
        history.set_params({"epochs": epochs, "steps": 1, "verbose": 0})
        self.stop_training = False
        history.on_train_begin(None)
        try:
            self._plain_epochs(0, plan, whole)
        finally:
            self.optimizer.zero_grad()
            if plan.modes_seen != _nn_module._MODE_CHANGES:
                self.train(True)
        history.on_train_end(None)
        return history

    def _run_epochs(self, first: int, plan: _FitPlan) -> None:
        if self._plain(plan):
            self._plain_epochs(first, plan, plan.feed.whole[0])
            return
        for epoch in range(first, plan.epochs):
            if not self._fit_epoch(epoch, plan):
                break

    def _plain(self, plan: _FitPlan) -> bool:
        """Whether each epoch is one call of fit's own step and one History entry: the data is one batch,
        verbose=0, no validation or metrics, no callback hook but History's on_epoch_end (and on_train_begin/end)."""
        return (plan.feed.whole is not None and not plan.verbose and plan.val is None and not self._metric_specs
                and plan.epoch_end == [plan.history] and plan.hooks <= _PLAIN_HOOKS
                and type(self).train_step is Trainable.train_step)

    def _plain_epochs(self, first: int, plan: Union[_FitPlan, "_OneBatchPlan"], whole: tuple) -> None:
        """The epochs of :meth:`_fit_epoch` when :meth:`_plain`: the same steps, History and stops, without the
        per-epoch calls (batch iterator, logs dict, on_epoch_end), a few percent of a 3-sample epoch."""
        x, y, sample_weight, _, n = whole
        n = float(n)  # (v * n) / n with n an int converts it every time; the same bits (n is exact in a float)
        history, losses = plan.history, None
        seen = history.epoch  # (nothing else holds the History while the epochs run)
        early, plan.early, refusing = plan.early, None, plan.refusing
        for epoch in range(first, plan.epochs):
            if plan.modes_seen != _nn_module._MODE_CHANGES:
                self._training_mode(plan)
            self.optimizer.zero_grad()  # _step, inline: a call and a tuple less in every epoch
            if early is not None:  # this step's forward and loss, made in place of the probe (_early_step)
                y_pred, loss = early
                early = None
            else:
                y_pred = self(x)
                loss = None  # (_loss_step below makes it)
                if refusing is not None and refusing is self.loss and y_pred.__class__ is Tensor:
                    try:  # _loss_step's usual case, inline: a call less in every epoch
                        loss = refusing(y, y_pred, sample_weight)
                    except ValueError:
                        if _all_finite(y_pred):
                            raise
                        loss = False  # refused: the output is not finite
            if loss.__class__ is Tensor and loss._data.ndim == 0 and (value := loss._data.item()).__class__ is float:
                if isfinite(value):  # loss.backward(), without Tensor.backward's call of the engine
                    _engine_backward(loss, None, None, False, None, False)
                    self.optimizer.step()
            else:
                value = math.nan if loss is False else self._loss_step(y, y_pred, sample_weight, False, refusing, loss)
            if not isfinite(value):
                self._stop_nan(history, epoch, 0, 1, _non_finite(value, y_pred))
                return
            if losses is None:
                losses = history.history.setdefault("loss", [])
            seen.append(epoch)
            losses.append((0.0 + value * n) / n)  # _train_batches' weighted mean of the one batch, to the bit
            if self.stop_training:
                return

    def _fit_epoch(self, epoch: int, plan: _FitPlan) -> bool:
        """One epoch with its callbacks, progress line and validation; False when training stops."""
        if plan.verbose:
            print(f"Epoch {epoch + 1}/{plan.epochs}")
        if "on_epoch_begin" in plan.hooks:
            plan.callbacks.on_epoch_begin(epoch)
        bar = ProgressBar(plan.steps, plan.verbose) if plan.verbose else None
        logs = self._train_batches(epoch, plan, bar)
        if logs is None:  # stopped at the first batch of the epoch
            return False
        if plan.val is not None:
            logs.update({"val_" + k: v for k, v in self._evaluate_arrays(plan.val, plan.batch_size).items()})
        if bar is not None:
            bar.update(bar.current, logs, finished=True)
        for cb in plan.epoch_end:
            cb.on_epoch_end(epoch, logs)
        return not self.stop_training

    def _training_mode(self, plan: _FitPlan) -> None:
        """Training mode for every layer (Keras's ``training=True`` at each step), set again only when
        some module's mode was assigned since fit last set it (a callback, validation, ``evaluate``)."""
        if plan.modes_seen != _nn_module._MODE_CHANGES:
            self.train()
            plan.modes_seen = _nn_module._MODE_CHANGES

    def _train_batches(self, epoch: int, plan: _FitPlan, bar: Optional[ProgressBar]) -> Optional[Dict[str, float]]:
        self._training_mode(plan)
        cbs = plan.callbacks
        metrics: Optional[List[metrics_mod.Metric]] = None
        specs = self._metric_specs
        loss_sum, seen = 0.0, 0
        begin, end = "on_train_batch_begin" in plan.hooks, "on_train_batch_end" in plan.hooks
        show = bar is not None and bar.verbose == 1 and bar.dynamic  # else bar.update would only count
        own_step = type(self).train_step is not Trainable.train_step  # a subclass's train_step is what fit runs
        for step, (x, y, sample_weight, y_arrays, n) in enumerate(plan.feed.epoch()):
            if begin:
                cbs.on_train_batch_begin(step)
            value, y_pred = self.train_step(x, y, sample_weight) if own_step else \
                self._step(x, y, sample_weight, False, plan.refusing)
            if not isfinite(value):
                self._stop_nan(plan.history, epoch, step, plan.steps, _non_finite(value, y_pred))
                break
            if specs:
                metrics = self._update_metrics(metrics, y_arrays, y_pred)
            loss_sum += value * n
            seen += n
            if show:
                bar.update(step + 1, self._logs(loss_sum / seen, metrics))
            elif bar is not None:
                bar.current = step + 1
            if end:
                cbs.on_train_batch_end(step, {"loss": value})
            if self.stop_training:
                break
        if not seen:
            return None
        return self._logs(loss_sum / seen, metrics) if specs else {"loss": loss_sum / seen}

    def _stop_nan(self, history: History, epoch: int, step: int, steps: int, what: str) -> None:
        msg = (f"fit: {what} became non-finite at epoch {epoch + 1}, batch {step + 1} of {steps}; training stopped "
               "before applying that update")
        print(msg, file=sys.stderr)
        history.stop_reason = msg
        self.stop_training = True

    # --- evaluate / predict -------------------------------------------------------------------
    def _evaluate_arrays(self, data: _Data, batch_size: int, bar: Optional[ProgressBar] = None) -> Dict[str, float]:
        loss_sum, seen = 0.0, 0
        metrics = None
        dtype = self._param_dtype()  # once, not a walk of the model's parameters per batch
        with self._inference():
            for step, idx in enumerate(_batches(data.size, batch_size)):
                batch = data.take(idx)
                y_pred = self(self._wrap_inputs(batch.x, dtype))
                lv = math.nan
                if _all_finite(y_pred):
                    lv = float(self._compute_loss(_one_or_list(batch.y), y_pred, batch.sample_weight).item())
                metrics = self._update_metrics(metrics, batch.y, y_pred)
                loss_sum += lv * len(idx)
                seen += len(idx)
                if bar is not None:
                    bar.update(step + 1, self._logs(loss_sum / seen, metrics))
        return self._logs(loss_sum / seen, metrics or [])

    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None, verbose: int = 1,
                 sample_weight: Any = None, return_dict: bool = False) -> Union[float, List[float], Dict[str, float]]:
        """Loss (and metrics) on ``(x, y)`` in inference mode: a float when there are no metrics,
        else ``[loss, metric...]``, or a dict with ``return_dict=True`` (Keras)."""
        self._check_compiled("evaluate")
        if x is None or y is None:
            raise ValueError("evaluate: both x and y are required")
        batch_size = _batch_size("evaluate", batch_size)
        _check_verbose("evaluate", verbose)
        data = self._prepare("evaluate", x, y, sample_weight)
        self._probe("evaluate", data)
        bar = ProgressBar(math.ceil(data.size / batch_size), verbose) if verbose else None
        logs = self._evaluate_arrays(data, batch_size, bar)
        if bar is not None:
            bar.update(bar.target, logs, finished=True)
        if return_dict:
            return logs
        vals = list(logs.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: int = 0) -> Any:
        """The model's outputs on ``x`` as a NumPy array (a list of arrays for several outputs), in
        inference mode, batch by batch."""
        batch_size = _batch_size("predict", batch_size)
        _check_verbose("predict", verbose)
        data = self._prepare("predict", x, None)
        self._probe("predict", data)
        bar = ProgressBar(math.ceil(data.size / batch_size), verbose) if verbose else None
        outs = []
        dtype = self._param_dtype()  # once, not a walk of the model's parameters per batch
        with self._inference():
            for step, idx in enumerate(_batches(data.size, batch_size)):
                pred = self(self._wrap_inputs([a[idx] for a in data.x], dtype))
                outs.append([p.data for p in pred] if isinstance(pred, (list, tuple)) else [pred.data])
                if bar is not None:
                    bar.update(step + 1, {}, finished=step + 1 == bar.target)
        return _one_or_list([np.concatenate(col, axis=0) for col in zip(*outs)])


def _as_loss(loss: Any) -> losses_mod.Loss:
    loss_fn = losses_mod.get(loss)
    return loss_fn if isinstance(loss_fn, losses_mod.Loss) else losses_mod.LossFunctionWrapper(loss_fn)
