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
import re
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Set, Tuple, Union

import graphviz
import numpy as np

from .. import autograd
from ..tensor import Tensor
from ._graph import as_roots, fmt_array, fmt_shape
from .dot import StepView, build, source
from .render import GraphvizNotFoundError, _options, pipe, write_atomic

__all__ = ["BackpropStep", "backprop_steps", "render_backprop"]


@dataclass
class BackpropStep:
    """One picture of the backward pass: ``tensor`` is the node processed at this step."""

    index: int
    total: int
    tensor: Tensor
    grad: np.ndarray
    caption: str
    dot: str

    def draw(self) -> graphviz.Source:
        return graphviz.Source(self.dot)

    def _repr_mimebundle_(self, include=None, exclude=None):  # Jupyter shows the picture
        return self.draw()._repr_mimebundle_(include, exclude)


def _label(t: Tensor) -> str:
    if t.is_leaf:
        return f"'{t.name}'" if t.name else f"the input of shape {fmt_shape(t.shape)}"
    return f"'{t.op}'" + (f" (in {t.scope})" if t.scope else "")


def backprop_steps(loss: Tensor, gradient=None, **options) -> List[BackpropStep]:
    """The pictures of ``loss.backward()``, one per node the engine processes (plus the seed).

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
    try:
        seed = autograd._check_gradient(root, gradient)
    except (RuntimeError, ValueError) as e:  # the engine's message, named after this call
        raise type(e)("backprop_steps: " + str(e).removeprefix("backward: ")) from None
    events: List[Tuple[str, Tensor, object]] = []

    def observe(event: str, t: Tensor, payload) -> None:
        events.append((event, t, payload))

    try:
        autograd._run([root], [seed], retain_graph=True, create_graph=False, accumulate=False, observer=observe)
    except autograd.GraphReleasedError:
        raise ValueError("backprop_steps: backward() already released this graph's intermediates; call "
                         "backprop_steps(loss) before loss.backward(), or use loss.backward(retain_graph=True)") \
            from None
    opts = _options("backprop_steps", **options)
    opts.show_grad = True

    sums: Dict[int, np.ndarray] = {}   # gradient known so far, by id (the engine's running sums)
    final: Set[int] = set()            # ids whose gradient is complete
    # How many terms each tensor receives in the whole pass: once the last one has arrived its
    # gradient is complete, even before the engine visits it ("grad so far" means terms to come).
    expected: Dict[int, int] = {}
    for event, t, _ in events:
        if event == "contribution":
            expected[id(t)] = expected.get(id(t), 0) + 1
    received: Dict[int, int] = {}
    states = []                        # (open step, grads, final) for each picture
    step: Optional[dict] = None
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
                step["sent"].append(_label(t))
            continue
        if step is not None:  # a new visit closes the previous step: take its picture now
            states.append((step, dict(sums), set(final)))
        final.add(id(t))
        sums[id(t)] = np.array(payload.data)
        step = {"t": t, "g": np.array(payload.data), "flow": set(), "sent": [], "seed": False}
    states.append((step, dict(sums), set(final)))

    n = len(states) - 1
    steps = []
    for k, (st, grads, fin) in enumerate(states):
        t = st["t"]
        if st["seed"]:
            caption = f"step 0 of {n}: the seed ∂L/∂L = {fmt_array(st['g'])[0]} starts the backward pass at the output"
        elif t.is_leaf:
            caption = f"step {k} of {n}: {_label(t)} now has its complete gradient, stored in .grad"
        elif st["sent"]:
            caption = (f"step {k} of {n}: {_label(t)} has its complete gradient; its VJP sends a term to "
                       + ", ".join(st["sent"]))
        else:
            caption = f"step {k} of {n}: {_label(t)} has its complete gradient; no input of it needs one"
        view = StepView(grads=grads, final=fin, current=id(t), flow=st["flow"], caption=caption)
        dot = source(build(root, replace(opts), step=view, where="backprop_steps"))
        steps.append(BackpropStep(k, len(states), t, st["g"], caption, dot))
    return steps


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 0; background: #f7f8fa; color: #1f2933; }}
header {{ padding: 14px 22px; background: #ffffff; border-bottom: 1px solid #dde3ea; display: flex;
          align-items: center; gap: 14px; position: sticky; top: 0; }}
h1 {{ font-size: 18px; margin: 0 18px 0 0; }}
button {{ font-size: 15px; padding: 6px 16px; border: 1px solid #b4c2d8; background: #eef2f8;
          border-radius: 6px; cursor: pointer; }}
button:disabled {{ opacity: 0.4; cursor: default; }}
#counter {{ font-variant-numeric: tabular-nums; color: #5f6b7a; }}
section {{ display: none; padding: 18px 22px; }}
section.on {{ display: block; }}
section svg {{ max-width: 100%; height: auto; background: #ffffff; border: 1px solid #dde3ea; border-radius: 8px; }}
</style></head>
<body>
<header><h1>{title}</h1>
<button id="prev" onclick="go(-1)">&#9664; previous</button>
<button id="next" onclick="go(1)">next &#9654;</button>
<span id="counter"></span></header>
{sections}
<script>
var steps = document.querySelectorAll("section"), k = 0;
function show() {{
  for (var i = 0; i < steps.length; i++) steps[i].className = (i === k) ? "on" : "";
  document.getElementById("prev").disabled = (k === 0);
  document.getElementById("next").disabled = (k === steps.length - 1);
  document.getElementById("counter").textContent = "step " + k + " of " + (steps.length - 1);
}}
function go(d) {{ k = Math.max(0, Math.min(steps.length - 1, k + d)); show(); }}
document.addEventListener("keydown", function (e) {{
  if (e.key === "ArrowLeft") go(-1);
  if (e.key === "ArrowRight") go(1);
}});
show();
</script>
</body></html>
"""


