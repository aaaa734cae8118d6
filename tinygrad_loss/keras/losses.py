"""``keras.losses``: every loss of :mod:`tinygrad_loss.losses`."""
from ..losses import *  # noqa: F401,F403
from ..losses import __all__, get  # noqa: F401
