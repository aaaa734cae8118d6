"""Layers and models: Module, Dense, Dropout, Model, Sequential, activations, initializers."""
from . import activations, initializers
from .module import Module, clear_session, unique_name
from .layers import Layer, Dense, Dropout, Input, InputLayer
from .model import Model, Sequential
from .activations import relu, sigmoid, softmax, tanh  # tf.nn.relu... for TensorFlow-style loops

__all__ = ["Module", "Layer", "Dense", "Dropout", "Input", "InputLayer", "Model", "Sequential", "activations", "initializers",
           "clear_session", "unique_name", "relu", "sigmoid", "softmax", "tanh"]
