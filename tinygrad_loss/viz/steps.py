"""Backpropagation one node at a time, as a sequence of pictures.

The steps are recorded from the engine itself: :func:`backprop_steps` runs the backward
pass on the (retained) graph with an observer and ``accumulate=False``, so the order is the
engine's order, the numbers are the engine's numbers, and no ``.grad`` is touched.

Step 0 puts the seed ``∂L/∂L = 1`` on the output. Step k processes one node: its gradient is
now complete (the sum of every term its consumers sent), and its VJP sends one term along
each input edge (drawn as pink arrows). Inputs that have received only some of their terms
show a pale "grad so far" row.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass, field, replace
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union, overload

import numpy as np

from .. import _validate as V, autograd
from ..tensor import Tensor
from ._graph import Collapser, as_roots, fmt_array, fmt_shape
from .dot import DrawOptions, StepView, build, source
from .render import GraphvizNotFoundError, _options, pipe, write_atomic
from .rules import local_rule, short_value
from .walkthrough import component, page

__all__ = ["BackpropStep", "BackpropSteps", "backprop_steps", "render_backprop", "MAX_INLINE_STEPS"]

#: A notebook shows at most this many steps inline (each is a whole picture); slice for a part.
MAX_INLINE_STEPS = 150


@dataclass
class BackpropStep:
    """One picture of the backward pass: ``tensor`` is the node processed at this step, ``grad``
    its complete gradient, ``sent`` the terms its VJP sends: (input, rule, term) triples."""

    index: int
    total: int
    tensor: Tensor
    grad: np.ndarray
    caption: str
    dot: str
    sent: List[Tuple[Tensor, str, np.ndarray]] = field(default_factory=list)

    def draw(self):
        """This step as a ``graphviz.Source`` (displays inline in Jupyter)."""
        import graphviz

        return graphviz.Source(self.dot)

    def _repr_mimebundle_(self, include=None, exclude=None):  # Jupyter shows the picture
        return self.draw()._repr_mimebundle_(include, exclude)


class BackpropSteps(Sequence[BackpropStep]):
    """The steps of one backward pass: a sequence of :class:`BackpropStep` (index it, ``len``,
    iterate) that Jupyter displays as the interactive walk-through (:meth:`html`)."""

    def __init__(self, steps: List[BackpropStep], title: str = "Backpropagation, step by step",
                 inline_dots: Optional[List[str]] = None):
        self._steps, self.title = steps, title
        # The walk-through prints each caption above the picture, so its pictures leave it out.
        self._inline_dots = inline_dots if inline_dots is not None else [s.dot for s in steps]
        self._svgs: Optional[List[str]] = None

    @overload
    def __getitem__(self, i: int) -> BackpropStep: ...

    @overload
    def __getitem__(self, i: slice) -> "BackpropSteps": ...

    def __getitem__(self, i):
        if isinstance(i, slice):  # a part of the walk-through, still displayable
            return BackpropSteps(self._steps[i], self.title, self._inline_dots[i])
        return self._steps[i]

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[BackpropStep]:
        return iter(self._steps)

    def __repr__(self) -> str:
        if not self._steps:
            return "<BackpropSteps: no steps>"
        first, last = self._steps[0], self._steps[-1]
        if len(self) != first.total:
            return (f"<BackpropSteps: steps {first.index} to {last.index} of {first.total - 1} of a backward pass; "
                    f"shown as a walk-through in Jupyter>")
        out = first.tensor
        what = f"'{out.name}'" if out.name else f"'{out.op}'" if out.op else "a leaf"
        return (f"<BackpropSteps: {len(self) - 1} steps of the backward pass from {what}, shape "
                f"{fmt_shape(out.shape)}; shown as a walk-through in Jupyter>")

    def svgs(self) -> List[str]:
        """Every step drawn as SVG by Graphviz (computed once)."""
        if self._svgs is None:
            self._svgs = [pipe(d, "svg", where="backprop_steps").decode("utf-8") for d in self._inline_dots]
        return self._svgs

    def html(self, title: Optional[str] = None) -> str:
        """The walk-through as an HTML fragment; each call makes a copy with its own ids."""
        return component(self.svgs(), [s.caption for s in self._steps], self.title if title is None else title,
                         numbers=[s.index for s in self._steps], last=self._steps[0].total - 1)

    def _repr_html_(self) -> str:
        if not self._steps:
            return f"<p><code>{html.escape(repr(self))}</code></p>"
        if len(self) > MAX_INLINE_STEPS:  # every step is a whole picture: hundreds would weigh hundreds of MB
            return (f"<p><code>{html.escape(repr(self))}</code><br>{len(self)} steps are too many to show inline "
                    f"(at most {MAX_INLINE_STEPS}): show a part, e.g. <code>steps[:{MAX_INLINE_STEPS // 2}]</code>, "
                    f"or write them all with <code>render_backprop(loss, 'out/steps.html')</code>.</p>")
        return self.html()


def _label(t: Tensor, collapser: Optional[Collapser] = None) -> str:
    """How a caption names a node: a parameter by name, an op with its scope, a folded op by its box."""
    if t.is_leaf:
        return f"'{t.name}'" if t.name else f"the input of shape {fmt_shape(t.shape)}"
    box = collapser.key(t.scope) if collapser is not None and t.scope else None
    if box:
        return f"the collapsed '{box}' box (its {t.op})"
    return f"'{t.op}'" + (f" (in {t.scope})" if t.scope else "")


def _record(root: Tensor, gradient) -> List[Tuple[str, Tensor, object]]:
    """The engine's events for one backward pass from ``root`` (nothing accumulated into .grad)."""
    try:
        events = autograd.trace_backward(root, None if gradient is None else [gradient])
    except autograd.GraphReleasedError:
        raise ValueError("backprop_steps: backward() already released this graph's intermediates; call "
                         "backprop_steps(loss) before loss.backward(), or use loss.backward(retain_graph=True)") \
            from None
    except (RuntimeError, TypeError, ValueError) as e:  # the engine's message, named after this call
        named = V.renamed(e, "backprop_steps", ("trace_backward", "backward"),
                          {"grad_outputs": "gradient", "a grad_outputs": "a gradient"})
        raise (named if named is not e else type(e)("backprop_steps: " + str(e))) from None
    return events


