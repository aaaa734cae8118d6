"""``keras.layers``: the project's layers under their Keras names."""
from ..nn.layers import Dense, Dropout, Input, InputLayer, Layer

__all__ = ["Dense", "Dropout", "Input", "InputLayer", "Layer"]
