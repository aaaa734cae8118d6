"""Core layers with Keras's arguments and lazy building: Dense, Activation, Dropout, Embedding, Input.

A layer creates its weights in ``build(input_shape)``: right away when ``input_shape`` is
given, otherwise at its first call, from the shape of what it receives.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _validate as V

from .. import creation, ops
from .._opkit import OPS, make_node, record_node
from ..autograd import STATE
from ..tensor import Tensor, get_default_dtype, numeric_array
from . import activations, initializers, symbolic
from .module import Module

__all__ = ["Layer", "Dense", "Dropout", "InputLayer", "Input", "Activation", "Embedding"]

Shape = Tuple[Optional[int], ...]
_MATMUL, _ADD, _RELU = OPS["matmul"], OPS["add"], OPS["relu"]


# Keras config keys with no counterpart here, harmless at these values
_IGNORED_WHEN_DEFAULT = {"trainable": True, "sparse": False, "ragged": False, "optional": False, "synchronized": False,
                         "renorm": False, "renorm_momentum": 0.99, "rms_scaling": False, "mask_zero": False,
                         "lora_rank": None, "lora_alpha": None, "input_length": None, "data_format": "channels_last",
                         "quantization_config": None}


def _as_input(layer: "Layer", x: Any) -> Tensor:
    """Inputs become Tensors of the layer's dtype (Python lists, NumPy arrays, other float dtypes)."""
    if isinstance(x, Tensor):
        if layer.dtype is not None and x.dtype != layer.dtype:
            return ops.astype(x, layer.dtype) if x.dtype.kind == "f" else Tensor._wrap(x.data.astype(layer.dtype))
        return x
    arr = numeric_array(x, layer.name, "the input")
    return Tensor._wrap(arr.astype(layer.dtype or get_default_dtype()))


def _batch_shape(x: Any) -> Any:
    """``(None, ...)`` for a Tensor, a list of those for a list of Tensors."""
    if isinstance(x, (list, tuple)):
        return [_batch_shape(t) for t in x]
    return (None,) + tuple(x.shape[1:])


def _check_shape(owner: str, what: str, shape: Any) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{owner}: {what} must be a tuple of positive ints (without the batch axis), got {V.show(shape)}")
    shape = tuple(shape)
    if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ValueError(f"{owner}: {what} must be a tuple of positive ints (without the batch axis), got {shape!r}")
    return V.shape(owner, shape, what)  # and not larger than an array can hold


