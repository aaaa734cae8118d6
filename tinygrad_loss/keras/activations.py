"""``keras.activations``: the activations of :mod:`tinygrad_loss.nn.activations`."""
from ..nn.activations import *  # noqa: F401,F403
from ..nn.activations import __all__  # noqa: F401
