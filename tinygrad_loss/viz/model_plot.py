"""``plot_model``: a model's layers as a diagram, as Keras's ``keras.utils.plot_model`` draws it.

One box per layer (``name (Type)``, input and output shapes, optionally dtype, activation and
whether it is trainable), arrows from each layer to the next. The model is read through its
public attributes only (``layers`` or ``named_children()``, ``name``, ``input_shape``,
``output_shape``, ``activation``, ``parameters()``), so the viewer imports no training code.
"""
from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple

from .. import _validate as V
from .._io import write_atomic
from . import _graph as G
from .dot import FONT, PALETTE, _font
from .render import pipe

__all__ = ["plot_model", "is_model"]

FORMATS = ("png", "svg", "pdf", "dot")


def is_model(obj: Any) -> bool:
    """Something plot_model can draw: an object with ``layers`` or ``named_children()`` (a Module)."""
    return hasattr(obj, "layers") or callable(getattr(obj, "named_children", None))


def _layers(model: Any) -> List[Any]:
    layers = getattr(model, "layers", None)
    if layers is None:
        layers = [m for _, m in model.named_children()]
    return list(layers)


def _shape(shape: Optional[Tuple]) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _activation(layer: Any) -> Optional[str]:
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    name = getattr(act, "__name__", None) or type(act).__name__
    return "linear" if name in ("linear", "identity") else name


def _trainable(layer: Any) -> bool:
    flag = getattr(layer, "trainable", None)
    if isinstance(flag, bool):
        return flag
    params = layer.parameters() if callable(getattr(layer, "parameters", None)) else []
    return all(p.requires_grad for p in params)


class _ModelDiagram:
    def __init__(self, opts: dict):
        self.o, self.lines, self.count = opts, [], 0

    def box(self, layer: Any, in_shape: Optional[Tuple], indent: str, shapes: Optional[Tuple[str, str]] = None) -> str:
        """A box for ``layer``; ``shapes`` (input text, output text) when the caller knows them better."""
        o, P = self.o, PALETTE
        is_input = type(layer).__name__ == "InputLayer"
        title = f"{layer.name} ({type(layer).__name__})" if o["show_layer_names"] else type(layer).__name__
        rows = [_font(G.esc(title), P["input_title"] if is_input else P["op_title"], 13, bold=True)]
        if o["show_shapes"]:
            ins, outs = shapes or (_shape(in_shape), _shape(getattr(layer, "output_shape", None)))
            if not is_input:
                rows.append(_font("Input shape: " + G.esc(ins), P["muted"], 11))
            rows.append(_font("Output shape: " + G.esc(outs), P["muted"], 11))
        if o["show_dtype"]:
            rows.append(_font(f"dtype: {G.esc(str(getattr(layer, 'dtype', None) or '?'))}", P["muted"], 11))
        act = _activation(layer) if o["show_layer_activations"] else None
        if act:
            rows.append(_font(f"Activation: {G.esc(act)}", P["text"], 11))
        if o["show_trainable"]:
            rows.append(_font(f"Trainable: {'Y' if _trainable(layer) else 'N'}", P["text"], 11))
        fill, border = (P["input_fill"], P["input_border"]) if is_input else (P["param_fill"], P["param_border"])
        cells = "".join(f'<TR><TD ALIGN="LEFT">{r}</TD></TR>' for r in rows)
        nid = f"l{self.count}"
        self.count += 1
        self.lines.append(f'{indent}{nid} [label=<<TABLE BORDER="1" COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded" '
                          f'CELLBORDER="0" CELLSPACING="0" CELLPADDING="4">{cells}</TABLE>>]')
        return nid

    def chain(self, model: Any, prev: Optional[str], in_shape: Optional[Tuple], indent: str = "") -> Tuple:
        """Draw ``model``'s layers one after the other; returns (last node id, its output shape)."""
        for layer in _layers(model):
            nested = is_model(layer) and hasattr(layer, "layers")
            if nested and self.o["expand_nested"]:
                k = len([x for x in self.lines if "subgraph cluster_" in x])
                self.lines.append(f"{indent}subgraph cluster_{k} {{")
                self.lines.append(f'{indent}\tlabel=<{_font(G.esc(f"{layer.name} ({type(layer).__name__})"), PALETTE["cluster_text"], 12, bold=True)}> '
                                  f'labeljust=l style="rounded,dashed" color="{PALETTE["cluster_border"]}"')
                prev, in_shape = self.chain(layer, prev, in_shape, indent + "\t")
                self.lines.append(f"{indent}}}")
                continue
            nid = self.box(layer, in_shape, indent)
            if prev is not None:
                self.lines.append(f"{prev} -> {nid}")
            prev, in_shape = nid, getattr(layer, "output_shape", None)
        return prev, in_shape


