"""``keras.saving``: ``load_model``/``save_model`` for Keras 3 ``.keras`` archives."""
from ..saving import load_model, save_model

__all__ = ["load_model", "save_model"]
