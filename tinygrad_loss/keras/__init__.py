"""A thin Keras-shaped namespace over the project's own classes (no logic lives here).

``import tinygrad_loss as tf`` then ``tf.keras.Sequential``, ``tf.keras.layers.Dense``,
``tf.keras.losses.MeanSquaredError``, ``tf.keras.optimizers.SGD``, ``tf.keras.callbacks.EarlyStopping``...
"""
from ..nn import Input, KerasTensor, Model, Sequential
from . import activations, backend, callbacks, initializers, layers, losses, metrics, models, optimizers, saving, utils

__all__ = ["Input", "KerasTensor", "Model", "Sequential", "activations", "backend", "callbacks", "initializers", "layers", "losses",
           "metrics", "models", "optimizers", "saving", "utils"]
