"""The local rule each op applies in the backward pass, as a short formula for captions.

``a``, ``b`` are the op's inputs, ``g`` is the gradient that has arrived at the op's result
(∂L/∂result) and ``out`` the result itself. The formulas restate the VJPs of
:mod:`tinygrad_loss.ops` for people (``pow`` sends ``2·a·g`` to its base when the exponent is
2); the numbers next to them in a caption are the engine's own terms, never recomputed here.
An op missing from the table is described as "its VJP".
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..tensor import Tensor
from ._graph import fmt_array, fmt_scalar, fmt_shape

__all__ = ["local_rule", "short_value", "RULES"]

#: Op name -> the term sent to each input position (a broadcast input receives the sum, see local_rule).
RULES = {
    "add": ("g", "g"),
    "sub": ("g", "-g"),
    "mul": ("b·g", "a·g"),
    "div": ("g/b", "-a·g/b²"),
    "maximum": ("g where a ≥ b", "g where b > a"),
    "minimum": ("g where a ≤ b", "g where b < a"),
    "where": ("g where the condition holds", "g where it does not"),
    "neg": ("-g",),
    "exp": ("exp(a)·g",),
    "log": ("g/a",),
    "log1p": ("g/(1+a)",),
    "sqrt": ("g/(2·√a)",),
    "abs": ("sign(a)·g",),
    "tanh": ("(1 - tanh²(a))·g",),
    "sigmoid": ("σ(a)·(1 - σ(a))·g",),
    "relu": ("g where a > 0",),
    "erf": ("2/√π·exp(-a²)·g",),
    "clip": ("g where a is inside the bounds",),
    "matmul": ("g·bᵀ", "aᵀ·g"),
    "sum": ("g copied to every summed element",),
    "max": ("g to the largest element(s)",),
    "min": ("g to the smallest element(s)",),
    "logsumexp": ("softmax(a)·g",),
    "log_softmax": ("g - softmax(a)·Σg",),
    "softmax": ("out·(g - Σ g·out)",),
    "reshape": ("g reshaped to a's shape",),
    "permute": ("g with its axes put back",),
    "expand": ("g summed back to a's shape",),
    "astype": ("g cast to a's dtype",),
    "getitem": ("g placed back into a zero array of a's shape",),
    "concatenate": ("its slice of g",),
    "stack": ("its slice of g",),
}

_ELEMENTWISE_BINARY = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "where"}


def _pow_rule(node: Tensor, position: int) -> str:
    if position == 1:
        return "ln(a)·out·g"
    exponent = node.parents[1]
    if exponent.size != 1 or exponent.requires_grad:
        return "b·a^(b-1)·g"
    p = float(exponent.data.reshape(()))
    if p == 2:
        return "2·a·g"
    if p == 1:
        return "g"
    return f"{fmt_scalar(p)}·a^{fmt_scalar(p - 1)}·g"


def local_rule(node: Tensor, position: int) -> str:
    """The formula of the term ``node``'s VJP sends to its input number ``position``."""
    op = node.op
    if op == "pow":
        rule = _pow_rule(node, position)
    elif op == "mean":
        n = node.parents[0].size // max(node.size, 1)
        rule = f"g/{n}"
    else:
        rules: Sequence[str] = RULES.get(op, ())
        rule = rules[position] if position < len(rules) else "its VJP"
    parent = node.parents[position]
    if op in _ELEMENTWISE_BINARY and tuple(parent.shape) != tuple(node.shape):
        rule = f"sum({rule})"  # broadcasting: one input element served several output elements
    return rule


def short_value(a: np.ndarray, precision: int = 4) -> str:
    """A term's value for a caption: in full up to 6 elements, else its shape."""
    a = np.asarray(a)
    if a.size <= 6:
        lines = fmt_array(a, precision)
        return " ".join(x.strip() for x in lines)
    return f"an array of shape {fmt_shape(a.shape)}"