def _calls(model: Any) -> List[Any]:
    """The layer calls of a functional model (``model.outputs[i].node``, back through ``node.parents``), in
    the order the model lists its layers."""
    found, stack = {}, [t.node for t in model.outputs]
    while stack:
        node = stack.pop()
        if id(node) not in found:
            found[id(node)] = node
            stack.extend(p.node for p in node.parents)
    rank = {id(layer): k for k, layer in enumerate(model.layers)}
    return sorted(found.values(), key=lambda n: rank.get(id(n.layer), len(rank)))


def _functional(diagram: "_ModelDiagram", model: Any) -> None:
    """One box per layer, one arrow per (producing layer, consuming layer): the model's graph, as Keras draws it."""
    boxes, edges = {}, []
    for node in _calls(model):
        if id(node.layer) not in boxes:
            ins = ", ".join(_shape(p.shape) for p in node.parents) or "?"
            outs = ", ".join(_shape(t.shape) for t in node.outputs) or "?"
            boxes[id(node.layer)] = diagram.box(node.layer, None, "", shapes=(ins, outs))
        for p in node.parents:
            edge = f"{boxes[id(p.node.layer)]} -> {boxes[id(node.layer)]}"
            if edge not in edges:
                edges.append(edge)
    diagram.lines.extend(edges)


def _is_functional(model: Any) -> bool:
    outs = getattr(model, "outputs", None)
    return isinstance(outs, list) and bool(outs) and all(hasattr(t, "node") for t in outs)


def _check(model: Any, to_file: Any, rankdir: Any, dpi: Any, flags: dict) -> Optional[Tuple[str, str]]:
    if not is_model(model):
        raise TypeError(f"plot_model: model must be a Model or Sequential (something with layers), "
                        f"got {type(model).__name__}")
    V.string("plot_model", "rankdir", rankdir, choices=("TB", "LR"))
    V.number("plot_model", "dpi", dpi, lo=10, hi=2400)
    for name, value in flags.items():
        V.boolean("plot_model", name, value)
    if to_file is None:
        return None
    path = V.path("plot_model", "to_file", to_file)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"plot_model: to_file must end in .png, .svg, .pdf or .dot, got {path!r}")
    return path, fmt


def plot_model(model: Any, to_file: Optional[str] = None, show_shapes: bool = True, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
               show_layer_activations: bool = False, show_trainable: bool = False, dpi: float = 200):
    """A layer-level diagram of ``model`` (Keras's ``keras.utils.plot_model``).

    Returns a ``graphviz.Source`` (Jupyter displays it inline as SVG). With ``to_file``
    (``.png``, ``.svg``, ``.pdf`` or ``.dot``) the picture is also written, atomically; ``dpi``
    sets the PNG resolution. ``rankdir`` is ``"TB"`` (vertical) or ``"LR"`` (horizontal);
    ``expand_nested`` draws the layers of a nested model inside a dashed box.
    """
    flags = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                 expand_nested=expand_nested, show_layer_activations=show_layer_activations,
                 show_trainable=show_trainable)
    target = _check(model, to_file, rankdir, dpi, flags)
    diagram = _ModelDiagram(flags)
    if _is_functional(model):
        _functional(diagram, model)
    else:
        _sequence(diagram, model)
    body = [f'graph [rankdir={rankdir} fontname="{FONT}" bgcolor="white" pad=0.2 nodesep=0.3 ranksep=0.35]',
            f'node [shape=plain fontname="{FONT}" fontsize=11]',
            f'edge [color="{PALETTE["edge"]}" arrowsize=0.8 penwidth=1.3]'] + diagram.lines
    src = "digraph model {\n" + "".join(f"\t{x}\n" for x in body) + "}\n"
    if target is not None:
        path, fmt = target
        if fmt == "dot":
            write_atomic(path, src)
        else:
            data = pipe(src.replace("digraph model {\n", f"digraph model {{\n\tgraph [dpi={dpi}]\n", 1)
                        if fmt == "png" else src, fmt, dot_path=os.path.splitext(path)[0] + ".dot", where="plot_model")
            write_atomic(path, data)
    import graphviz

    return graphviz.Source(src)


def _sequence(diagram: "_ModelDiagram", model: Any) -> None:
    """The layers one after the other, behind an input box when the first layer declared its input shape."""
    first = _layers(model)[0] if _layers(model) else None
    spec = getattr(model, "input_spec", None)
    in_shape = (None,) + tuple(spec) if spec is not None else None
    prev = None
    if spec is not None and type(first).__name__ != "InputLayer":  # Keras draws the input as a layer
        prev = diagram.box(InputLayer(f"{getattr(model, 'name', 'model')}_input", in_shape,
                                      getattr(first, "dtype", None)), None, "")
    diagram.chain(model, prev, in_shape)


class InputLayer:
    """The input box drawn in front of a model whose first layer declared ``input_shape``."""

    def __init__(self, name: str, shape: Tuple, dtype: Any):
        self.name, self.output_shape, self.dtype = name, shape, dtype
        self.activation = None

    def parameters(self) -> list:
        return []

