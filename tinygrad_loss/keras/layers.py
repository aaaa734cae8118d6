"""``keras.layers``: the project's layers under their Keras names."""
from ..nn.layers import Dense, Dropout, Layer

__all__ = ["Dense", "Dropout", "Layer"]
