"""Keras-style training: ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

:class:`Trainable` is a mixin for any Module (``nn.Model`` and ``nn.Sequential`` use it). One
training step of ``fit`` is exactly the explicit PyTorch-style loop::

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
import math
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import creation
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optim
from .autograd import no_grad
from .callbacks import Callback, CallbackList, History
from .tensor import Tensor, check_finite, get_default_dtype, numeric_array

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


def _positive_int(fn: str, name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{fn}: {name} must be a positive int, got {v!r}")
    return int(v)


def _check_verbose(fn: str, verbose: Any) -> None:
    if verbose not in (0, 1, 2):
        raise ValueError(f"{fn}: verbose must be 0, 1 or 2, got {verbose!r}")


def _batches(n: int, batch_size: int, order: Optional[np.ndarray] = None):
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield (np.arange(start, stop) if order is None else order[start:stop])


class Trainable:
    """``compile``/``fit``/``evaluate``/``predict`` for a Module (needs ``__call__``, ``parameters``,
    ``train``/``eval``, ``get_weights``/``set_weights``; ``input_spec`` if it knows its input shape)."""

    optimizer: Optional[optim.Optimizer] = None
    loss: Any = None
    stop_training: bool = False

    # --- compile ----------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Optional[Sequence[Any]] = None) -> None:
        """Choose the optimizer (name or instance), the loss (name, Loss or callable
        ``fn(y_true, y_pred) -> Tensor``) and the metrics to report.

        As in Keras, a plain callable is wrapped in :class:`losses.LossFunctionWrapper`, so it may
        return per-sample values (e.g. ``losses.mean_squared_error``): they are averaged over the batch.
        """
        opt = optim.get(optimizer)
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='mse' or loss=MeanSquaredError()")
        loss_fn = losses_mod.get(loss)
        if not isinstance(loss_fn, losses_mod.Loss):
            loss_fn = losses_mod.LossFunctionWrapper(loss_fn)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_mod.Metric)) or callable(metrics):
            raise TypeError("compile: metrics must be a list, e.g. metrics=['mae']")
        for m in metrics:  # resolve names now so a typo fails at compile time ("accuracy" waits for data)
            if not (isinstance(m, str) and m.lower() in ("accuracy", "acc")):
                metrics_mod.get(m)
        self.__dict__["optimizer"] = opt
        self.__dict__["loss"] = loss_fn
        self.__dict__["_metric_specs"] = list(metrics)
        self.__dict__["compiled"] = True

    def _check_compiled(self, fn: str) -> None:
        if not self.__dict__.get("compiled"):
            raise RuntimeError(f"{fn}: the model must be compiled first: call model.compile(optimizer=..., loss=...)")

    # --- shapes -----------------------------------------------------------------------------
    def _param_dtype(self) -> np.dtype:
        ps = self.parameters()
        return ps[0].dtype if ps else get_default_dtype()

    def _check_x(self, fn: str, x: np.ndarray) -> None:
        spec = getattr(self, "input_spec", None)
        if spec is not None and tuple(x.shape[1:]) != tuple(spec):
            raise ValueError(f"{fn}: the model expects inputs of shape (batch, {', '.join(map(str, spec))}) but x has "
                             f"shape {x.shape}")

    def _prepare_xy(self, fn: str, x: Any, y: Any) -> Tuple[np.ndarray, np.ndarray]:
        xa = _array(fn, "x", x)
        ya = _array(fn, "y", y)
        if len(xa) != len(ya):
            raise ValueError(f"{fn}: x and y must have the same number of samples, got x of shape {xa.shape} "
                             f"({len(xa)} samples) and y of shape {ya.shape} ({len(ya)} samples)")
        self._check_x(fn, xa)
        return xa, ya

    def _probe(self, fn: str, x: np.ndarray, y: Optional[np.ndarray] = None) -> None:
        """Run the model (and the loss) on the first sample, without gradients and in inference
        mode: this builds a lazily-built model, and a shape mismatch between the data, the model
        and the loss fails here, before any training."""
        was = self.training
        self.eval()
        try:
            with no_grad():
                dt = self._param_dtype() if self.parameters() else get_default_dtype()
                try:
                    pred = self(Tensor._wrap(x[:1].astype(dt)))
                except (ValueError, TypeError) as e:
                    raise type(e)(f"{fn}: x of shape {x.shape} does not fit the model: {e}") from None
                if y is not None and np.all(np.isfinite(pred.data)):
                    try:
                        value = self.loss(y[:1], pred)
                    except (ValueError, TypeError) as e:
                        raise type(e)(f"{fn}: y of shape {y.shape} does not fit the model's output of shape "
                                      f"(batch, {', '.join(map(str, pred.shape[1:]))}) under the loss: {e}") from None
                    if not isinstance(value, Tensor) or value.ndim != 0:
                        got = f"a Tensor of shape {value.shape}" if isinstance(value, Tensor) else type(value).__name__
                        raise TypeError(f"{fn}: the loss must return a scalar Tensor, got {got} (a Loss with "
                                        "reduction='none' gives per-sample values: use 'sum_over_batch_size' or 'sum')")
        finally:
            self.train(was)

    def _make_metrics(self, y: np.ndarray, y_pred: np.ndarray) -> List[metrics_mod.Metric]:
        """Fresh metric objects (a Metric given to compile is copied, so training and validation
        never share running totals)."""
        out = []
        for spec in self.__dict__.get("_metric_specs", []):
            m = copy.deepcopy(spec) if isinstance(spec, metrics_mod.Metric) else metrics_mod.get(spec, y, y_pred)
            m.reset_state()
            out.append(m)
        return out

    # --- fit --------------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, epochs: int = 1, batch_size: Optional[int] = 32,
            shuffle: bool = True, validation_split: float = 0.0,
            validation_data: Optional[Tuple[Any, Any]] = None, callbacks: Optional[List[Callback]] = None,
            verbose: int = 1, initial_epoch: int = 0) -> History:
        """Train for ``epochs`` passes over ``(x, y)`` in mini-batches of ``batch_size``.

        ``shuffle`` reorders the training samples every epoch with the project's generator
        (``manual_seed`` makes the history reproducible). ``validation_split`` holds out the
        *last* fraction of the samples (before shuffling, as Keras does); ``validation_data=(x_val,
        y_val)`` gives a validation set explicitly. Returns a :class:`History`.
        """
        self._check_compiled("fit")
        if x is None or y is None:
            raise ValueError("fit: both x and y are required")
        epochs = _positive_int("fit", "epochs", epochs)
        batch_size = 32 if batch_size is None else _positive_int("fit", "batch_size", batch_size)
        _check_verbose("fit", verbose)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"fit: shuffle must be True or False, got {shuffle!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
            raise ValueError(f"fit: initial_epoch must be a non-negative int, got {initial_epoch!r}")
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"fit: callbacks must be a list of Callback instances, got {type(callbacks).__name__} "
                            "(wrap a single callback in a list)")
        if not isinstance(validation_split, (int, float)) or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be a number in [0, 1), got {validation_split!r}")
        xa, ya = self._prepare_xy("fit", x, y)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            val = self._prepare_xy("fit (validation_data)", *validation_data)
        elif validation_split:
            split = int(math.floor(len(xa) * (1.0 - validation_split)))
            if split == 0 or split == len(xa):
                raise ValueError(f"fit: validation_split={validation_split} of {len(xa)} samples leaves "
                                 f"{split} for training and {len(xa) - split} for validation; both must be non-empty")
            val = (xa[split:], ya[split:])
            xa, ya = xa[:split], ya[:split]

        self._probe("fit", xa, ya)
        if val is not None:
            self._probe("fit (validation_data)", *val)
        dtype = self._param_dtype()
        xa = xa.astype(dtype, copy=False)
        opt = self.optimizer
        params = self.parameters()
        if not opt.params:
            opt.add_params(params)
        elif {id(p) for p in opt.params} != {id(p) for p in params}:
            raise ValueError("fit: the optimizer is bound to other parameters than this model's; give each model "
                             "its own optimizer")

        history = History()
        cbs = CallbackList([history] + list(callbacks or []))
        n = len(xa)
        steps = math.ceil(n / batch_size)
        cbs.set_model(self)
        cbs.set_params({"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        was_training = self.training
        cbs.on_train_begin()
        metrics: Optional[List[metrics_mod.Metric]] = None
        try:
            for epoch in range(initial_epoch, epochs):
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}")
                cbs.on_epoch_begin(epoch)
                self.train()
                order = creation.get_generator().permutation(n) if shuffle else None
                bar = ProgressBar(steps, verbose)
                loss_sum, seen = 0.0, 0
                for step, idx in enumerate(_batches(n, batch_size, order)):
                    cbs.on_train_batch_begin(step)
                    xb = Tensor._wrap(xa[idx])
                    yb = ya[idx]
                    opt.zero_grad()
                    y_pred = self(xb)
                    if not np.all(np.isfinite(y_pred.data)):
                        self._stop_nan(history, epoch, step, steps, "the model's output")
                        break
                    loss = self.loss(yb, y_pred)
                    lv = float(loss.item())
                    if not math.isfinite(lv):
                        self._stop_nan(history, epoch, step, steps, f"the loss ({lv})")
                        break
                    loss.backward()
                    opt.step()
                    if metrics is None:
                        metrics = self._make_metrics(yb, y_pred.data)
                    if step == 0:
                        for m in metrics:
                            m.reset_state()
                    for m in metrics:
                        m.update_state(yb, y_pred.data)
                    loss_sum += lv * len(idx)
                    seen += len(idx)
                    logs = {"loss": loss_sum / seen, **{m.name: m.result() for m in metrics}}
                    bar.update(step + 1, logs)
                    cbs.on_train_batch_end(step, {"loss": lv})
                    if self.stop_training:
                        break
                if seen == 0:  # stopped at the first batch of the epoch
                    break
                logs = {"loss": loss_sum / seen, **{m.name: m.result() for m in (metrics or [])}}
                if val is not None:
                    vlogs = self._evaluate_arrays(val[0], val[1], batch_size)
                    logs.update({"val_" + k: v for k, v in vlogs.items()})
                bar.update(step + 1, logs, finished=True)
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            self.train(was_training)
        cbs.on_train_end()
        return history

    def _stop_nan(self, history: History, epoch: int, step: int, steps: int, what: str) -> None:
        msg = (f"fit: {what} became non-finite at epoch {epoch + 1}, batch {step + 1} of {steps}; training stopped "
               "before applying that update")
        print(msg, file=sys.stderr)
        history.stop_reason = msg
        self.stop_training = True

    # --- evaluate / predict -------------------------------------------------------------------
    def _evaluate_arrays(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                         bar: Optional[ProgressBar] = None) -> Dict[str, float]:
        dtype = self._param_dtype()
        x = x.astype(dtype, copy=False)
        was = self.training
        self.eval()
        loss_sum, seen = 0.0, 0
        metrics = None
        try:
            with no_grad():
                for step, idx in enumerate(_batches(len(x), batch_size)):
                    y_pred = self(Tensor._wrap(x[idx]))
                    yb = y[idx]
                    if np.all(np.isfinite(y_pred.data)):
                        lv = float(self.loss(yb, y_pred).item())
                    else:
                        lv = math.nan
                    if metrics is None:
                        metrics = self._make_metrics(yb, y_pred.data)
                    for m in metrics:
                        m.update_state(yb, y_pred.data)
                    loss_sum += lv * len(idx)
                    seen += len(idx)
                    if bar is not None:
                        bar.update(step + 1, {"loss": loss_sum / seen, **{m.name: m.result() for m in metrics}})
        finally:
            self.train(was)
        return {"loss": loss_sum / seen, **{m.name: m.result() for m in (metrics or [])}}

    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = 32, verbose: int = 1,
                 return_dict: bool = False) -> Union[float, List[float], Dict[str, float]]:
        """Loss (and metrics) on ``(x, y)`` in inference mode: a float when there are no metrics,
        else ``[loss, metric...]``, or a dict with ``return_dict=True`` (Keras)."""
        self._check_compiled("evaluate")
        if x is None or y is None:
            raise ValueError("evaluate: both x and y are required")
        batch_size = 32 if batch_size is None else _positive_int("evaluate", "batch_size", batch_size)
        _check_verbose("evaluate", verbose)
        xa, ya = self._prepare_xy("evaluate", x, y)
        self._probe("evaluate", xa, ya)
        bar = ProgressBar(math.ceil(len(xa) / batch_size), verbose) if verbose else None
        logs = self._evaluate_arrays(xa, ya, batch_size, bar)
        if bar is not None:
            bar.update(bar.target, logs, finished=True)
        if return_dict:
            return logs
        vals = list(logs.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x: Any, batch_size: Optional[int] = 32, verbose: int = 0) -> np.ndarray:
        """The model's outputs on ``x`` as a NumPy array, in inference mode, batch by batch."""
        batch_size = 32 if batch_size is None else _positive_int("predict", "batch_size", batch_size)
        _check_verbose("predict", verbose)
        xa = _array("predict", "x", x)
        self._check_x("predict", xa)
        self._probe("predict", xa)
        xa = xa.astype(self._param_dtype(), copy=False)
        bar = ProgressBar(math.ceil(len(xa) / batch_size), verbose) if verbose else None
        outs = []
        was = self.training
        self.eval()
        try:
            with no_grad():
                for step, idx in enumerate(_batches(len(xa), batch_size)):
                    outs.append(self(Tensor._wrap(xa[idx])).data)
                    if bar is not None:
                        bar.update(step + 1, {}, finished=step + 1 == bar.target)
        finally:
            self.train(was)
        return np.concatenate(outs, axis=0)
