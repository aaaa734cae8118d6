"""Reading a recorded graph: which tensors it holds, in what order, and how to print their numbers.

Only the public fields of a Tensor are read here (``op``, ``parents``, ``scope``, ``name``,
``data``, ``grad``, ``requires_grad``, ``is_leaf``), so the viewer never depends on how ops or
training code work inside.
"""
from __future__ import annotations

import html
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..tensor import Tensor

Roots = Union[Tensor, Sequence[Tensor]]

#: Arrays with at most this many elements are printed in full, larger ones are summarised.
FULL_VALUE_ELEMENTS = 6


def as_roots(tensor: Roots, where: str) -> Tuple[Tensor, ...]:
    """One tensor or a list of tensors -> a tuple of distinct roots (a TypeError otherwise)."""
    roots = (tensor,) if isinstance(tensor, Tensor) else tuple(tensor) if isinstance(tensor, (list, tuple)) else None
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"{where}: expected a Tensor or a non-empty list of Tensors, got {type(tensor).__name__}")
    seen, out = set(), []
    for r in roots:
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return tuple(out)


def collect(roots: Sequence[Tensor]) -> List[Tensor]:
    """Every tensor of the graph (op results *and* leaves), each after all of its parents.

    Iterative depth-first search over ``parents`` in input order, so the result is
    deterministic and a very deep graph needs no recursion.
    """
    order: List[Tensor] = []
    seen = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.parents))]
        while stack:
            node, it = stack[-1]
            for p in it:
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append((p, iter(p.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def consumers(nodes: Sequence[Tensor]) -> Dict[int, List[Tuple[Tensor, int]]]:
    """For each tensor id: the (consumer, input position) pairs that read it, in graph order."""
    out: Dict[int, List[Tuple[Tensor, int]]] = {id(t): [] for t in nodes}
    for t in nodes:
        for i, p in enumerate(t.parents):
            out[id(p)].append((t, i))
    return out


# --- numbers --------------------------------------------------------------------------------

def fmt_scalar(x, precision: int = 4) -> str:
    """One number with ``precision`` significant digits; floats keep a visible decimal point."""
    if isinstance(x, (bool, np.bool_)):
        return "True" if x else "False"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    s = f"{x + 0.0:.{precision}g}"  # + 0.0 turns -0.0 into 0.0: a sign on zero only confuses
    if "e" not in s and "." not in s:
        s += ".0"
    return s


def _nested(a: np.ndarray, precision: int) -> str:
    if a.ndim == 0:
        return fmt_scalar(a.item(), precision)
    return "[" + ", ".join(_nested(x, precision) for x in a) + "]"


def nonfinite_counts(a: np.ndarray) -> Tuple[int, int]:
    """(number of NaNs, number of ±infs); (0, 0) for non-float arrays."""
    if a.dtype.kind not in "fc":
        return 0, 0
    return int(np.isnan(a).sum()), int(np.isinf(a).sum())


def is_finite(a: np.ndarray) -> bool:
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def fmt_array(a: np.ndarray, precision: int = 4, full: int = FULL_VALUE_ELEMENTS) -> List[str]:
    """Lines of text for an array: the whole array when it has at most ``full`` elements,
    otherwise a summary ``min … mean … max …`` (over the finite elements) plus NaN/inf counts."""
    a = np.asarray(a)
    if a.size <= full:
        text = _nested(a, precision)
        if len(text) <= 44 or a.ndim < 2:
            return [text]
        rows = [_nested(r, precision) for r in a]
        return ["[" + rows[0] + ","] + [" " + r + "," for r in rows[1:-1]] + [" " + rows[-1] + "]"]
    if a.dtype.kind == "b":
        return [f"{int(a.sum())} of {a.size} True"]
    nan, inf = nonfinite_counts(a)
    finite = a[np.isfinite(a)] if (nan or inf) else a
    lines = []
    if finite.size:
        lines.append(f"min {fmt_scalar(finite.min(), precision)}  mean {fmt_scalar(finite.mean(), precision)}  "
                     f"max {fmt_scalar(finite.max(), precision)}")
    bad = [f"{nan} nan"] * bool(nan) + [f"{inf} inf"] * bool(inf)
    if bad:
        lines.append(" · ".join(bad) + f" of {a.size}")
    return lines


def fmt_shape(shape: Tuple[int, ...]) -> str:
    return "scalar" if shape == () else "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def esc(s: str) -> str:
    """Escape text for an HTML-like Graphviz label."""
    return html.escape(str(s), quote=True)


def dot_string(s: str) -> str:
    """A double-quoted DOT string."""
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# --- name scopes and collapsing ---------------------------------------------------------------

def scope_parts(scope: str) -> List[str]:
    return [c for c in scope.split("/") if c] if scope else []


def _pattern(p: str) -> "re.Pattern[str]":
    if not isinstance(p, str) or not p:
        raise TypeError(f"collapse: expected True, False or a list of scope names, got an item {p!r}")
    # "Dense" matches the scope components "dense", "Dense", "dense_1", "dense_12" (Keras-style
    # unique names); a pattern holding "/" must match a whole scope path prefix instead.
    return re.compile(re.escape(p) + r"(_\d+)?", re.IGNORECASE)


class Collapser:
    """Decides which name scope, if any, a node is folded into.

    ``collapse=True`` folds every outermost scope; ``collapse=["Dense", "MeanSquaredError"]``
    folds the outermost scope component equal to one of the names, case-insensitively and
    ignoring a Keras-style ``_<number>`` suffix (so ``"Dense"`` folds ``dense`` and ``dense_1``,
    also when nested as ``sequential/dense_1``). A name containing ``/`` must match a whole scope
    path prefix (``"Sequential/dense"``).
    """

    def __init__(self, collapse: Union[bool, Iterable[str], None]):
        if collapse is None or collapse is False:
            self.mode = None
        elif collapse is True:
            self.mode = True
        elif isinstance(collapse, str):
            self.mode = [collapse]
        elif isinstance(collapse, (list, tuple)):  # (not a dict, a set or an array: a list of names, in order)
            self.mode = list(collapse)
        else:
            raise TypeError(f"collapse: expected True, False or a list of scope names, got {collapse!r}")
        self.patterns = [] if self.mode in (None, True) else [(p, _pattern(p)) for p in self.mode]

    def key(self, scope: str) -> Optional[str]:
        """The scope path to fold a node of ``scope`` into, or None to draw it as itself."""
        parts = scope_parts(scope)
        if not parts or self.mode is None:
            return None
        if self.mode is True:
            return parts[0]
        for i in range(len(parts)):
            for p, rx in self.patterns:
                if "/" in p:
                    pp = scope_parts(p)
                    if len(pp) == i + 1 and all(_pattern(x).fullmatch(c) for x, c in zip(pp, parts)):
                        return "/".join(parts[: i + 1])
                elif rx.fullmatch(parts[i]):
                    return "/".join(parts[: i + 1])
        return None


def param_scope(t: Tensor, scopes: Sequence[str]) -> str:
    """The cluster a leaf is drawn in: its own scope, else the layer its dotted name points at
    (``"dense.kernel"`` goes into the ``dense`` cluster when the graph has one), else none."""
    if t.scope:
        return t.scope
    name = t.name
    if not t.is_leaf or not name or "." not in name:
        return ""
    prefix = name.rsplit(".", 1)[0].replace(".", "/")
    if prefix in scopes:
        return prefix
    last = prefix.rsplit("/", 1)[-1]
    hits = [s for s in scopes if s.rsplit("/", 1)[-1] == last]
    return hits[0] if len(hits) == 1 else ""