class Layer(Module):
    """A Module that knows its input shape and builds its weights lazily.

    ``input_shape`` excludes the batch axis (Keras): ``Dense(1, input_shape=(2,))``. Called on
    ``keras.Input`` tensors, a layer records the call (functional API) instead of computing.
    Subclasses create weights in :meth:`build` and give :meth:`compute_output_shape` when they
    change the shape.
    """

    def __init__(self, name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        super().__init__(name=name)
        self.built = False
        self.dtype = V.dtype(type(self).__name__, dtype, allow_none=True)
        self.input_shape = None
        self._input_shape_arg = None if input_shape is None else _check_shape(self.name, "input_shape", input_shape)

    def _build_now_if_shape_known(self) -> None:
        """Build in the constructor when ``input_shape`` was given (Keras)."""
        if self._input_shape_arg is not None:
            self._ensure_built((None,) + self._input_shape_arg, self.dtype or get_default_dtype())

    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.input_shape = input_shape if isinstance(input_shape, list) else tuple(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    @property
    def output_shape(self) -> Optional[Shape]:
        return None if self.input_shape is None else self.compute_output_shape(self.input_shape)

    def _ensure_built(self, input_shape: Any, dtype: np.dtype) -> None:
        if self.dtype is None:
            self.dtype = dtype if dtype.kind == "f" else get_default_dtype()
        if not self.built:
            self.build(input_shape)

    def _convert_inputs(self, x: Any) -> Any:
        """The call's input as Tensor(s) of the layer's dtype (merge layers take a list)."""
        return _as_input(self, x)

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        if x.__class__ is Tensor and self.built and x._data.dtype is self.dtype and \
                type(self)._convert_inputs is Layer._convert_inputs:  # a Tensor _convert_inputs would keep
            state = STATE  # Module.__call__'s name scope, inline (see there)
            outer = state.scope
            known = self._scopes
            scope = known[1].get(outer) if known[0] is self.name else None
            state.scope = self._scope_in(outer) if scope is None else scope
            try:
                return self.forward(x, *args, **kwargs)
            finally:
                state.scope = outer
        if symbolic.is_symbolic(x):
            return symbolic.call_layer(self, x, args, kwargs)
        first = x[0] if isinstance(x, (list, tuple)) and x else x
        if self.dtype is None and isinstance(first, Tensor) and first.dtype.kind == "f":
            self.dtype = first.dtype
        x = self._convert_inputs(x)
        if not self.built:
            first = x[0] if isinstance(x, list) else x
            self._ensure_built(_batch_shape(x), first.dtype)
        return super().__call__(x, *args, **kwargs)

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments that rebuild this layer (Keras's serialisation)."""
        return {"name": self.name, "trainable": True, "dtype": None if self.dtype is None else self.dtype.name}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Layer":
        """A new layer from :meth:`get_config` output. Keras settings this project does not implement
        are accepted when unset (None, False or Keras's default) and refused otherwise."""
        params = inspect.signature(cls.__init__).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())  # a user layer's **kwargs
        kwargs, unsupported = {}, []
        for k, v in config.items():
            if k in params or (takes_any and k not in _IGNORED_WHEN_DEFAULT):
                kwargs[k] = v
            elif k not in _IGNORED_WHEN_DEFAULT or v != _IGNORED_WHEN_DEFAULT[k]:
                if v is not None:
                    unsupported.append(f"{k}={v!r}")
        if unsupported:
            raise ValueError(f"{cls.__name__}.from_config: unsupported settings: {', '.join(unsupported)}")
        return cls(**kwargs)


def _get(who: str, what: str, getter: Callable, value: Any) -> Any:
    """``activations.get``/``initializers.get`` whose error names the layer and the argument."""
    try:
        return getter(value)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, f"{who}: {what}", ("activations.get", "initializers.get")) from None


class Dense(Layer):
    """``y = activation(x @ kernel + bias)``, kernel of shape ``(in, units)`` (Keras layout).

    Applies to the last axis of ``x``: ``(batch, in)`` -> ``(batch, units)``,
    ``(batch, t, in)`` -> ``(batch, t, units)``.
    """

    def __init__(self, units: int, activation: Union[str, Callable, None] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[Sequence[int]] = None, name: Optional[str] = None, dtype: Any = None,
                 input_dim: Optional[int] = None):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.units = int(units)
        self.activation = _get("Dense", "activation", activations.get, activation)
        self.use_bias = V.boolean("Dense", "use_bias", use_bias)
        self.kernel_initializer = _get("Dense", "kernel_initializer", initializers.get, kernel_initializer)
        self.bias_initializer = _get("Dense", "bias_initializer", initializers.get, bias_initializer)
        self.kernel = None
        self.bias = None
        self._build_now_if_shape_known()

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 2:
            raise ValueError(f"{self.name}: Dense needs inputs of at least 2 dimensions (batch, features), got "
                             f"input shape {tuple(input_shape)}")
        in_dim = input_shape[-1]
        dt = self.dtype or get_default_dtype()
        self.dtype = dt
        kernel = np.asarray(self.kernel_initializer((in_dim, self.units), dt), dtype=dt)
        if kernel.shape != (in_dim, self.units):
            raise ValueError(f"{self.name}: kernel_initializer returned shape {kernel.shape}, expected "
                             f"{(in_dim, self.units)}")
        self.kernel = creation.tensor(kernel, requires_grad=True, name=f"{self.name}.kernel", dtype=dt)
        if self.use_bias:
            bias = np.asarray(self.bias_initializer((self.units,), dt), dtype=dt)
            self.bias = creation.tensor(bias, requires_grad=True, name=f"{self.name}.bias", dtype=dt)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x: Tensor) -> Tensor:
        shape, expected = x._data.shape, self.input_shape[-1]
        if len(shape) < 2 or shape[-1] != expected:
            raise ValueError(f"{self.name}: expected inputs with {expected} features on the last axis "
                             f"(shape (batch, {expected})), got shape {shape}")
        # the registry's matmul, add and relu nodes, made directly: the shapes are checked above
        kernel = self.kernel
        state = STATE
        if state.grad_enabled and state.anomaly is None:  # make_node's result, without its call and loops
            y = record_node(np.matmul(x._data, kernel._data), _MATMUL, x, kernel, state.scope)
            if self.use_bias:
                y = record_node(y._data + self.bias._data, _ADD, y, self.bias, state.scope)
            act = self.activation
            if act is activations.relu:
                return record_node(_RELU.forward(y._data), _RELU, y, None, state.scope)
            return act(y)
        y = make_node(np.matmul(x._data, kernel._data), _MATMUL, (x, kernel))
        if self.use_bias:
            bias = self.bias
            y = make_node(y._data + bias._data, _ADD, (y, bias))
        act = self.activation
        if act is activations.relu:
            return make_node(_RELU.forward(y._data), _RELU, (y,))
        return act(y)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}

    def __repr__(self) -> str:
        act = getattr(self.activation, "__name__", repr(self.activation))
        return f"Dense(name={self.name!r}, units={self.units}, activation={act})"


