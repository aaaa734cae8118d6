"""Callbacks for ``fit``: hooks called at the start/end of training, of each epoch and batch.

``logs`` passed to ``on_epoch_end`` hold the epoch's ``loss``, metrics and ``val_*`` values;
``on_train_batch_end`` gets the batch's own ``loss``. A callback stops training by setting
``self.model.stop_training = True``.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable, Dict, List, Optional

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "TerminateOnNaN", "LambdaCallback",
           "ModelCheckpoint"]

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


def _direction(monitor: str, mode: str, who: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
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
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience!r}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.verbose = verbose
        self.mode = _direction(monitor, mode, type(self).__name__)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
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
        filepath = os.fspath(filepath)
        if not filepath.endswith(".npz"):
            raise ValueError(f"ModelCheckpoint: filepath must end in .npz, got {filepath!r}")
        self.filepath = filepath
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _direction(monitor, mode, type(self).__name__)
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
