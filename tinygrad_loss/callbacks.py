"""Callbacks for ``fit``: hooks called at the start/end of training, of each epoch and batch.

``logs`` passed to ``on_epoch_end`` hold the epoch's ``loss``, metrics and ``val_*`` values;
``on_train_batch_end`` gets the batch's own ``loss``. A callback stops training by setting
``self.model.stop_training = True``.
"""
from __future__ import annotations

import csv
import io
import math
import os
import string
import warnings
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import _validate as V
from ._io import write_atomic

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "TerminateOnNaN", "LambdaCallback",
           "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger",
           "WeightHistory"]

Logs = Optional[Dict[str, float]]


class Callback:
    """Base class: override any of the ``on_*`` hooks; ``self.model`` is the model being trained."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: Dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: Dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs = None) -> None: ...
    def on_train_end(self, logs: Logs = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None: ...


HOOKS = {"on_train_begin": 1, "on_train_end": 1, "on_epoch_begin": 2, "on_epoch_end": 2, "on_train_batch_begin": 2,
         "on_train_batch_end": 2}
"""The hooks fit calls and how many arguments each takes (an epoch or batch index, then ``logs``)."""


class CallbackList(Callback):
    """Calls every hook on each callback, in order (each ``on_*`` hook and ``set_model``/``set_params``
    fans out to the list)."""

    def __init__(self, callbacks: List[Callback]):
        super().__init__()
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be Callback instances, got {type(cb).__name__}")
        self.callbacks = list(callbacks)


def _fan_out(hook: str, arity: int) -> Callable[..., None]:
    def call_each(self: CallbackList, *args: Any) -> None:
        args = args + (None,) * (arity - len(args))  # every callback receives logs, None when not given
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
    call_each.__name__ = call_each.__qualname__ = hook
    return call_each


for _hook, _arity in {"set_model": 1, "set_params": 1, **HOOKS}.items():
    setattr(CallbackList, _hook, _fan_out(_hook, _arity))


class History(Callback):
    """What ``fit`` returns: ``history.history["loss"]`` (one value per epoch), ``"val_loss"``, metrics;
    ``history.epoch`` the epoch indices; ``history.stop_reason`` why training ended early (or None)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: Dict[str, List[float]] = {}
        self.epoch: List[int] = []
        self.stop_reason: Optional[str] = None

    def on_train_begin(self, logs: Logs = None) -> None:
        self.epoch = []
        self.history = {}
        self.stop_reason = None

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"

    def plot(self, metrics: Any = None, ax: Any = None, log_y: Optional[bool] = None) -> Any:
        """Draw the training (and ``val_``) curves with matplotlib; returns the Figure.
        See :func:`tinygrad_loss.viz.plot_history` (needs ``pip install 'tinygrad_loss[plot]'``)."""
        # Imported here, not at the top: training code does not depend on the viewer, and
        # `import tinygrad_loss` must work without matplotlib; only this call needs them.
        from .viz.plots import plot_history
        return plot_history(self, metrics=metrics, ax=ax, log_y=log_y)

    def _repr_png_(self) -> Optional[bytes]:
        """Jupyter shows a History as its loss curves (None, hence the text repr, without matplotlib)."""
        if not self.history:
            return None
        try:
            from .viz.plots import figure_png, plot_history
            return figure_png(plot_history(self))
        except ImportError:
            return None


