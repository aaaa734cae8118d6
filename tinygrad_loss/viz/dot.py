"""``to_dot``: the computation graph as Graphviz DOT source (a plain string, no binary needed).

How a picture reads (see ``docs/graphs.md``):

* white boxes are op results (``matmul``, ``sub``, ``pow``, ``mean``...), blue boxes are
  parameters (leaves that require a gradient, with their dotted name ``dense.kernel``), grey
  boxes are inputs and constants, the orange box is the output being drawn (the loss);
* arrows follow the data forward (input → op); backpropagation walks them in reverse;
* each box shows the op, the shape, the value and, after ``backward()``, the gradient
  ``∂L/∂node`` in a pink row;
* name scopes (a loss class, a layer) are the labelled soft boxes around their ops.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import numpy as np

from ..tensor import Tensor, get_default_dtype, is_lifted_constant
from . import _graph as G
from . import diagnostics as D

__all__ = ["to_dot", "build", "DrawOptions", "StepView", "PALETTE", "DEEP_RANKS"]

#: With ``rankdir=None``, a graph whose longest path holds more drawn nodes than this is drawn top to bottom.
DEEP_RANKS = 12

FONT = "Helvetica,Arial,sans-serif"
MONO = "DejaVu Sans Mono,Menlo,Consolas,monospace"

#: The colours of every picture, in one place.
PALETTE = {
    "op_fill": "#ffffff", "op_border": "#5c6b80", "op_title": "#1f2933",
    "param_fill": "#e7f0ff", "param_border": "#3b6fd1", "param_title": "#1c4aa0",
    "input_fill": "#f1f3f5", "input_border": "#a3acb9", "input_title": "#495057",
    "const_fill": "#f8f9fa", "const_border": "#ced4da", "const_text": "#5f6b7a",
    "out_fill": "#fff0e0", "out_border": "#e8590c", "out_title": "#b0400a",
    "text": "#2d3748", "muted": "#7b8794",
    "grad_fill": "#fde7ee", "grad_text": "#b0124a", "partial_fill": "#fff5f8",
    "note_fill": "#fff3bf", "note_text": "#6b4f00",
    "order_fill": "#6741d9", "order_text": "#ffffff",
    "fanin_text": "#6741d9",
    "warn_fill": "#ffe3e3", "warn_border": "#e03131", "warn_text": "#c92a2a",
    "ok_fill": "#d3f9d8", "ok_text": "#2b8a3e",
    "current_border": "#d6336c", "current_fill": "#fff0f6",
    "edge": "#8593a6", "flow_edge": "#d6336c",
    "cluster_fills": ("#f4f7fc", "#e8eef8", "#dde6f3"), "cluster_border": "#b4c2d8", "cluster_text": "#34496b",
    "collapsed_fill": "#eef2f8",
}


@dataclass
class DrawOptions:
    """Every option of :func:`to_dot` / :func:`draw` / :func:`render` (see :func:`to_dot`)."""

    rankdir: Optional[str] = None
    show_value: bool = True
    show_grad: Optional[bool] = None
    show_shape: bool = True
    max_nodes: int = 300
    precision: int = 4
    collapse: Union[bool, Sequence[str], None] = False
    show_order: bool = False
    show_fanin: bool = False
    anomaly: Optional[bool] = None
    notes: bool = False
    gradcheck: Union[bool, dict] = False
    title: Optional[str] = None
    legend: bool = False

    def check(self, who: str = "to_dot") -> None:
        """Refuse a bad option with an error naming ``who`` (to_dot, draw, render, backprop_steps...)."""
        try:
            G.Collapser(self.collapse)
        except TypeError as e:
            raise TypeError(f"{who}: {e}") from None
        if self.rankdir is not None and not isinstance(self.rankdir, str):
            raise TypeError(f"{who}: rankdir must be a string or None, got {self.rankdir!r}")
        if self.rankdir not in (None, "LR", "TB", "RL", "BT"):
            raise ValueError(f"{who}: rankdir must be 'LR' or 'TB' (or 'RL', 'BT', or None for automatic), "
                             f"got {self.rankdir!r}")
        if not isinstance(self.precision, int) or isinstance(self.precision, bool) or not 1 <= self.precision <= 17:
            raise ValueError(f"{who}: precision must be an int between 1 and 17, got {self.precision!r}")
        if not isinstance(self.max_nodes, int) or isinstance(self.max_nodes, bool) or self.max_nodes < 1:
            raise ValueError(f"{who}: max_nodes must be a positive int, got {self.max_nodes!r}")
        # A typo such as show_value="no" is truthy: refuse it rather than silently doing the opposite.
        for name in ("show_value", "show_shape", "show_order", "show_fanin", "notes", "legend"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{who}: {name} must be True or False, got {getattr(self, name)!r}")
        for name in ("show_grad", "anomaly"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{who}: {name} must be True, False or None (automatic), got {getattr(self, name)!r}")
        if self.title is not None and not isinstance(self.title, str):
            raise TypeError(f"{who}: title must be a string or None, got {self.title!r}")
        if not (isinstance(self.gradcheck, (bool, dict))):
            raise TypeError(f"{who}: gradcheck must be True/False or a dict of gradcheck options, "
                            f"got {self.gradcheck!r}")
        if isinstance(self.gradcheck, dict):
            unknown = sorted(set(self.gradcheck) - {"atol", "rtol", "max_elements"}, key=str)
            if unknown:
                raise TypeError(f"{who}: unknown gradcheck option(s) {', '.join(map(repr, unknown))}; "
                                f"the options are 'atol', 'rtol' and 'max_elements'")
            for k, v in self.gradcheck.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf") \
                        or (k == "max_elements" and (not isinstance(v, int) or v < 1)):
                    raise ValueError(f"{who}: gradcheck option {k!r} must be a "
                                     f"{'positive int' if k == 'max_elements' else 'non-negative finite number'}, "
                                     f"got {v!r}")


@dataclass
class StepView:
    """What one picture of :func:`backprop_steps` overlays on the graph."""

    grads: Dict[int, np.ndarray] = field(default_factory=dict)   # gradients known so far, by id
    final: Set[int] = field(default_factory=set)                 # ids whose gradient is complete
    current: Optional[int] = None                                # id of the node being processed
    flow: Set[Tuple[int, int]] = field(default_factory=set)      # (parent id, consumer id) edges used now
    caption: str = ""


def _font(text: str, color: Optional[str] = None, size: Optional[int] = None, face: Optional[str] = None,
          bold: bool = False, italic: bool = False) -> str:
    if bold:
        text = f"<B>{text}</B>"
    if italic:
        text = f"<I>{text}</I>"
    attrs = "".join(f' {k}="{v}"' for k, v in (("COLOR", color), ("POINT-SIZE", size), ("FACE", face)) if v)
    return f"<FONT{attrs}>{text}</FONT>" if attrs else text


def _lines(lines: Sequence[str], **font) -> str:
    return '<BR ALIGN="LEFT"/>'.join(_font(G.esc(x).replace(" ", "&#160;"), **font) for x in lines) + \
        '<BR ALIGN="LEFT"/>'


def _drawing_order(roots: Sequence[Tensor]) -> List[Tuple[Tensor, Any, Optional[Tensor]]]:
    """What the picture draws, each node after its inputs (the order of ``G.collect``): ``(tensor, key,
    None)`` per tensor (key: its id), except that a number lifted by an op, one constant shared by
    every op that uses it, is drawn once per use: ``(constant, (consumer id, input position), consumer)``."""
    order: List[Tuple[Tensor, Any, Optional[Tensor]]] = []
    seen = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(enumerate(root.parents)))]
        while stack:
            node, it = stack[-1]
            for i, p in it:
                if is_lifted_constant(p):
                    order.append((p, (id(node), i), node))
                elif id(p) not in seen:
                    seen.add(id(p))
                    stack.append((p, iter(enumerate(p.parents))))
                    break
            else:
                stack.pop()
                order.append((node, id(node), None))
    return order


class _Builder:
    def __init__(self, roots: Tuple[Tensor, ...], o: DrawOptions, step: Optional[StepView]):
        self.roots, self.o, self.step = roots, o, step
        self.nodes = G.collect(roots)
        self.drawn = _drawing_order(roots)
        self.root_ids = {id(r) for r in roots}
        self.cons = G.consumers(self.nodes)
        self.collapser = G.Collapser(o.collapse)
        self.place, self.groups = self._placement()
        self.group.update((id(t), key) for key, members in self.groups.items() for t in members)
        self.group_ids = {k: f"g{i}" for i, k in enumerate(self.groups)}
        self.ids = {at: self.group_ids[self.group[at]] if at in self.group else f"n{k}"
                    for k, (t, at, user) in enumerate(self.drawn)}  # the DOT node id drawing each tensor
        self._refuse_too_many_nodes()  # before any expensive work (labels, diagnostics, dot)
        if o.show_grad is None:
            o.show_grad = step is not None or any(t.grad is not None for t in self.nodes)
        if o.rankdir is None:
            o.rankdir = "TB" if self._ranks() > DEEP_RANKS else "LR"
        self._diagnose()

    # --- placement: which cluster holds each node, which nodes fold into a collapsed scope ----
    def _placement(self) -> Tuple[Dict[Any, str], Dict[str, List[Tensor]]]:
        """(drawn node -> the scope path whose cluster holds it, collapsed scope -> its folded nodes); a drawn
        node is a tensor's id, or (consumer id, input position) for a use of a shared constant."""
        all_scopes = set()
        for s in {t.scope for t in self.nodes if t.scope}:
            parts = G.scope_parts(s)
            all_scopes.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        all_scopes = sorted(all_scopes)
        place: Dict[Any, str] = {}
        groups: Dict[str, List[Tensor]] = {}
        self.group: Dict[Any, str] = {}  # drawn node -> the collapsed scope it folds into
        for t, at, user in self.drawn:
            scope = G.param_scope(t, all_scopes) if t.is_leaf else t.scope
            if user is not None:  # one use of a shared constant: drawn next to the op that uses it
                scope = user.scope
            elif self.is_const(t):  # the 2 of ``x ** 2`` sits next to its op
                users = {c.scope for c, _ in self.cons[id(t)]}
                scope = users.pop() if len(users) == 1 else scope
            # op results fold into a collapsed scope, and so do the constants only its ops use
            key = self.collapser.key(scope) if not t.is_leaf or self.is_const(t) else None
            if key is not None:
                if user is None:
                    groups.setdefault(key, []).append(t)
                self.group[at] = key
                place[at] = key.rsplit("/", 1)[0] if "/" in key else ""
            else:
                k = self.collapser.key(scope)  # a leaf placed inside a folded scope stays outside it
                place[at] = (k.rsplit("/", 1)[0] if "/" in k else "") if k else scope
        return place, groups

    def _refuse_too_many_nodes(self) -> None:
        drawn = sum(1 for t, at, user in self.drawn if at not in self.group) + len(self.groups)
        if drawn > self.o.max_nodes:
            hint = ("pass collapse=True to draw each name scope (loss, layer) as one node, or "
                    "collapse=['Dense', ...] for chosen scopes" if not self.collapser.mode else
                    "collapse more scopes (collapse=True folds every top-level scope)")
            raise ValueError(f"to_dot: the graph has {drawn} nodes, more than max_nodes={self.o.max_nodes}; "
                             f"{hint}, draw a smaller part of it, or raise max_nodes")

    def _ranks(self) -> int:
        """The number of drawn nodes on the longest path (how deep the picture is)."""
        depth: Dict[str, int] = {}
        ids = self.ids
        for t, at, user in self.drawn:  # parents first
            me = ids[at]
            d = 1 + max((depth.get(ids[self.use(t, i, p)], 0) for i, p in enumerate(t.parents)
                         if ids[self.use(t, i, p)] != me), default=0)
            depth[me] = max(depth.get(me, 0), d)
        return max(depth.values(), default=0)

    # --- diagnostics to draw ---------------------------------------------------------------
    def _diagnose(self) -> None:
        o, roots = self.o, self.roots
        self.order = D.backward_order(roots) if o.show_order else {}
        want_terms = o.show_fanin and o.show_grad and self.step is None
        self.contrib = D.contributions(roots, self.nodes) if want_terms else None
        has_nonfinite = any(not G.is_finite(t.data) or (t.grad is not None and not G.is_finite(t.grad.data))
                            for t in self.nodes)
        show_anomaly = has_nonfinite if o.anomaly is None else bool(o.anomaly)
        contrib = self.contrib
        if show_anomaly and contrib is None and any(t.grad is not None and not G.is_finite(t.grad.data)
                                                    for t in self.nodes):
            contrib = D.contributions(roots, self.nodes)  # whose rule sent the first non-finite term
        self.anomaly = D.find_anomalies(self.nodes, contrib) if show_anomaly else None
        self.badges: Dict[int, D.Badge] = {}
        if o.gradcheck:
            if len(roots) != 1:
                raise ValueError("to_dot: gradcheck=True needs a single output tensor")
            kw = o.gradcheck if isinstance(o.gradcheck, dict) else {}
            self.badges = D.gradcheck_badges(roots[0], self.nodes, **kw)

    # --- ids ---------------------------------------------------------------------------
    def rep(self, t: Tensor) -> str:
        return self.ids[id(t)]

    @staticmethod
    def use(t: Tensor, i: int, p: Tensor) -> Any:
        """The drawn node of ``t``'s input ``i`` (``p``): a shared constant is drawn once per use."""
        return (id(t), i) if is_lifted_constant(p) else id(p)

    # --- labels ------------------------------------------------------------------------
    def grad_of(self, t: Tensor) -> Tuple[Optional[np.ndarray], bool]:
        """(gradient to show, is it complete)."""
        if self.step is not None:
            g = self.step.grads.get(id(t))
            return g, id(t) in self.step.final
        return (None if t.grad is None else np.asarray(t.grad.data)), True

    def fanin_terms(self, t: Tensor) -> int:
        return sum(1 for c, _ in self.cons[id(t)] if t.requires_grad and c.requires_grad)

    def node_label(self, t: Tensor, kind: str) -> str:
        o, P = self.o, PALETTE
        rows: List[Tuple[str, Optional[str]]] = []  # (cell html, bgcolor)
        tcol = P[kind + "_title"]
        if t.is_leaf:
            title = _font(G.esc(t.name or ("param" if t.requires_grad else "input")), tcol, 13, bold=True)
        elif t.name:
            title = _font(G.esc(t.name), tcol, 13, bold=True) + _font(" = " + G.esc(t.op), P["muted"], 12)
        else:
            title = _font(G.esc(t.op), tcol, 13, bold=True)
        if self.anomaly is not None and any(x is t for x in self.anomaly.origins):
            title += _font("  ⚠ first nan/inf" if t is self.anomaly.origins[0] else "  ⚠ nan/inf source",
                           P["warn_text"], 11, bold=True)
        fan = self.fanin_terms(t) if self.o.show_fanin else 0
        if fan > 1:
            title += _font(f"  ⊕ fan-in ×{fan}", P["fanin_text"], 11, bold=True)
        rows.append((title, None))
        if o.show_shape:
            sub = G.fmt_shape(t.shape)
            if t.dtype != get_default_dtype():
                sub += f"  {t.dtype}"
            if t.is_leaf and t.requires_grad:
                sub += "  · requires grad"
            rows.append((_font(G.esc(sub), P["muted"], 10), None))
        rows.extend(self.value_grad_rows(t))
        if o.notes:
            for note in (D.clip_note(t, o.precision), D.broadcast_note(t)):
                if note:
                    rows.append((_font("▲ " + G.esc(note), P["note_text"], 10, bold=True), P["note_fill"]))
        b = self.badges.get(id(t))
        if b is not None:
            rows.append((_font(G.esc(b.text), P["ok_text"] if b.ok else P["warn_text"], 10, bold=True),
                         P["ok_fill"] if b.ok else P["warn_fill"]))
        return self.table(rows, t, kind)

    def value_grad_rows(self, t: Tensor) -> List[Tuple[str, Optional[str]]]:
        """The value row and the gradient row of ``t``'s label, as the options ask (a node or a collapsed scope)."""
        o, P, rows = self.o, PALETTE, []
        if o.show_value:
            rows.append((_lines(G.fmt_array(t.data, o.precision), color=P["text"], size=11, face=MONO), None))
        if o.show_grad:
            g, done = self.grad_of(t)
            if g is not None:
                rows.append((self.grad_cell(t, g, done), P["grad_fill"] if done else P["partial_fill"]))
        return rows

    def grad_cell(self, t: Tensor, g: np.ndarray, done: bool) -> str:
        o, P = self.o, PALETTE
        head = "grad" if done else "grad so far"
        terms = (self.contrib or {}).get(id(t), []) if self.o.show_fanin else []
        if len(terms) > 1:
            shown = [G.fmt_array(x, o.precision) if x is not None else None for _, x in terms]
            if all(s is not None and len(s) == 1 and len(s[0]) <= 24 for s in shown):
                lines = [f"{head} = " + " + ".join(s[0] for s in shown)] + \
                        ["     = " + x for x in G.fmt_array(g, o.precision)]
            else:
                lines = [f"{head} = sum of {len(terms)} terms:"]
                for (c, _), s in zip(terms, shown):
                    src = "seed" if c is None else f"from {c.op}"
                    lines += [f"  + ({src}) " + (s[0] if s else "(released: use retain_graph=True)")] + \
                             ["    " + x for x in (s or [])[1:]]
                lines += ["  = " + x for x in G.fmt_array(g, o.precision)]
        else:
            vals = G.fmt_array(g, o.precision)
            lines = [f"{head} " + vals[0]] + [" " * (len(head) + 1) + v for v in vals[1:]]
        return _lines(lines, color=P["grad_text"], size=11, face=MONO)

    def table(self, rows: List[Tuple[str, Optional[str]]], t: Optional[Tensor], kind: str,
              framed: bool = True) -> str:
        P = PALETTE
        fill, border, width = P[kind + "_fill"], P[kind + "_border"], 1
        if t is not None:
            if id(t) in self.root_ids:
                width = 2
            if self.anomaly is not None and (id(t) in self.anomaly.bad_value or id(t) in self.anomaly.bad_grad):
                fill, border = P["warn_fill"], P["warn_border"]
                if any(x is t for x in self.anomaly.origins) or any(c is t for c, _ in self.anomaly.grad_origins):
                    width = 3
            elif self.anomaly is not None and any(c is t for c, _ in self.anomaly.grad_origins):
                border, width = P["warn_border"], 3
            if self.step is not None and self.step.current == id(t):
                fill, border, width = P["current_fill"], P["current_border"], 3
        if not framed:  # the node's own shape draws the frame
            width, fill = 0, "transparent"
        order = self.order.get(id(t)) if t is not None else None
        out = [f'<TABLE BORDER="{width}" COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded" CELLBORDER="0" '
               f'CELLSPACING="0" CELLPADDING="3">']
        for k, (cell, bg) in enumerate(rows):
            bga = f' BGCOLOR="{bg}"' if bg else ""
            if k == 0 and order is not None:  # the backward-pass position, before the title
                cell = _font(f"#{order}", P["order_fill"], 12, bold=True) + "&#160;&#160;" + cell
            out.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT"{bga}>{cell}</TD></TR>')
        out.append("</TABLE>")
        return "<" + "".join(out) + ">"

    def legend(self) -> str:
        """One row of swatches saying what each colour means (only the ones this picture uses)."""
        P = PALETTE
        keys = [("parameter", P["param_fill"], P["param_border"], P["param_title"]),
                ("input / constant", P["input_fill"], P["input_border"], P["input_title"]),
                ("op result", P["op_fill"], P["op_border"], P["op_title"]),
                ("output", P["out_fill"], P["out_border"], P["out_title"])]
        if self.o.show_grad:
            keys.append(("grad = ∂output/∂node", P["grad_fill"], P["grad_fill"], P["grad_text"]))
        if self.step is not None:
            if any(k not in self.step.final for k in self.step.grads):
                keys.append(("grad so far (terms still to come)", P["partial_fill"], P["partial_fill"],
                             P["grad_text"]))
            keys.append(("node being processed", P["current_fill"], P["current_border"], P["current_border"]))
        if self.o.notes:
            keys.append(("note", P["note_fill"], P["note_fill"], P["note_text"]))
        if self.anomaly is not None:
            keys.append(("holds nan/inf", P["warn_fill"], P["warn_border"], P["warn_text"]))
        if self.badges:
            keys.append(("gradcheck passed", P["ok_fill"], P["ok_fill"], P["ok_text"]))
        cells = "".join(f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" STYLE="rounded" CELLPADDING="4">'
                        f'{_font(G.esc(text), color, 10)}</TD>' for text, fill, border, color in keys)
        return f'<TABLE BORDER="0" CELLSPACING="6" CELLPADDING="0"><TR>{cells}</TR></TABLE>'

    def kind(self, t: Tensor) -> str:
        if id(t) in self.root_ids:
            return "out"
        if t.is_leaf:
            return "param" if t.requires_grad else "input"
        return "op"

    def is_const(self, t: Tensor) -> bool:
        """Unnamed scalars that need no gradient (the 2 of ``x ** 2``): drawn as small plain numbers."""
        return t.is_leaf and not t.requires_grad and t.name is None and t.size == 1 and t.grad is None \
            and id(t) not in self.root_ids

    # --- the whole graph -----------------------------------------------------------------
    def node_stmt(self, t: Tensor, at: Any) -> str:
        P = PALETTE
        nid = self.ids[at]
        if self.is_const(t):
            bad = self.anomaly is not None and id(t) in self.anomaly.bad_value
            txt = G.fmt_scalar(t.data.reshape(()).item(), self.o.precision)
            return (f'{nid} [shape=ellipse style=filled fillcolor="{P["warn_fill"] if bad else P["const_fill"]}" '
                    f'color="{P["warn_border"] if bad else P["const_border"]}" fontcolor="{P["const_text"]}" '
                    f'fontsize=10 margin="0.04,0.02" height=0.3 label={G.dot_string(txt)}]')
        return f"{nid} [label={self.node_label(t, self.kind(t))}]"

    def group_stmt(self, key: str, members: List[Tensor]) -> str:
        P, o = PALETTE, self.o
        inside = {id(t) for t in members}
        outs = [t for t in members if id(t) in self.root_ids or any(id(c) not in inside for c, _ in self.cons[id(t)])]
        out = outs[-1] if outs else members[-1]
        ops_used = []
        for t in members:
            if t.op is not None and t.op not in ops_used:
                ops_used.append(t.op)
        n_ops = sum(1 for t in members if not t.is_leaf)
        name = key.rsplit("/", 1)[-1]
        rows = [(_font(G.esc(name), P["cluster_text"], 13, bold=True) +
                 _font(f"  ({n_ops} op{'s' * (n_ops != 1)}, collapsed)", P["muted"], 10), None),
                (_font(G.esc(", ".join(ops_used)), P["muted"], 10, italic=True), None)]
        if o.show_shape:
            rows.append((_font("out " + G.esc(G.fmt_shape(out.shape)), P["muted"], 10), None))
        rows.extend(self.value_grad_rows(out))
        if o.notes:
            for t in members:
                for note in (D.clip_note(t, o.precision), D.broadcast_note(t)):
                    if note:
                        rows.append((_font("▲ " + G.esc(f"{t.op}: {note}"), P["note_text"], 10, bold=True),
                                     P["note_fill"]))
        is_out = id(out) in self.root_ids
        fill = P["out_fill"] if is_out else P["collapsed_fill"]
        border, width = (P["out_border"], 2) if is_out else (P["op_border"], 1)
        if self.step is not None and self.step.current in inside:  # the box is being processed
            fill, border, width = P["current_fill"], P["current_border"], 3
        return (f'{self.group_ids[key]} [shape=box3d style=filled fillcolor="{fill}" color="{border}" '
                f'penwidth={width} margin="0.02" label={self.table(rows, out, "op", framed=False)}]')

    def build(self) -> List[str]:
        stmts_by_scope: Dict[str, List[str]] = {}
        for t, at, user in self.drawn:
            if at not in self.group:
                stmts_by_scope.setdefault(self.place[at], []).append(self.node_stmt(t, at))
        for key, members in self.groups.items():
            stmts_by_scope.setdefault(self.place[id(members[0])], []).append(self.group_stmt(key, members))
        return self.header() + self.clusters(stmts_by_scope) + self.edges()

    def header(self) -> List[str]:
        """Graph, node and edge defaults, and the caption (title, step, anomaly, legend)."""
        o, P = self.o, PALETTE
        lines = [f'graph [rankdir={o.rankdir} fontname="{FONT}" bgcolor="white" pad=0.25 nodesep=0.3 '
                 f'ranksep=0.45 newrank=true]',
                 f'node [shape=plain fontname="{FONT}" fontsize=11]',
                 f'edge [color="{P["edge"]}" arrowsize=0.7 penwidth=1.2]']
        caption = []
        if o.title:
            caption.append(_font(G.esc(o.title), P["text"], 14, bold=True))
        if self.step is not None and self.step.caption:
            caption.append(_font(G.esc(self.step.caption), P["current_border"], 12, bold=True))
        if self.anomaly is not None:
            for line in self.anomaly.caption.splitlines():
                caption.append(_font("⚠ " + G.esc(line), P["warn_text"], 12, bold=True))
        if o.legend:
            caption.append(self.legend())
        if caption:
            rows = "".join(f'<TR><TD ALIGN="LEFT">{c}</TD></TR>' for c in caption)
            lines.append(f'label=<<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="0">{rows}</TABLE>> '
                         f"labelloc=t labeljust=l fontsize=12")
        return lines

    def clusters(self, stmts_by_scope: Dict[str, List[str]]) -> List[str]:
        """The node statements, nested in one cluster per scope path (a tree of clusters)."""
        P, lines = PALETTE, []
        paths = set(k for k in stmts_by_scope if k)
        for p in list(paths):
            parts = G.scope_parts(p)
            paths.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        children: Dict[str, List[str]] = {}
        for p in sorted(paths):
            children.setdefault(p.rsplit("/", 1)[0] if "/" in p else "", []).append(p)
        counter = [0]

        def emit(scope: str, depth: int, indent: str) -> None:
            lines.extend(indent + s for s in stmts_by_scope.get(scope, []))
            for child in children.get(scope, []):
                fills = P["cluster_fills"]
                name = _font(G.esc(child.rsplit("/", 1)[-1]), P["cluster_text"], 12, bold=True)
                lines.append(f"{indent}subgraph cluster_{counter[0]} {{")
                counter[0] += 1
                lines.append(f'{indent}\tlabel=<{name}> labeljust=l style="rounded,filled" '
                             f'fillcolor="{fills[min(depth, len(fills) - 1)]}" color="{P["cluster_border"]}" '
                             f'penwidth=1 margin=10')
                emit(child, depth + 1, indent + "\t")
                lines.append(f"{indent}}}")

        emit("", 0, "")
        return lines

    def edges(self) -> List[str]:
        """One edge per input of every drawn op; into a folded scope, one per distinct source."""
        P, lines = PALETTE, []
        seen: Set[Tuple[str, str]] = set()
        for t, at, user in self.drawn:
            if t.is_leaf:
                continue
            dst = self.rep(t)
            for i, p in enumerate(t.parents):
                src = self.ids[self.use(t, i, p)]
                if id(t) in self.group:
                    if src == dst or (src, dst) in seen:
                        continue
                    seen.add((src, dst))
                attrs = ""
                if self.step is not None and (id(p), id(t)) in self.step.flow:
                    attrs = f' [color="{P["flow_edge"]}" penwidth=2.6 arrowhead=none arrowtail=normal dir=back]'
                elif self.anomaly is not None and id(p) in self.anomaly.bad_value:
                    attrs = f' [color="{P["warn_border"]}"]'
                lines.append(f"{src} -> {dst}{attrs}")
        return lines


