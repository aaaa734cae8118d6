"""Layers and models: Module, the Keras layers, Model (subclassed or functional), Sequential,
activations, initializers."""
from . import activations, initializers
from .module import Module, clear_session, unique_name
from .layers import Layer, Dense, Dropout, Activation, Embedding, Input, InputLayer
from .reshaping import Flatten, Reshape
from .merging import Add, Concatenate
from .normalization import BatchNormalization, LayerNormalization
from .symbolic import KerasTensor
from .model import Model, Sequential
from .functional import Functional
from .activations import relu, sigmoid, softmax, tanh  # tf.nn.relu... for TensorFlow-style loops

__all__ = ["Module", "Layer", "Dense", "Dropout", "Activation", "Embedding", "Flatten", "Reshape", "Add", "Concatenate",
           "BatchNormalization", "LayerNormalization", "Input", "InputLayer", "KerasTensor", "Model", "Sequential",
           "activations", "initializers", "clear_session", "unique_name", "relu", "sigmoid", "softmax", "tanh"]
