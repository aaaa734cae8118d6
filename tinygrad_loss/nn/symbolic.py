"""Symbolic tensors for the functional API: ``keras.Input`` returns one, and calling a layer on
symbolic tensors records the call instead of computing anything.

A :class:`KerasTensor` knows its shape (batch axis ``None``), its dtype and the :class:`Node`
that produced it. A Node is one call of a layer: the layer, the symbolic inputs it was given
(one tensor or a list, as given) and the keyword arguments. ``keras.Model(inputs, outputs)``
walks the nodes back from ``outputs`` to ``inputs`` and replays them on real data.
"""
from __future__ import annotations

import itertools
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["KerasTensor", "Node", "is_symbolic", "flatten", "call_layer"]

Shape = Tuple[Optional[int], ...]


class Node:
    """One call of ``layer`` on symbolic ``inputs`` (a KerasTensor or a list of them)."""

    __slots__ = ("layer", "inputs", "kwargs", "outputs", "serial")
    _count = itertools.count()

    def __init__(self, layer: Any, inputs: Any, kwargs: Dict[str, Any]):
        self.serial = next(Node._count)  # creation order: every node is made after the nodes it reads
        self.layer = layer
        self.inputs = inputs
        self.kwargs = dict(kwargs)
        self.outputs: List["KerasTensor"] = []

    @property
    def parents(self) -> List["KerasTensor"]:
        return flatten(self.inputs)


class KerasTensor:
    """A placeholder for a batch of data in a functional model (``keras.Input(shape=(4,))``)."""

    __slots__ = ("shape", "dtype", "node", "index")

    def __init__(self, shape: Shape, dtype: Any, node: Node, index: int = 0):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def name(self) -> str:
        return self.node.layer.name

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self!r} is symbolic: it stands for data that a model built with keras.Model(inputs, "
                        "outputs) receives when called; only layers can be applied to it")


def flatten(x: Any) -> List[KerasTensor]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def is_symbolic(x: Any) -> bool:
    """True for a KerasTensor or a non-empty list/tuple of them; a list mixing them with data is an error."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)) and x and any(isinstance(t, KerasTensor) for t in x):
        if not all(isinstance(t, KerasTensor) for t in x):
            raise TypeError("a layer's inputs must be all symbolic (keras.Input and what layers made from it) or "
                            "all data, not a mix")
        return True
    return False


def call_layer(layer: Any, inputs: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> KerasTensor:
    """Record ``layer(inputs, **kwargs)``: build the layer for the inputs' shapes and return a
    KerasTensor of its output shape. The layer's weights are created here, once: calling the
    same layer again on other inputs shares them."""
    if args:
        raise TypeError(f"{layer.name}: on symbolic inputs, pass extra arguments by keyword (e.g. training=...)")
    tensors = flatten(inputs)
    shapes = [t.shape for t in tensors]
    shape = shapes if isinstance(inputs, (list, tuple)) else shapes[0]
    layer._ensure_built(shape, tensors[0].dtype)
    node = Node(layer, inputs, kwargs)
    out = KerasTensor(layer.compute_output_shape(shape), layer.dtype, node)
    node.outputs.append(out)
    return out