def _position(node: Tensor, target: Tensor, used: Set[Tuple[int, int]]) -> int:
    """The input position of ``node`` through which ``target`` receives its next term."""
    for i, p in enumerate(node.parents):
        if p is target and (id(node), i) not in used:
            used.add((id(node), i))
            return i
    return 0


def _states(events: List[Tuple[str, Tensor, object]]) -> List[Tuple[dict, Dict[int, np.ndarray], Set[int]]]:
    """One (step, gradients known so far, ids whose gradient is complete) per picture."""
    sums: Dict[int, np.ndarray] = {}   # gradient known so far, by id (the engine's running sums)
    final: Set[int] = set()            # ids whose gradient is complete
    # How many terms each tensor receives in the whole pass: once the last one has arrived its
    # gradient is complete, even before the engine visits it ("grad so far" means terms to come).
    expected: Dict[int, int] = {}
    for event, t, _ in events:
        if event == "contribution":
            expected[id(t)] = expected.get(id(t), 0) + 1
    received: Dict[int, int] = {}
    used: Set[Tuple[int, int]] = set()
    states, step = [], None
    for event, t, payload in events:
        if event == "contribution":
            node, g = payload
            sums[id(t)] = np.array(g.data) if id(t) not in sums else sums[id(t)] + g.data
            received[id(t)] = received.get(id(t), 0) + 1
            if received[id(t)] == expected[id(t)]:
                final.add(id(t))
            if node is None:  # the seed: step 0
                final.add(id(t))
                step = {"t": t, "g": np.array(g.data), "flow": set(), "sent": [], "seed": True}
            else:
                step["flow"].add((id(t), id(node)))
                step["sent"].append((t, local_rule(node, _position(node, t, used)), np.array(g.data)))
            continue
        if step is not None:  # a new visit closes the previous step: take its picture now
            states.append((step, dict(sums), set(final)))
        final.add(id(t))
        sums[id(t)] = np.array(payload.data)
        step = {"t": t, "g": np.array(payload.data), "flow": set(), "sent": [], "seed": False}
    states.append((step, dict(sums), set(final)))
    return states


def _caption(k: int, n: int, st: dict, collapser: Collapser, precision: int) -> str:
    """What step ``k`` does, in words: the local rule applied and the numbers it sends."""
    t = st["t"]
    if st["seed"]:
        return f"step 0 of {n}: the seed ∂L/∂L = {fmt_array(st['g'])[0]} starts the backward pass at the output"
    if t.is_leaf:
        return (f"step {k} of {n}: {_label(t)} now has its complete gradient "
                f"{short_value(st['g'], precision)}, stored in .grad")
    who = _label(t, collapser)
    if not st["sent"]:
        return f"step {k} of {n}: {who} has its complete gradient; no input of it needs one"
    terms = [f"{rule} = {short_value(g, precision)} to {_label(p, collapser)}" for p, rule, g in st["sent"]]
    return f"step {k} of {n}: {who} sends " + (terms[0] if len(terms) == 1 else
                                                 ", ".join(terms[:-1]) + " and " + terms[-1])


