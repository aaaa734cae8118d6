"""``keras.optimizers``: the optimizers of :mod:`tinygrad_loss.optim`."""
from ...optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, get
from . import schedules

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "get", "schedules"]
