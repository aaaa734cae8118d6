"""Models: a Module you can ``compile`` and ``fit``, and ``Sequential``, a stack of layers.

Subclass :class:`Model` for your own architecture (define ``forward`` or ``call``), or list
layers in a :class:`Sequential`::

    model = Sequential([Dense(8, activation="relu", input_shape=(2,)), Dense(1)])
    model.summary()
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ..training import Trainable
from .layers import InputLayer, Layer
from .module import Module, _snake
from .symbolic import KerasTensor
from .summary import fmt_shape as _fmt_shape, summary_html, summary_text

__all__ = ["Model", "Sequential"]


class Model(Module, Trainable):
    """A Module with ``compile``/``fit``/``evaluate``/``predict`` (see :mod:`tinygrad_loss.training`)."""

    @property
    def input_spec(self) -> Optional[Tuple[int, ...]]:
        """The expected shape of one input sample, when known (used to reject bad ``x`` early)."""
        return None

    @property
    def built(self) -> bool:
        return bool(self.parameters())

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        # keras.Model(inputs, outputs) builds a functional model, as in Keras
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            if len(args) + ("inputs" in kwargs) + ("outputs" in kwargs) < 2:
                raise TypeError("Model: a functional model is Model(inputs, outputs); got only one of them")
            from .functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    @contextlib.contextmanager
    def _mode(self, training: Optional[bool]) -> Iterator[None]:
        """``training=True/False`` sets the mode of every layer for one call (Keras); None keeps it."""
        if training is None:
            yield
            return
        was = self.training
        self.train(bool(training))
        try:
            yield
        finally:
            self.train(was)

    def _summary_layers(self) -> List[Module]:
        """The rows of :meth:`summary`: the sub-modules, in registration order."""
        return list(self._children().values())

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> None:
        """Print a Keras-like table (layer (type), output shape, parameter count, and for a functional
        model what each layer is connected to), or hand it to ``print_fn``; returns None, as Keras."""
        (print if print_fn is None else print_fn)(summary_text(self))

    def save(self, filepath: Any) -> None:
        """Save the whole model as a Keras 3 ``.keras`` archive (see :mod:`tinygrad_loss.saving`)."""
        from ..saving import save_model  # h5py is optional: imported only when used
        save_model(self, filepath)

    def _repr_html_(self) -> str:
        """Jupyter shows a model as its summary table."""
        return summary_html(self)


def numbered_by_class(layers: Iterable[Module]) -> Dict[str, Module]:
    """Keras 3 weight files name a model's layers by class, numbered within the model ("dense",
    "dense_1"...), so a second, identical model (whose global names are "dense_2"...) reads the same file."""
    out: Dict[str, Module] = {}
    counts: Dict[str, int] = {}
    for layer in layers:
        base = _snake(type(layer).__name__)
        n = counts.get(base, 0)
        counts[base] = n + 1
        out[base if n == 0 else f"{base}_{n}"] = layer
    return out


class Sequential(Model):
    """Layers applied one after the other. Built as soon as the first layer knows its
    ``input_shape``, otherwise at the first call."""

    def __init__(self, layers: Optional[Iterable[Module]] = None, name: Optional[str] = None):
        super().__init__(name=name)
        self._layers: List[Module] = []  # private: the layers are registered by name in _modules
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential: layers must be a list of layers or None, got {type(layers).__name__}")
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> List[Module]:
        """The layers, in order (Keras)."""
        return self._layers

    def add(self, layer: Module) -> None:
        """Append a layer (a Module, or ``keras.Input(...)``); names must be unique within the model."""
        if isinstance(layer, KerasTensor):  # Sequential([keras.Input(shape=(2,)), ...]), as Keras 3
            layer = layer.node.layer
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a layer (a Module), got {type(layer).__name__}")
        if any(l.name == layer.name for l in self.layers):
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in {self.name}; layer names "
                             "must be unique within a model")
        self._layers.append(layer)
        self._modules[layer.name] = layer  # registered by name, not as an attribute: "name" may be any string
        self._build_chain()

    def pop(self) -> Module:
        """Remove and return the last layer."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers")
        layer = self._layers.pop()
        del self._modules[layer.name]
        return layer

    def _build_chain(self) -> None:
        """Propagate a known input shape through the layers, building each one."""
        if not self.layers or not isinstance(self.layers[0], Layer):
            return
        first = self.layers[0]
        shape = first.input_shape if first.built else (
            (None,) + first._input_shape_arg if first._input_shape_arg is not None else None)
        if shape is None:
            return
        for layer in self.layers:
            if not isinstance(layer, Layer):
                return
            if not layer.built:
                if layer.dtype is None:
                    layer.dtype = first.dtype
                layer.build(shape)
            elif tuple(layer.input_shape[1:]) != tuple(shape[1:]):
                raise ValueError(f"Sequential: layer {layer.name!r} was built for inputs of shape "
                                 f"{_fmt_shape(layer.input_shape)} but receives {_fmt_shape(shape)}")
            shape = layer.compute_output_shape(shape)

    def _weight_children(self) -> Dict[str, Module]:
        return numbered_by_class(self.layers)

    @property
    def input_spec(self) -> Optional[Tuple[int, ...]]:
        if self.layers and isinstance(self.layers[0], Layer) and self.layers[0].built:
            return tuple(self.layers[0].input_shape[1:])
        return None

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(getattr(l, "built", True) for l in self.layers)

    def forward(self, x: Any, training: Optional[bool] = None) -> Any:
        """Apply the layers in order; ``training=True/False`` sets the mode for this call only (Keras)."""
        layers = self._layers
        if not layers:
            raise ValueError(f"{self.name}: the model has no layers; add some before calling it")
        if training is None:  # the usual call: no mode to set and restore
            for layer in layers:
                x = layer(x)
            return x
        with self._mode(training):
            for layer in self._layers:
                x = layer(x)
            return x

    def _summary_layers(self) -> List[Module]:
        return list(self.layers)
