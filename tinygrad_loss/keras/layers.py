"""``keras.layers``: the project's layers under their Keras names."""
from ..nn import (Activation, Add, BatchNormalization, Concatenate, Dense, Dropout, Embedding, Flatten, Input,
                  InputLayer, Layer, LayerNormalization, Reshape)

__all__ = ["Activation", "Add", "BatchNormalization", "Concatenate", "Dense", "Dropout", "Embedding", "Flatten",
           "Input", "InputLayer", "Layer", "LayerNormalization", "Reshape"]
