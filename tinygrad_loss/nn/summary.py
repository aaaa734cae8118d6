"""``model.summary()`` and the model's notebook display: one table of layers, two renderings.

The rows are Keras's: ``name (Type)``, output shape, parameter count, and for a functional model
the layers each one is connected to. Keras does not list input layers in a Sequential summary.
"""
from __future__ import annotations

import html
from typing import Any, List, Optional, Sequence, Tuple

__all__ = ["summary_rows", "summary_text", "summary_html"]


def fmt_shape(shape: Any) -> str:
    """``(None, 4)``; a list of shapes for a layer with several outputs; ``?`` when unknown."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(fmt_shape(s) for s in shape) + "]"
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            break
        n /= 1024
    return f"{n:.2f} {unit}"


def summary_rows(model: Any) -> Tuple[List[str], List[Tuple[str, ...]]]:
    """The header and one row per layer (see the module docstring)."""
    connected = getattr(model, "_summary_connections", None)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    rows = []
    for layer in model._summary_layers():
        if type(layer).__name__ == "InputLayer" and not connected:  # Keras lists inputs only in functional models
            continue
        built = getattr(layer, "built", True)
        shape = getattr(layer, "output_shape", None) if built else None
        row = (f"{layer.name} ({type(layer).__name__})", fmt_shape(shape),
               f"{layer.count_params():,}" if built else "0 (unbuilt)")
        rows.append(row + ((", ".join(connected(layer)) or "-",) if connected else ()))
    return header, rows


def _totals(model: Any) -> List[str]:
    weights = model.weights
    trainable = [w for w in weights if w.requires_grad]
    frozen = [w for w in weights if not w.requires_grad]

    def line(label: str, ws: Sequence[Any]) -> str:
        return f"{label}: {sum(w.size for w in ws):,} ({fmt_bytes(sum(w.data.nbytes for w in ws))})"

    return [line("Total params", weights), line("Trainable params", trainable), line("Non-trainable params", frozen)]


def summary_text(model: Any) -> str:
    """The plain-text table that ``summary()`` prints."""
    header, rows = summary_rows(model)
    table = [header] + [list(r) for r in rows]
    w = [max(len(r[i]) for r in table) + 4 for i in range(len(header))]
    w[0], w[1] = max(w[0], 29), max(w[1], 26)
    width = sum(w)

    def line(r: Sequence[str]) -> str:
        cells = r[0].ljust(w[0]) + r[1].ljust(w[1]) + r[2].rjust(w[2] - 4)
        return (cells + "".join("    " + c for c in r[3:])).rstrip()

    out = [f'Model: "{model.name}"', "_" * width, line(header), "=" * width]
    for i, r in enumerate(rows):
        out.append(line(r))
        out.append("_" * width if i < len(rows) - 1 else "=" * width)
    if not rows:
        out.append("=" * width)
    return "\n".join(out + _totals(model) + ["_" * width])


def summary_html(model: Any) -> str:
    """The same table as HTML, for Jupyter (``Model._repr_html_``)."""
    header, rows = summary_rows(model)
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    totals = "".join(f"<div>{esc(t)}</div>" for t in _totals(model))
    return (f'<div class="tl-model-summary"><div><b>Model: "{esc(model.name)}"</b></div>'
            f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{totals}</div>')
