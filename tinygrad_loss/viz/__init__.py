"""Pictures of computation graphs, for teaching losses and backpropagation.

``to_dot`` (DOT text, no Graphviz needed), ``draw`` (a ``graphviz.Digraph``), ``render``
(a file), ``plot_model`` (a model's layers, as Keras draws them), ``backprop_steps`` / ``render_backprop`` (the backward pass one node at a time),
teaching diagnostics as drawing options, and ``detect_anomaly`` (raise at the first op that
makes a NaN/inf). The viewer reads the graph's public fields only and never imports training code.
"""
from .anomaly import AnomalyError, detect_anomaly
from .dot import PALETTE, DrawOptions, to_dot
from .model_plot import plot_model
from .render import FORMATS, GraphvizNotFoundError, draw, render
from .steps import BackpropStep, BackpropSteps, backprop_steps, render_backprop
# loss curves, surfaces and optimizer paths: the arrays (tinygrad_loss.landscape, outside the viewer because it
# resolves loss names) and their pictures (plots: matplotlib, imported only when drawing)
from ..landscape import filter_normalized_direction, loss_curves, loss_surface, model_loss_surface, optimizer_paths
from .plots import plot_history, plot_loss_atlas, plot_loss_surface, save_figure

__all__ = ["to_dot", "draw", "render", "plot_model", "backprop_steps", "render_backprop", "BackpropStep", "BackpropSteps", "detect_anomaly",
           "AnomalyError", "GraphvizNotFoundError", "DrawOptions", "PALETTE", "FORMATS",
           "loss_curves", "loss_surface", "model_loss_surface", "optimizer_paths", "filter_normalized_direction",
           "plot_history", "plot_loss_atlas", "plot_loss_surface", "save_figure"]
