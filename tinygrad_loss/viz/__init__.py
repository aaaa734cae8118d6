"""Pictures of computation graphs, for teaching losses and backpropagation.

``to_dot`` (DOT text, no Graphviz needed), ``draw`` (a ``graphviz.Digraph``), ``render``
(a file), ``backprop_steps`` / ``render_backprop`` (the backward pass one node at a time),
teaching diagnostics as drawing options, and ``detect_anomaly`` (raise at the first op that
makes a NaN/inf). The viewer reads the graph's public fields only and never imports training code.
"""
from .anomaly import AnomalyError, detect_anomaly
from .dot import PALETTE, DrawOptions, to_dot
from .render import FORMATS, GraphvizNotFoundError, draw, render
from .steps import BackpropStep, backprop_steps, render_backprop

__all__ = ["to_dot", "draw", "render", "backprop_steps", "render_backprop", "BackpropStep", "detect_anomaly",
           "AnomalyError", "GraphvizNotFoundError", "DrawOptions", "PALETTE", "FORMATS"]