def _direction(monitor: str, mode: str, who: str) -> str:
    if V.string(who, "mode", mode, choices=("auto", "min", "max")) != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if "acc" in name else "min"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``restore_best_weights=True`` puts back the weights of the best epoch when training ends
    (Keras 3: also when training ran to the last epoch without stopping early).
    ``mode="auto"`` maximizes names containing "acc" and minimizes everything else.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: Optional[float] = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__()
        who = type(self).__name__
        self.monitor = V.string(who, "monitor", monitor)
        self.min_delta = abs(V.number(who, "min_delta", min_delta))
        self.patience = V.integer(who, "patience", patience, lo=0)
        self.verbose = V.integer(who, "verbose", verbose, lo=0)
        self.mode = _direction(monitor, mode, who)
        self.baseline = V.number(who, "baseline", baseline, allow_none=True)
        self.restore_best_weights = V.boolean(who, "restore_best_weights", restore_best_weights)
        self.start_from_epoch = V.integer(who, "start_from_epoch", start_from_epoch, lo=0)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights: Optional[List[np.ndarray]] = None
        self.best_epoch = 0

    def _improved(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current - self.min_delta < reference
        return current + self.min_delta > reference

    def on_train_begin(self, logs: Logs = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitored value {self.monitor!r} is not available; available: "
                          f"{', '.join(sorted(logs or {}))}", RuntimeWarning, stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop training as soon as any logged value (batch loss, epoch loss, ``val_loss``, a metric)
    is NaN or infinite. (``fit`` itself already stops before applying a non-finite training
    loss; this callback also watches validation values and metrics.)"""

    def __init__(self) -> None:
        super().__init__()
        self.message: Optional[str] = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._epoch = epoch

    def _check(self, logs: Logs, where: str) -> None:
        for k, v in (logs or {}).items():
            if isinstance(v, (int, float)) and not math.isfinite(v):
                self.message = f"TerminateOnNaN: {k} is {v} at {where}; terminating training"
                print(self.message)
                self.model.stop_training = True
                return

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._check(logs, f"epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._check(logs, f"the end of epoch {epoch + 1}")


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin: Optional[Callable] = None, on_epoch_end: Optional[Callable] = None,
                 on_train_begin: Optional[Callable] = None, on_train_end: Optional[Callable] = None,
                 on_train_batch_begin: Optional[Callable] = None, on_train_batch_end: Optional[Callable] = None):
        super().__init__()
        for name, fn in list(locals().items()):
            if name.startswith("on_") and fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be callable, got {type(fn).__name__}")
                setattr(self, name, fn)


class ModelCheckpoint(Callback):
    """Save the weights (``.npz``, atomically) at the end of every epoch, or only when ``monitor``
    improves (``save_best_only=True``). ``filepath`` may contain ``{epoch}`` and log keys:
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"`` (epochs counted from 1, as in Keras)."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = True, mode: str = "auto"):
        super().__init__()
        who = type(self).__name__
        self.filepath = V.path(who, "filepath", filepath, suffix=".npz")
        try:  # a broken template would otherwise fail only at the end of the first epoch
            list(string.Formatter().parse(self.filepath))
        except ValueError as e:
            raise ValueError(f"{who}: filepath {self.filepath!r} is not a valid format template: {e}") from None
        self.monitor = V.string(who, "monitor", monitor)
        self.verbose = V.integer(who, "verbose", verbose, lo=0)
        self.save_best_only = V.boolean(who, "save_best_only", save_best_only)
        self.save_weights_only = V.boolean(who, "save_weights_only", save_weights_only)
        self.mode = _direction(monitor, mode, who)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved: List[str] = []

    def on_train_begin(self, logs: Logs = None) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} uses {e}, which is not among the logged "
                           f"values {sorted(logs)}") from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: monitored value {self.monitor!r} is not available; skipping",
                              RuntimeWarning, stacklevel=2)
                return
            better = current < self.best if self.mode == "min" else current > self.best
            if not better:
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        self.model.save_weights(path)
        self.saved.append(path)


