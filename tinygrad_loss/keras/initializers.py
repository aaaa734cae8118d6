"""``keras.initializers``: the initializers of :mod:`tinygrad_loss.nn.initializers`."""
from ..nn.initializers import *  # noqa: F401,F403
from ..nn.initializers import __all__  # noqa: F401
