"""``keras.callbacks``: the callbacks of :mod:`tinygrad_loss.callbacks`."""
from ..callbacks import *  # noqa: F401,F403
from ..callbacks import __all__  # noqa: F401
