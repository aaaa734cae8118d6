"""Plot the loss curve of a training run: a PNG with matplotlib if it is installed, else an SVG.

    python examples/plot_history.py                       # trains the reference program, writes out/loss_curve.*
    python examples/plot_history.py out/curve.png         # a PNG (matplotlib), or out/curve.svg without it
    python examples/plot_history.py docs/img/tutorial/loss_curve.svg   # always the built-in SVG

matplotlib is never a dependency of tinygrad_loss. When it is missing (or when the path ends in
``.svg``) this script draws the curve itself as a small, plain-text SVG file (a few lines of
NumPy and string formatting below), says so, and exits with status 0.

From other code: ``sys.path.insert(0, "examples")`` then
``from plot_history import plot_history; plot_history(history, "out/loss_curve")``.
"""
from __future__ import annotations

import html
import math
import os
import sys
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from tinygrad_loss._io import atomic_write, write_atomic

#: line colours, in order (colour-blind friendly)
COLORS = ("#1f6fb5", "#d9541e", "#2a9d55", "#8e44ad", "#b8860b")


def _nice_ticks(lo: float, hi: float, count: int = 6) -> List[float]:
    """About ``count`` round numbers (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 12))
    return ticks


def _fmt_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:g}"


def svg_plot(path: str, lines: Sequence[Tuple[str, Sequence[float], Sequence[float]]] = (),
             points: Sequence[Tuple[str, Sequence[float], Sequence[float]]] = (), title: str = "",
             xlabel: str = "", ylabel: str = "", log_y: bool = False, width: int = 640, height: int = 400) -> str:
    """Draw ``lines`` (label, xs, ys) and scatter ``points`` (label, xs, ys) into an SVG file.

    ``log_y=True`` puts the y axis on a log scale (decade ticks); non-positive values are dropped
    there. NaN and infinite values (a diverged run) are dropped too. Returns ``path``. Needs
    nothing but NumPy.
    """
    left, right, top, bottom = 70, 170, 40, 50
    pw, ph = width - left - right, height - top - bottom
    series = []
    for lab, xs, ys in list(lines) + list(points):
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        keep = np.isfinite(xs) & np.isfinite(ys) & ((ys > 0) if log_y else True)
        series.append((lab, xs[keep], ys[keep]))
    xs_all = np.concatenate([s[1] for s in series]) if series else np.zeros(0)
    ys_all = np.concatenate([s[2] for s in series]) if series else np.zeros(0)
    if ys_all.size == 0:
        raise ValueError("svg_plot: nothing to draw (no finite" + (" positive" if log_y else "") + " values)")
    if log_y:
        lo_e, hi_e = math.floor(math.log10(ys_all.min())), math.ceil(math.log10(ys_all.max()))
        hi_e = max(hi_e, lo_e + 1)
        step = max(1, math.ceil((hi_e - lo_e) / 8))
        yticks = [10.0 ** e for e in range(lo_e, hi_e + 1, step)]
        ymin, ymax = math.log10(yticks[0]), math.log10(yticks[-1])

        def ty(v: float) -> float:
            return math.log10(v)
    else:
        yticks = _nice_ticks(float(ys_all.min()), float(ys_all.max()))
        ymin, ymax = yticks[0], yticks[-1]

        def ty(v: float) -> float:
            return v
    xticks = _nice_ticks(float(xs_all.min()), float(xs_all.max()))
    xmin, xmax = xticks[0], xticks[-1]

    def px(v: float) -> float:
        return left + (v - xmin) / (xmax - xmin) * pw

    def py(v: float) -> float:
        return top + ph - (ty(v) - ymin) / (ymax - ymin) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        out.append(f'<text x="{left + pw / 2:.1f}" y="22" text-anchor="middle" font-size="14">'
                   f'{html.escape(title)}</text>')
    for t in yticks:
        y = py(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e3e7ec"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt_tick(t)}</text>')
    for t in xticks:
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#eef1f4"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt_tick(t)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#5f6b7a"/>')
    if xlabel:
        out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 12}" text-anchor="middle">{html.escape(xlabel)}</text>')
    if ylabel:
        out.append(f'<text x="16" y="{top + ph / 2:.1f}" text-anchor="middle" '
                   f'transform="rotate(-90 16 {top + ph / 2:.1f})">{html.escape(ylabel)}</text>')
    legend_y = top + 10
    for i, (label, xs, ys) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        coords = [(px(a), py(b)) for a, b in zip(xs, ys)]
        is_line = i < len(lines)
        if is_line:
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
            out.append(f'<line x1="{left + pw + 12}" y1="{legend_y:.1f}" x2="{left + pw + 32}" y2="{legend_y:.1f}" '
                       f'stroke="{color}" stroke-width="2"/>')
        else:
            out.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="4" fill="{color}"/>' for a, b in coords)
            out.append(f'<circle cx="{left + pw + 22}" cy="{legend_y:.1f}" r="4" fill="{color}"/>')
        out.append(f'<text x="{left + pw + 38}" y="{legend_y + 4:.1f}">{html.escape(label)}</text>')
        legend_y += 20
    out.append("</svg>\n")
    write_atomic(path, "\n".join(out))
    return path


def _losses(history: Any) -> Dict[str, List[float]]:
    """The curves to draw: ``"loss"`` and ``"val_loss"`` of a History, a dict or a plain list."""
    h = getattr(history, "history", history)
    if isinstance(h, dict):
        curves = {k: list(map(float, h[k])) for k in ("loss", "val_loss") if k in h}
    else:
        curves = {"loss": list(map(float, h))}
    if not curves or not any(curves.values()):
        raise ValueError("plot_history: the history has no 'loss' values to plot")
    return curves


def plot_history(history: Any, path: str = "out/loss_curve", title: str = "training loss",
                 log_y: bool = True) -> str:
    """Draw the loss per epoch of ``history`` (a History, its ``.history`` dict or a list of losses).

    ``path`` ending in ``.svg`` gives the built-in SVG. Otherwise (``.png`` or no extension) a PNG
    is drawn with matplotlib if it can be imported; if it cannot, the SVG is written instead (same
    name, ``.svg``) and a note is printed. Returns the path of the file written.
    """
    curves = _losses(history)
    stem, ext = os.path.splitext(os.fspath(path))
    if ext.lower() not in ("", ".svg", ".png"):
        raise ValueError(f"plot_history: the file must end in .png or .svg (or have no extension), got {path!r}")
    if ext.lower() != ".svg":
        try:
            import matplotlib
            matplotlib.use("Agg")  # no display needed
            import matplotlib.pyplot as plt
        except ImportError:
            print("plot_history: matplotlib is not installed, so the curve is drawn as an SVG instead "
                  "(pip install matplotlib for a PNG)")
        else:
            fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
            for name, values in curves.items():
                ax.plot(range(1, len(values) + 1), values, label=name)
            if log_y:
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_ylabel("loss" + (" (log scale)" if log_y else ""))
            ax.set_title(title)
            ax.legend()
            ax.grid(True, alpha=0.3)
            fig.tight_layout()
            out = stem + ".png"
            try:
                with atomic_write(out) as f:
                    fig.savefig(f, format="png")
            finally:
                plt.close(fig)
            return out
    lines = [(name, range(1, len(v) + 1), v) for name, v in curves.items()]
    return svg_plot(stem + ".svg", lines=lines, title=title, xlabel="epoch",
                    ylabel="loss" + (" (log scale)" if log_y else ""), log_y=log_y)


def train_reference(epochs: int = 100):
    """The reference program (Dense(1), MSE, SGD on y = x1 + x2), seeded; returns its History."""
    import tinygrad_loss as tl
    from tinygrad_loss.losses import MeanSquaredError
    from tinygrad_loss.nn import Dense, Sequential, clear_session

    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss=MeanSquaredError())
    return model.fit([[1, 2], [2, 3], [3, 4]], [3, 5, 7], epochs=epochs, verbose=0)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                                 "out", "loss_curve")
    history = train_reference()
    loss = history.history["loss"]
    written = plot_history(history, target, title="reference program: MSE loss per epoch (SGD, lr 0.01)")
    print(f"loss: first epoch {loss[0]:.6f}, last epoch {loss[-1]:.6f}")
    print("wrote", os.path.relpath(written))
