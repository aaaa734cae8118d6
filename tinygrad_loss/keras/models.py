"""``keras.models``: the model classes and ``load_model``/``save_model`` for ``.keras`` archives."""
from ..nn import Model, Sequential
from ..saving import load_model, save_model

__all__ = ["Model", "Sequential", "load_model", "save_model"]
