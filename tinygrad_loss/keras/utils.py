"""``keras.utils``: ``plot_model`` (the project's own, from :mod:`tinygrad_loss.viz`)."""
from ..viz import plot_model

__all__ = ["plot_model"]