class InputLayer(Layer):
    """The entry of a model: ``keras.Input(shape=(2,))`` makes one and returns its symbolic tensor.

    In a :class:`Sequential` (``Sequential([Input(shape=(2,)), Dense(1)])``, the same as
    ``Dense(1, input_shape=(2,))``) it declares the input shape and is not listed by ``summary()``.
    It has no weights and passes its input through after checking its shape.
    """

    def __init__(self, shape: Optional[Sequence[int]] = None, dtype: Any = None, name: Optional[str] = None,
                 batch_shape: Optional[Sequence[Optional[int]]] = None):
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer: give shape (without the batch axis) or batch_shape, not both")
        if shape is None and batch_shape is not None:  # Keras's config spelling: batch axis first
            shape = tuple(batch_shape)[1:]
        if shape is None:
            raise ValueError("InputLayer: give shape=(...) (without the batch axis)")
        super().__init__(name=name, input_shape=shape, dtype=dtype)
        self._build_now_if_shape_known()

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.input_shape[1:] or x.ndim != len(self.input_shape):
            raise ValueError(f"{self.name}: expected inputs of shape (batch, "
                             f"{', '.join(map(str, self.input_shape[1:]))}), got shape {x.shape}")
        return x

    def get_config(self) -> Dict[str, Any]:
        return {"batch_shape": list(self.input_shape), "dtype": self.dtype.name, "name": self.name}

    def __repr__(self) -> str:
        return f"InputLayer(name={self.name!r}, shape={self.input_shape[1:]})"


def Input(shape: Sequence[int], dtype: Any = None, name: Optional[str] = None) -> symbolic.KerasTensor:
    """``keras.Input(shape=...)``: a symbolic tensor to build a functional model from (layers called on it
    record the call), or the first entry of a :class:`Sequential`."""
    try:
        layer = InputLayer(shape, dtype=dtype, name=name)
    except (TypeError, ValueError) as e:  # "input_layer_3: ..." / "InputLayer: ...": the user called Input
        raise type(e)("Input: " + str(e).split(": ", 1)[-1]) from None
    return input_tensor(layer)


def input_tensor(layer: InputLayer) -> symbolic.KerasTensor:
    """The symbolic tensor an InputLayer stands for (made once per layer)."""
    if getattr(layer, "_input_node", None) is None:
        node = symbolic.Node(layer, [], {})
        node.outputs.append(symbolic.KerasTensor(layer.input_shape, layer.dtype, node))
        layer._input_node = node
    return layer._input_node.outputs[0]