def backprop_steps(loss: Tensor, gradient=None, **options) -> BackpropSteps:
    """The pictures of ``loss.backward()``, one per node the engine processes (plus the seed).

    Returns a :class:`BackpropSteps` sequence; as the last line of a Jupyter cell it displays
    as the interactive walk-through. Each caption states the local rule the node applies
    (``pow sends 2·a·g = [...] to 'sub'``, with ``a``, ``b`` its inputs and ``g`` its gradient).
    Run it before ``backward()`` or after ``backward(retain_graph=True)``; the tensors' ``.grad``
    are left as they are. Takes the drawing options of :func:`tinygrad_loss.to_dot`.
    """
    roots = as_roots(loss, "backprop_steps")
    if len(roots) != 1:
        raise ValueError(f"backprop_steps: expected one output tensor (the loss), got a list of {len(roots)}; "
                         "draw one backward pass at a time")
    (root,) = roots
    if not root.requires_grad:
        raise ValueError("backprop_steps: the tensor does not require a gradient (no input has requires_grad=True)")
    opts = _options("backprop_steps", **options)
    opts.check("backprop_steps")  # before forcing show_grad: show_grad="yes" is refused, not overridden
    opts.show_grad = True
    states = _states(_record(root, gradient))
    collapser, n, steps, inline = Collapser(opts.collapse), len(states) - 1, [], []
    for k, (st, grads, fin) in enumerate(states):
        caption = _caption(k, n, st, collapser, opts.precision)
        view = StepView(grads=grads, final=fin, current=id(st["t"]), flow=st["flow"], caption=caption)
        dot = source(build(root, replace(opts), step=view, where="backprop_steps"))
        inline.append(source(build(root, replace(opts), step=replace(view, caption=""), where="backprop_steps")))
        steps.append(BackpropStep(k, len(states), st["t"], st["g"], caption, dot, st["sent"]))
    return BackpropSteps(steps, opts.title or "Backpropagation, step by step", inline)


def render_backprop(loss: Tensor, path: Union[str, "os.PathLike[str]"], format: Optional[str] = None, gradient=None,
                    title: str = "Backpropagation, step by step", **options) -> Union[str, List[str]]:
    """Write the pictures of :func:`backprop_steps`.

    * ``path`` ending in ``.html`` (or ``format="html"``): one self-contained page holding the
      walk-through a notebook shows (buttons, keys, slider, play, zoom; no network).
    * otherwise ``path`` is a directory receiving ``step_00.svg``, ``step_01.svg``... in
      ``format`` (``"svg"`` default, ``"png"``, ``"pdf"`` or ``"dot"``).

    Returns the path of the page, or the list of files written. Without Graphviz's ``dot``
    the DOT sources are still written (``.dot`` files) and :class:`GraphvizNotFoundError` is raised.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"render_backprop: path must be a file or directory name, got {type(path).__name__}")
    path = os.fspath(path)
    if format is not None and not isinstance(format, str):
        raise TypeError(f"render_backprop: format must be a string such as 'html' or 'svg', got {format!r}")
    fmt = (format or ("html" if path.lower().endswith(".html") else "svg")).lower()
    if fmt not in ("html", "svg", "png", "pdf", "dot"):
        raise ValueError(f"render_backprop: format must be 'html', 'svg', 'png', 'pdf' or 'dot', got {fmt!r}")
    if fmt == "html" and not path.lower().endswith(".html"):
        path += ".html"
    if fmt != "html" and os.path.isfile(path):
        raise ValueError(f"render_backprop: {path!r} is a file; give a directory, or a path ending in .html")
    if not isinstance(title, str):
        raise TypeError(f"render_backprop: title must be a string, got {title!r}")
    try:
        steps = backprop_steps(loss, gradient=gradient, **options)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "render_backprop", ("backprop_steps",)) from None
    width = max(2, len(str(len(steps) - 1)))
    if fmt == "html":
        names = [f"{os.path.splitext(path)[0]}_step_{s.index:0{width}d}" for s in steps]
    else:
        os.makedirs(path, exist_ok=True)
        names = [os.path.join(path, f"step_{s.index:0{width}d}") for s in steps]
    try:
        if fmt == "html":
            write_atomic(path, page(steps.html(title), title))
            return path
        for s, name in zip(steps, names):
            write_atomic(f"{name}.{fmt}", s.dot if fmt == "dot" else pipe(s.dot, fmt, where="render_backprop"))
        return [f"{name}.{fmt}" for name in names]
    except GraphvizNotFoundError as e:  # keep every step's source, to render later
        for s, name in zip(steps, names):
            write_atomic(f"{name}.dot", s.dot)
        raise GraphvizNotFoundError(f"{e}; the DOT source of every step was written as "
                                    f"{names[0][:-width]}*.dot") from None