def build(tensor: G.Roots, options: DrawOptions, step: Optional[StepView] = None, where: str = "to_dot") -> List[str]:
    """The DOT statements (the body of ``digraph``) for ``tensor``'s graph."""
    options.check(where)
    roots = G.as_roots(tensor, where)
    paused = gc.isenabled()
    gc.disable()  # labels make many short-lived objects: a collection scanning the whole graph each time is quadratic
    try:
        return _Builder(roots, options, step).build()
    finally:
        if paused:
            gc.enable()


def source(lines: Iterable[str]) -> str:
    return "digraph tinygrad_loss {\n" + "".join(f"\t{x}\n" for x in lines) + "}\n"


def to_dot(tensor: G.Roots, *, rankdir: Optional[str] = None, show_value: bool = True, show_grad: Optional[bool] = None,
           show_shape: bool = True, max_nodes: int = 300, precision: int = 4,
           collapse: Union[bool, Sequence[str]] = False, show_order: bool = False, show_fanin: bool = False,
           anomaly: Optional[bool] = None, notes: bool = False, gradcheck: Union[bool, dict] = False,
           title: Optional[str] = None, legend: bool = False) -> str:
    """The graph that produced ``tensor`` (or a list of tensors) as Graphviz DOT source.

    Needs no Graphviz binary. One node per tensor of the graph, one edge per op input.

    Options:
        rankdir: ``"LR"`` (data flows left to right) or ``"TB"`` (top to bottom); by default
            ``"LR"``, and ``"TB"`` for a graph more than ``DEEP_RANKS`` (12) nodes deep, so that a deep
            model scrolls down instead of growing too wide to read.
        show_value / show_shape: print each tensor's value (scalars and tensors of at most
            6 elements in full, larger ones as ``min / mean / max``) and its shape.
        show_grad: print ``.grad`` under the value (default: when any node has a gradient).
        precision: significant digits of every printed number (4).
        max_nodes: refuse (ValueError) to draw more nodes than this; ``collapse`` helps.
        collapse: ``True`` draws every top-level name scope as one node; a list such as
            ``["Dense", "MeanSquaredError"]`` folds the scopes whose name matches, ignoring case
            and a ``_<n>`` suffix (``"Dense"`` folds ``dense`` and ``dense_1``); see ``docs/graphs.md``.
        show_order: number each node with its position in the engine's backward pass.
        show_fanin: mark tensors used by several consumers and list the gradient terms added up.
        anomaly: draw NaN/inf values and gradients in a warning style and name the first op that
            produced one from finite inputs (default: on when the graph holds a non-finite number).
        notes: note how many elements each ``clip`` clipped and where an elementwise op
            broadcast its inputs to a shape larger than both.
        gradcheck: badge each leaf that requires a gradient with its finite-difference check
            (``True``, or a dict of ``atol``/``rtol``/``max_elements``).
        title: a caption above the graph.
        legend: a row of colour swatches under the caption saying what each colour means.
    """
    opts = DrawOptions(rankdir, show_value, show_grad, show_shape, max_nodes, precision, collapse, show_order,
                       show_fanin, anomaly, notes, gradcheck, title, legend)
    return source(build(tensor, opts))