class Activation(Layer):
    """Applies an activation (a name such as ``"relu"`` or a callable) to its input."""

    def __init__(self, activation: Union[str, Callable, None], name: Optional[str] = None,
                 input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.activation = _get("Activation", "activation", activations.get, activation)
        self._build_now_if_shape_known()

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(x)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: in training mode each entry is zeroed with probability ``rate`` and the
    survivors are scaled by ``1 / (1 - rate)`` (so the expected value is unchanged); in
    inference mode (``eval()``, ``predict``, ``evaluate``) it is the identity.

    ``noise_shape`` (Keras) shapes the random mask, broadcast over the input: with inputs
    ``(batch, timesteps, features)``, ``noise_shape=(None, 1, None)`` drops the same features at
    every timestep (``None`` takes the input's size). ``layer(x, training=True/False)`` overrides
    the module's mode for one call.
    """

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None, seed: Optional[int] = None,
                 name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        if noise_shape is not None and not isinstance(noise_shape, (tuple, list)):
            raise TypeError(f"Dropout: noise_shape must be a tuple of positive ints or None, got {V.show(noise_shape)}")
        if noise_shape is not None and not all(n is None or (isinstance(n, (int, np.integer)) and n > 0)
                                               for n in noise_shape):
            raise ValueError(f"Dropout: noise_shape must hold positive ints or None, got {noise_shape!r}")
        seed = V.integer("Dropout", "seed", seed, lo=0, allow_none=True)
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._build_now_if_shape_known()

    def _mask_shape(self, shape: Tuple[int, ...]) -> Tuple[int, ...]:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape) or any(n not in (None, 1, d) for n, d in zip(self.noise_shape, shape)):
            raise ValueError(f"{self.name}: noise_shape {self.noise_shape} does not broadcast to inputs of shape {shape} "
                             "(each entry must be None, 1 or the input's size)")
        return tuple(d if n is None else n for n, d in zip(self.noise_shape, shape))

    def forward(self, x: Tensor, training: Optional[bool] = None) -> Tensor:
        active = self.training if training is None else bool(training)
        shape = self._mask_shape(x.shape)
        if not active or self.rate == 0.0:
            return x
        keep = creation.get_generator().random(shape) >= self.rate
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return ops.mul(x, Tensor._wrap(mask))

    def get_config(self) -> Dict[str, Any]:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": noise}

    def __repr__(self) -> str:
        return f"Dropout(name={self.name!r}, rate={self.rate})"


class Embedding(Layer):
    """A lookup table: integer indices ``(batch, ...)`` -> rows of ``embeddings`` ``(input_dim, output_dim)``,
    output ``(batch, ..., output_dim)``. The gradient adds into the rows that were looked up (a
    repeated index gets the sum). Keras's default initializer: U(-0.05, 0.05)."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None, dtype: Any = None):
        for what, n in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"Embedding: {what} must be a positive int, got {n!r}")
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = _get("Embedding", "embeddings_initializer", initializers.get,
                                           embeddings_initializer)
        self.embeddings = None
        self._build_now_if_shape_known()

    def build(self, input_shape: Shape) -> None:
        dt = self.dtype or get_default_dtype()
        table = np.asarray(self.embeddings_initializer((self.input_dim, self.output_dim), dt), dtype=dt)
        self.embeddings = creation.tensor(table, requires_grad=True, name=f"{self.name}.embeddings", dtype=dt)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.output_dim,)

    def _convert_inputs(self, x: Any) -> Tensor:
        arr = numeric_array(x, self.name, "the input")
        if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{self.name}: Embedding inputs must be whole-number indices, got {arr.ravel()[:5]}...")
        idx = arr.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.input_dim):
            raise ValueError(f"{self.name}: indices must lie in [0, {self.input_dim}), got values from {idx.min()} "
                             f"to {idx.max()}")
        return Tensor._wrap(idx)

    def forward(self, x: Tensor) -> Tensor:
        return ops.getitem(self.embeddings, x.data)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer)}
