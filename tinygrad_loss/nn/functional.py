"""Functional models: ``keras.Model(inputs, outputs)`` over a graph of layer calls.

``keras.Input`` gives symbolic tensors; calling layers on them records :class:`~.symbolic.Node`\\ s.
The model walks the nodes back from ``outputs`` to ``inputs`` once, keeps them in an order
where every node comes after the nodes it reads, and replays them on real data when called.
A layer called twice shares its weights (it is one layer with two nodes). Several inputs and
outputs are lists, as in Keras: ``model([x1, x2])`` returns ``[y1, y2]``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..tensor import Tensor
from .layers import InputLayer
from .model import Model, numbered_by_class
from .module import Module
from .symbolic import KerasTensor, Node, flatten

__all__ = ["Functional"]


def _check_tensors(what: str, items: List[Any]) -> None:
    if not items or not all(isinstance(t, KerasTensor) for t in items):
        raise TypeError(f"Model: {what} must be keras.Input tensors and the outputs of layers called on them, got "
                        f"{[type(t).__name__ for t in items]}")


def _ordered_nodes(inputs: List[KerasTensor], outputs: List[KerasTensor]) -> List[Node]:
    """The layer calls between ``inputs`` and ``outputs``, in the order they were made (which puts
    every node after the nodes it reads)."""
    given = {id(t) for t in inputs}
    found: Dict[int, Node] = {}
    stack = [t.node for t in outputs if id(t) not in given]
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        if not node.parents:
            raise ValueError(f"Model: the outputs depend on the input {node.layer.name!r}, which is not among the "
                             "model's inputs")
        found[id(node)] = node
        stack.extend(t.node for t in node.parents if id(t) not in given)
    return sorted(found.values(), key=lambda n: n.serial)


def keras_layer_order(inputs: List[KerasTensor], outputs: List[KerasTensor]) -> List[Module]:
    """The layers in Keras's order for a functional model (its ``model.layers``, which also numbers the
    layers of a weights file): deepest first (inputs), ties broken by when a depth-first walk from the
    outputs first meets the layer. Followed here so files read the same in Keras and in this project."""
    index: Dict[int, int] = {}
    post: List[Node] = []
    done: set = set()
    for out in outputs:  # depth-first from each output; a node is listed after its parents
        stack = [(out.node, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                if id(node) not in done:
                    done.add(id(node))
                    post.append(node)
                continue
            if id(node) in done:
                continue
            index.setdefault(id(node.layer), len(index))
            stack.append((node, True))
            stack.extend((t.node, False) for t in reversed(node.parents))
    node_depth: Dict[int, int] = {}
    layer_depth: Dict[int, int] = {}
    for node in reversed(post):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for t in node.parents:
            node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    layers = {id(n.layer): n.layer for n in post}
    for t in inputs:  # an input no output depends on still belongs to the model
        layers.setdefault(id(t.node.layer), t.node.layer)
        layer_depth.setdefault(id(t.node.layer), 0)
        index.setdefault(id(t.node.layer), -1)
    return sorted(layers.values(), key=lambda l: (-layer_depth[id(l)], index[id(l)]))


class Functional(Model):
    """A model defined by ``inputs`` and ``outputs`` symbolic tensors (see the module docstring)."""

    def __init__(self, inputs: Any, outputs: Any, name: Optional[str] = None):
        super().__init__(name=name)
        ins, outs = flatten(inputs), flatten(outputs)
        _check_tensors("inputs", ins)
        _check_tensors("outputs", outs)
        for t in ins:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model: inputs must come from keras.Input, got the output of {t.node.layer.name!r}")
        self._inputs, self._outputs = ins, outs
        self._nested = (isinstance(inputs, (list, tuple)), isinstance(outputs, (list, tuple)))
        self._nodes = _ordered_nodes(ins, outs)
        self._functional_layers = keras_layer_order(ins, outs)
        for layer in self._functional_layers:
            if layer.name in self._modules:
                raise ValueError(f"Model: two layers are named {layer.name!r}; layer names must be unique in a model")
            self._modules[layer.name] = layer

    @property
    def layers(self) -> List[Module]:
        """Every layer, inputs first, then in the order they are computed (Keras)."""
        return list(self._functional_layers)

    @property
    def inputs(self) -> List[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> List[KerasTensor]:
        return list(self._outputs)

    @property
    def built(self) -> bool:
        return True

    @property
    def input_spec(self) -> Optional[Tuple[int, ...]]:
        return tuple(self._inputs[0].shape[1:]) if len(self._inputs) == 1 else None

    def _input_count(self) -> int:
        return len(self._inputs)

    def _output_count(self) -> int:
        return len(self._outputs)

    def _weight_children(self) -> Dict[str, Module]:
        return numbered_by_class(self._functional_layers)

    def _summary_layers(self) -> List[Module]:
        return self.layers

    def _summary_connections(self, layer: Module) -> List[str]:
        """``"dense[0][0]"`` for each tensor the layer reads: the producing layer, which of its calls
        in this model, which output (Keras's "Connected to" column)."""
        calls: Dict[int, int] = {}
        for node in self._nodes:
            calls.setdefault(id(node.layer), 0)
            calls[id(node)] = calls[id(node.layer)]
            calls[id(node.layer)] += 1
        return [f"{t.node.layer.name}[{calls.get(id(t.node), 0)}][{t.index}]"
                for node in self._nodes if node.layer is layer for t in node.parents]

    def forward(self, inputs: Any, training: Optional[bool] = None) -> Any:
        """Replay the recorded layer calls on ``inputs`` (a list when the model has several inputs)."""
        given = list(inputs) if self._nested[0] and isinstance(inputs, (list, tuple)) else [inputs]
        if len(given) != len(self._inputs):
            raise ValueError(f"{self.name}: the model has {len(self._inputs)} inputs "
                             f"({', '.join(t.name for t in self._inputs)}), got {len(given)}")
        with self._mode(training):
            values: Dict[int, Tensor] = {}
            for t, x in zip(self._inputs, given):
                values[id(t)] = t.node.layer(x)
            for node in self._nodes:
                args = [values[id(t)] for t in node.parents]
                out = node.layer(args if isinstance(node.inputs, (list, tuple)) else args[0], **node.kwargs)
                values[id(node.outputs[0])] = out
            outs = [values[id(t)] for t in self._outputs]
        return outs if self._nested[1] else outs[0]
