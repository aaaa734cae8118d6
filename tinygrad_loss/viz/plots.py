"""Curves and surfaces drawn with matplotlib (the optional extra ``pip install tinygrad_loss[plot]``).

* :func:`plot_history` — training and validation curves of a ``History`` (``History.plot``).
* :func:`plot_loss_atlas` — each loss and its derivative side by side (:func:`tinygrad_loss.landscape.loss_curves`).
* :func:`plot_loss_surface` — contours of a surface with optimizer paths, start and end marked.
* :func:`save_figure` — a figure to a file, written atomically.

Every function returns the matplotlib ``Figure`` (Jupyter shows it inline) and accepts ``ax=`` to
draw into existing axes. Figures are built with ``matplotlib.figure.Figure``, not pyplot: no global
figure list to leak from loops and no GUI backend needed. matplotlib is imported only when a
function here is called, so ``import tinygrad_loss`` needs NumPy alone.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._io import atomic_write
from ..landscape import loss_curves

__all__ = ["plot_history", "plot_loss_atlas", "plot_loss_surface", "save_figure", "figure_png", "PLOT_EXTRA"]

#: what to install for the pictures in this module
PLOT_EXTRA = "pip install 'tinygrad_loss[plot]'"


def _figure_class(who: str) -> Any:
    """matplotlib's Figure class, or an ImportError that names the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"{who} draws with matplotlib, which is not installed; it is the optional extra "
                          f"[plot]: {PLOT_EXTRA}") from e
    _show_figures_inline()
    return Figure


def _show_figures_inline() -> None:
    """In IPython/Jupyter, show a returned Figure as a PNG even when pyplot (whose inline backend
    registers this) was never imported."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return
    from matplotlib.figure import Figure
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, figure_png)


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (no timestamp or version in the file, so equal figures give equal bytes)."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def save_figure(fig: Any, path: Union[str, os.PathLike], dpi: int = 100, description: Optional[str] = None) -> str:
    """Write ``fig`` to ``path`` (format from the extension: png, svg, pdf), atomically. Returns the path.

    ``description`` goes into the file's metadata (a PNG ``Description`` text chunk): the gallery
    stores the numbers a picture shows there, so a test can tell a stale picture without comparing
    pixels (which depend on fonts and the matplotlib version)."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"save_figure: path must end in .png, .svg or .pdf, got {path!r}")
    from matplotlib import rc_context
    metadata = {"Software": None} if fmt == "png" else {"Creator": None} if fmt == "pdf" else {"Date": None}
    if description is not None:
        metadata["Description" if fmt != "pdf" else "Subject"] = str(description)
    # SVG: text stays text (searchable, testable) and element ids are the same on every run
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "tinygrad_loss"}), atomic_write(path) as f:
        fig.savefig(f, format=fmt, dpi=dpi, metadata=metadata)
    return path