def _settable_learning_rate(cb: Callback) -> float:
    """The optimizer's learning rate, which the callback is about to replace by a number."""
    opt = getattr(cb.model, "optimizer", None)
    if opt is None:
        raise RuntimeError(f"{type(cb).__name__}: the model has no optimizer; compile it first")
    if callable(opt.learning_rate):
        raise TypeError(f"{type(cb).__name__}: the optimizer's learning rate is a schedule ({opt.learning_rate!r}); "
                        "use a number as learning_rate to let this callback change it")
    return float(opt.learning_rate)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or ``schedule(epoch)``),
    epochs counted from 0; the epoch's logs get ``learning_rate`` (Keras)."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = V.integer("LearningRateScheduler", "verbose", verbose, lo=0)

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        lr = _settable_learning_rate(self)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:  # Keras also accepts the one-argument form
            new = self.schedule(epoch)
        if isinstance(new, bool) or not isinstance(new, (int, float, np.floating)) or not 0 <= new < math.inf:
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite number >= 0, at epoch {epoch} "
                             f"it returned {new!r}")
        self.model.optimizer.learning_rate = float(new)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new)}.")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs, never below ``min_lr``; after a reduction, wait
    ``cooldown`` epochs (not counted as bad) before counting again. Keras's rule and defaults."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        super().__init__()
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1) (it multiplies the rate), got {factor!r}")
        for name, v in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be a non-negative int, got {v!r}")
        who = "ReduceLROnPlateau"
        min_lr, min_delta = V.number(who, "min_lr", min_lr, lo=0), V.number(who, "min_delta", min_delta)
        monitor, verbose = V.string(who, "monitor", monitor), V.integer(who, "verbose", verbose, lo=0)
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), patience, verbose
        self.mode = _direction(monitor, mode, who)
        self.min_delta, self.cooldown, self.min_lr = abs(min_delta), cooldown, min_lr
        self.on_train_begin()

    def on_train_begin(self, logs: Logs = None) -> None:
        self.best: Optional[float] = None
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return current + self.min_delta < self.best
        return current - self.min_delta > self.best

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        lr = _settable_learning_rate(self)
        logs = logs if logs is not None else {}
        logs["learning_rate"] = lr
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: monitored value {self.monitor!r} is not available; available: "
                          f"{', '.join(sorted(logs))}", RuntimeWarning, stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > np.float32(self.min_lr):
                new = max(lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Writes one CSV row per epoch: ``epoch`` (from 0) then the logged values in sorted order (Keras's
    columns; a missing value is ``NA``). Each row is added atomically (the file is rewritten through
    a temporary file and renamed), so a crash never leaves half a row. ``append=True`` continues an
    existing file instead of starting over."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        super().__init__()
        filename = V.path("CSVLogger", "filename", filename)
        if V.string("CSVLogger", "separator", separator) and len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.filename, self.sep, self.append = filename, separator, V.boolean("CSVLogger", "append", append)
        self.keys: Optional[List[str]] = None
        self._text = ""

    def on_train_begin(self, logs: Logs = None) -> None:
        self.keys = None
        self._text = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self._text = f.read()
            if self._text and not self._text.endswith("\n"):
                self._text += "\n"
            header = self._text.split("\n", 1)[0]
            self.keys = header.split(self.sep)[1:] if header else None

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.sep, lineterminator="\n")
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):  # room for validation values that come later
                self.keys += [f"val_{k}" for k in self.keys]
            writer.writerow(["epoch"] + self.keys)
        writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        self._text += out.getvalue()
        write_atomic(self.filename, self._text)
class WeightHistory(Callback):
    """Record chosen weights at the start of training and after every epoch, to draw the path
    ``fit`` takes across a loss surface.

    ``weights``: ``(parameter, index)`` pairs naming single entries, e.g.
    ``[(dense.kernel, (0, 0)), (dense.kernel, (1, 0))]`` (a parameter may also be given by its name
    in ``model.named_parameters()``); ``None`` records every weight of the model, flattened.
    After ``fit``, ``path`` is an ``(epochs + 1, k)`` array whose row 0 holds the starting values.
    """

    def __init__(self, weights: Optional[List[Any]] = None):
        super().__init__()
        if weights is not None:
            if not isinstance(weights, (list, tuple)):
                raise TypeError(f"WeightHistory: weights must be a list of (parameter, index) pairs or None, got "
                                f"{V.show(weights)} of type {type(weights).__name__}")
            weights = list(weights)
            for pair in weights:
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    raise ValueError(f"WeightHistory: weights must be (parameter, index) pairs, got {pair!r}")
        self.weights = weights
        self.rows: List[np.ndarray] = []

    def _entries(self) -> List[Any]:
        if self.weights is None:
            return [(p, None) for p in self.model.parameters()]
        names = dict(self.model.named_parameters())
        out = []
        for param, index in self.weights:
            if isinstance(param, str):
                if param not in names:
                    raise ValueError(f"WeightHistory: the model has no parameter {param!r}; it has {sorted(names)}")
                param = names[param]
            out.append((param, index if isinstance(index, tuple) else (index,)))
        return out

    def _record(self) -> None:
        self.rows.append(np.concatenate([np.ravel(p.data if i is None else p.data[i]).astype(float)
                                         for p, i in self._entries()]))

    def on_train_begin(self, logs: Logs = None) -> None:
        self.rows = []
        self._record()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._record()

    @property
    def path(self) -> np.ndarray:
        """``(recorded epochs + 1, k)``: row 0 before training, row ``e`` after epoch ``e``."""
        return np.array(self.rows) if self.rows else np.zeros((0, 0))