def _inline_svg(svg: str, prefix: str) -> str:
    """An SVG document made fit for embedding: no XML prolog/doctype, ids unique per step."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return svg.strip()


def render_backprop(loss: Tensor, path: Union[str, "os.PathLike[str]"], format: Optional[str] = None, gradient=None,
                    title: str = "Backpropagation, step by step", **options) -> Union[str, List[str]]:
    """Write the pictures of :func:`backprop_steps`.

    * ``path`` ending in ``.html`` (or ``format="html"``): one self-contained page with
      previous/next buttons (and the arrow keys) and every step as an inline SVG — no network.
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
    steps = backprop_steps(loss, gradient=gradient, **options)
    width = max(2, len(str(len(steps) - 1)))
    if fmt == "html":
        if not path.lower().endswith(".html"):
            path += ".html"
        stem = os.path.splitext(path)[0]
        sections = []
        for s in steps:
            try:
                svg = pipe(s.dot, "svg", where="render_backprop").decode("utf-8")
            except GraphvizNotFoundError as e:
                for s2 in steps:
                    write_atomic(f"{stem}_step_{s2.index:0{width}d}.dot", s2.dot)
                raise GraphvizNotFoundError(f"{e}; the DOT source of every step was written as "
                                            f"{stem}_step_*.dot") from None
            sections.append(f'<section aria-label="{html.escape(s.caption)}">\n'
                            f'{_inline_svg(svg, f"s{s.index}_")}\n</section>')  # the SVG shows the caption
        page = _HTML.format(title=html.escape(title), sections="\n".join(sections))
        write_atomic(path, page)
        return path
    if os.path.isfile(path):
        raise ValueError(f"render_backprop: {path!r} is a file; give a directory, or a path ending in .html")
    os.makedirs(path, exist_ok=True)
    names = [os.path.join(path, f"step_{s.index:0{width}d}") for s in steps]
    written = []
    for s, name in zip(steps, names):
        if fmt == "dot":
            write_atomic(f"{name}.dot", s.dot)
        else:
            try:
                data = pipe(s.dot, fmt, where="render_backprop")
            except GraphvizNotFoundError as e:
                for s2, name2 in zip(steps, names):
                    write_atomic(f"{name2}.dot", s2.dot)
                raise GraphvizNotFoundError(f"{e}; the DOT source of every step was written to "
                                            f"{os.path.join(path, 'step_*.dot')}") from None
            write_atomic(f"{name}.{fmt}", data)
        written.append(f"{name}.{fmt}")
    return written