def _axes(ax: Any, count: int, who: str, figsize: Tuple[float, float], rows: int = 1) -> Tuple[Any, List[Any]]:
    """``(figure, [axes...])``: new ones, or the ``count`` axes given as ``ax``."""
    if ax is None:
        fig = _figure_class(who)(figsize=figsize, layout="constrained")
        grid = fig.subplots(rows, count // rows, squeeze=False)
        return fig, list(np.asarray(grid).ravel())
    _figure_class(who)
    axes = list(np.asarray(ax, dtype=object).ravel()) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(axes) != count or not all(hasattr(a, "plot") and hasattr(a, "figure") for a in axes):
        raise ValueError(f"{who}: ax must be {'a matplotlib Axes' if count == 1 else f'{count} matplotlib Axes'}, "
                         f"got {ax!r}")
    return axes[0].figure, axes


# --- training curves -----------------------------------------------------------------------------

def _history_dict(history: Any, who: str) -> Dict[str, List[float]]:
    h = getattr(history, "history", history)
    if not isinstance(h, Mapping):
        raise TypeError(f"{who}: expected a History or its .history dict, got {type(history).__name__}")
    return {k: [float(v) for v in vals] for k, vals in h.items()}


def _auto_log(values: Sequence[np.ndarray]) -> bool:
    """A log axis when every value is positive and they span more than two decades."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    return finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() > 100


def plot_history(history: Any, metrics: Union[None, str, Sequence[str]] = None, ax: Any = None,
                 log_y: Optional[bool] = None) -> Any:
    """The curves of a training run: one panel per metric, training and ``val_`` curve together.

    ``metrics``: names (``"loss"``, ``"accuracy"``); ``None`` takes every logged name that is not a
    ``val_`` curve. ``ax``: one Axes per metric. ``log_y``: ``None`` picks a log axis for a panel
    whose values are positive and span more than two decades. Epochs are counted from 1.
    """
    who = "History.plot"
    h = _history_dict(history, who)
    if metrics is None:
        metrics = [k for k in h if not k.startswith("val_")] or list(h)
    elif isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics)
    if not metrics:
        raise ValueError(f"{who}: the history is empty (train with fit first)")
    unknown = [m for m in metrics if m not in h]
    if unknown:
        raise ValueError(f"{who}: no logged values named {unknown}; the history has {sorted(h)}")
    fig, axes = _axes(ax, len(metrics), who, figsize=(max(6.4, 5.0 * len(metrics)), 4.0))
    for a, name in zip(axes, metrics):
        curves = {k: np.asarray(h[k], float) for k in (name, "val_" + name) if k in h}
        for label, values in curves.items():
            a.plot(np.arange(1, values.size + 1), values, label="training" if label == name else "validation",
                   marker="o" if values.size < 20 else None)
        use_log = _auto_log(list(curves.values())) if log_y is None else bool(log_y)
        if use_log:
            a.set_yscale("log")
        a.set_xlabel("epoch")
        a.set_ylabel(name + (" (log scale)" if use_log else ""))
        a.set_title(name)
        a.grid(True, alpha=0.3)
        a.legend()
    return fig


# --- the loss atlas ------------------------------------------------------------------------------

def _atlas_groups(curves: Mapping[str, Tuple[np.ndarray, ...]], kind: str) -> List[Tuple[str, List[str]]]:
    if kind == "regression":
        return [("error  e = y_pred - y_true", list(curves))]

    def is_probability(name: str) -> bool:
        x = np.asarray(curves[name][0], float)
        return bool(x.min() >= 0 and x.max() <= 1)
    prob = [k for k in curves if is_probability(k)]
    margin = [k for k in curves if not is_probability(k)]
    groups = [("predicted probability p  (target 1)", prob), ("score y_pred  (target 1; the margin)", margin)]
    return [(label, names) for label, names in groups if names]


def plot_loss_atlas(curves: Optional[Mapping[str, Tuple[np.ndarray, np.ndarray, np.ndarray]]] = None,
                    kind: str = "regression", losses: Any = None, ax: Any = None,
                    derivative_ylim: Optional[Tuple[float, float]] = None, **kwargs: Any) -> Any:
    """Each loss (left) and its derivative d loss / d y_pred by autodiff (right).

    ``curves`` is the output of :func:`loss_curves`; when omitted it is computed from ``losses``,
    ``kind`` and ``kwargs``. Classification draws two rows, probability losses and margin losses,
    when both are present. ``ax``: two Axes per row (value, derivative).
    """
    who = "plot_loss_atlas"
    if curves is None:
        curves = loss_curves(losses, kind=kind, **kwargs)
    if kind not in ("regression", "classification"):
        raise ValueError(f"{who}: kind must be 'regression' or 'classification', got {kind!r}")
    groups = _atlas_groups(curves, kind)
    fig, axes = _axes(ax, 2 * len(groups), who, figsize=(11.0, 4.2 * len(groups)), rows=len(groups))
    for row, (xlabel, names) in enumerate(groups):
        value_ax, deriv_ax = axes[2 * row], axes[2 * row + 1]
        for name in names:
            x, value, deriv = (np.asarray(a, float) for a in curves[name])
            line, = value_ax.plot(x, value, label=name)
            deriv_ax.plot(x, deriv, label=name, color=line.get_color())
        for a, what in ((value_ax, "loss"), (deriv_ax, "d loss / d y_pred  (by backward)")):
            a.set_xlabel(xlabel)
            a.set_ylabel(what)
            a.grid(True, alpha=0.3)
            a.axhline(0.0, color="0.6", linewidth=0.8)
        value_ax.legend(fontsize="small", loc="upper center")
        if derivative_ylim is not None:
            deriv_ax.set_ylim(*derivative_ylim)
        elif kind == "classification" and row == 0:
            deriv_ax.set_ylim(-12, 1)  # -1/p runs off to -100 at p = 0.01
    axes[0].set_title(f"{kind} losses")
    axes[1].set_title("their derivatives")
    return fig


# --- surfaces and paths --------------------------------------------------------------------------

def _paths(paths: Any, who: str) -> Dict[str, np.ndarray]:
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        paths = {"path": paths}
    out = {}
    for name, p in paths.items():
        arr = np.asarray(p, dtype=float)
        if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] < 1:
            raise ValueError(f"{who}: paths[{name!r}] must be an (n, 2) array of points, got shape {arr.shape}")
        out[str(name)] = arr[:, :2]
    return out


def _contour_values(Z: np.ndarray, log_levels: Optional[bool], who: str) -> Tuple[np.ndarray, bool]:
    """What the contours are drawn of: Z, or log10(Z) for log-spaced levels."""
    finite = Z[np.isfinite(Z)]
    lo, hi = float(finite.min()), float(finite.max())
    positive = finite[finite > 0]
    if log_levels is None:  # an exact minimum of 0 (a grid point on it) does not stop log levels
        log_levels = lo >= 0 and positive.size > 0 and hi / positive.min() > 1e3
    if not log_levels:
        return np.where(np.isfinite(Z), Z, np.nan), False
    if lo < 0 or hi <= 0:
        raise ValueError(f"{who}: log_levels needs Z >= 0 with some Z > 0 (its minimum is {lo:g})")
    floor = positive.min()  # zeros sit on the lowest level
    return np.log10(np.where(np.isfinite(Z), np.maximum(Z, floor), np.nan)), True


def plot_loss_surface(X: Any, Y: Any, Z: Any, paths: Any = None, log_levels: Optional[bool] = None,
                      levels: int = 30, ax: Any = None, title: Optional[str] = None, xlabel: str = "w1",
                      ylabel: str = "w2", colorbar: bool = True) -> Any:
    """Contour lines of ``Z`` over ``(X, Y)`` (from :func:`loss_surface`) with optimizer ``paths``.

    ``paths``: ``{name: (n, 2) array}`` (from :func:`optimizer_paths` or a ``WeightHistory``), or
    one array; each is drawn as one line, its start as a black circle and its end as a star.
    ``log_levels``: contour levels spaced evenly in log(Z) (``None``: when Z is positive and spans
    more than three decades, as a valley like Rosenbrock's does).
    """
    who = "plot_loss_surface"
    X, Y, Z = (np.asarray(a, dtype=float) for a in (X, Y, Z))
    if not (X.shape == Y.shape == Z.shape and Z.ndim == 2 and min(Z.shape) >= 2):
        raise ValueError(f"{who}: X, Y and Z must be 2-D arrays of one shape (at least 2 x 2), got "
                         f"{X.shape}, {Y.shape}, {Z.shape}")
    if not np.isfinite(Z).any():
        raise ValueError(f"{who}: Z has no finite values")
    drawn = _paths(paths, who)
    values, use_log = _contour_values(Z, log_levels, who)
    fig, (axis,) = _axes(ax, 1, who, figsize=(6.4, 5.0))
    contours = axis.contour(X, Y, values, levels=int(levels), cmap="viridis", linewidths=0.9)
    if colorbar:
        fig.colorbar(contours, ax=axis, label="log10(loss)" if use_log else "loss")
    for name, path in drawn.items():
        line, = axis.plot(path[:, 0], path[:, 1], label=name, linewidth=1.6, marker=".", markersize=3)
        axis.scatter(path[-1:, 0], path[-1:, 1], marker="*", s=160, color=line.get_color(), edgecolors="black",
                     linewidths=0.6, zorder=3)
    starts = np.array([p[0] for p in drawn.values() if len(p) > 1])  # a one-point "path" is only a mark
    if starts.size:
        axis.scatter(starts[:, 0], starts[:, 1], marker="o", s=50, color="black", zorder=4, label="start")
    if drawn:
        axis.legend(fontsize="small", loc="best")
    axis.set_xlim(X.min(), X.max())
    axis.set_ylim(Y.min(), Y.max())
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    if title:
        axis.set_title(title)
    return fig
