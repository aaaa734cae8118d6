"""The gallery of docs/landscapes.md: loss atlases, loss surfaces and optimizer paths.

    python examples/landscapes.py              # rewrites the checked-in pictures in docs/img/
    python examples/landscapes.py out/land     # writes them somewhere else

Every number comes from tinygrad_loss (curves and derivatives by backward(), paths by the project's
optimizers); matplotlib only draws (pip install 'tinygrad_loss[plot]').

Files: loss_atlas_regression.png, loss_atlas_classification.png, landscape_reference_fit.png,
landscape_reference_optimizers.png, landscape_rosenbrock.png, landscape_mlp.png.
"""
from __future__ import annotations

import functools
import os
import sys
from typing import Dict, List

import numpy as np

import tinygrad_loss as tl
from tinygrad_loss.nn import Dense, Sequential, clear_session
from tinygrad_loss.optim import SGD, Adagrad, Adam, RMSprop
from tinygrad_loss.viz import (loss_curves, loss_surface, model_loss_surface, optimizer_paths, plot_loss_atlas,
                               plot_loss_surface, save_figure)

FILES = ("loss_atlas_regression.png", "loss_atlas_classification.png", "landscape_reference_fit.png",
         "landscape_reference_optimizers.png", "landscape_rosenbrock.png", "landscape_mlp.png")

X_REF = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
Y_REF = np.array([[3.0], [5.0], [7.0]])
#: the reference program's view: w1 and w2 on the axes, the grid both pictures share
REF_LIMITS = {"xlim": (-1.0, 3.0), "ylim": (-1.5, 2.5)}


def numbers(Z=None, paths=None, curves=None) -> str:
    """The numbers a picture shows, to 4 digits (robust to float32 rounding across machines). Stored in
    the PNG, they let a test tell a stale picture without comparing pixels."""
    lines = [] if Z is None else [f"Z min {np.min(Z):.4g} max {np.max(Z):.4g} mean {np.mean(Z):.4g}"]
    lines += [f"{name} ends at ({p[-1, 0]:.4g}, {p[-1, 1]:.4g})" for name, p in (paths or {}).items()]
    lines += [f"{name}: value sum {np.sum(v):.4g}, derivative sum {np.sum(d):.4g}"
              for name, (_, v, d) in (curves or {}).items()]
    return "\n".join(lines)


def atlases(out: str) -> List[str]:
    """The regression and classification atlas: every curve's derivative is by backward()."""
    written = []
    for name, kind in zip(FILES[:2], ("regression", "classification")):
        curves = loss_curves(kind=kind)
        written.append(save_figure(plot_loss_atlas(curves, kind=kind), os.path.join(out, name),
                                   description=numbers(curves=curves)))
    return written


def train_reference_with_path(epochs: int = 100):
    """The reference program (seed 0, Dense(1), MSE, SGD lr 0.01) with a WeightHistory of its kernel."""
    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    dense = model.layers[0]
    recorder = tl.WeightHistory([(dense.kernel, (0, 0)), (dense.kernel, (1, 0)), (dense.bias, (0,))])
    model.fit(X_REF, Y_REF, epochs=epochs, verbose=0, callbacks=[recorder])
    return model, recorder


def reference_fit(out: str) -> str:
    """The MSE surface over the two kernel weights (bias at its trained value) with fit's path."""
    model, recorder = train_reference_with_path()
    dense = model.layers[0]
    kernel_entries = [(dense.kernel, (0, 0)), (dense.kernel, (1, 0))]
    A, B, Z = model_loss_surface(model, X_REF, Y_REF, "mse", directions=kernel_entries, steps=81, **REF_LIMITS)
    b = dense.bias.item()
    paths = {"model.fit, SGD lr 0.01 (100 epochs)": recorder.path[:, :2]}
    fig = plot_loss_surface(A, B, Z, paths=paths,
                            title=f"reference program: MSE over (w1, w2), bias at its trained {b:.3f}")
    return save_figure(fig, os.path.join(out, FILES[2]), description=numbers(Z, paths))


def reference_mse(b: float):
    """The reference program's MSE as a function of (w1, w2) with the bias held at ``b``, batched."""
    def mse(w: tl.Tensor) -> tl.Tensor:
        pred = w[..., 0:1] * X_REF[:, 0] + w[..., 1:2] * X_REF[:, 1] + b  # (..., 3): one row per sample
        return ((pred - Y_REF[:, 0]) ** 2).mean(axis=-1)
    return mse


OPTIMIZERS: Dict[str, object] = {
    "SGD lr 0.01": functools.partial(SGD, learning_rate=0.01),
    "momentum 0.9, lr 0.01": functools.partial(SGD, learning_rate=0.01, momentum=0.9),
    "RMSprop lr 0.05": functools.partial(RMSprop, learning_rate=0.05),
    "Adam lr 0.1": functools.partial(Adam, learning_rate=0.1),
}


def reference_optimizers(out: str) -> str:
    """The same problem (bias fixed at its trained value), four optimizers from fit's start."""
    model, recorder = train_reference_with_path()
    fn = reference_mse(model.layers[0].bias.item())
    X, Y, Z = loss_surface(fn, steps=81, **REF_LIMITS)
    paths = optimizer_paths(fn, recorder.path[0, :2], OPTIMIZERS, steps=100)
    fig = plot_loss_surface(X, Y, Z, paths=paths, title="reference program: 100 steps of each optimizer")
    return save_figure(fig, os.path.join(out, FILES[3]), description=numbers(Z, paths))


def rosenbrock(w: tl.Tensor) -> tl.Tensor:
    """Rosenbrock's valley, (1 - x)² + 100 (y - x²)², minimum 0 at (1, 1); batched over leading axes."""
    x, y = w[..., 0], w[..., 1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


ROSENBROCK_OPTIMIZERS: Dict[str, object] = {
    "SGD lr 0.001": functools.partial(SGD, learning_rate=0.001),
    "momentum 0.9, lr 0.0005": functools.partial(SGD, learning_rate=0.0005, momentum=0.9),
    "RMSprop lr 0.01": functools.partial(RMSprop, learning_rate=0.01),
    "Adagrad lr 0.3": functools.partial(Adagrad, learning_rate=0.3),
    "Adam lr 0.05": functools.partial(Adam, learning_rate=0.05),
}


def rosenbrock_valley(out: str) -> str:
    X, Y, Z = loss_surface(rosenbrock, (-2.0, 2.0), (-1.0, 3.0), steps=161)
    paths = optimizer_paths(rosenbrock, [-1.5, 2.5], ROSENBROCK_OPTIMIZERS, steps=1000)
    fig = plot_loss_surface(X, Y, Z, paths=paths, log_levels=True, xlabel="x", ylabel="y",
                            title="Rosenbrock's valley: 1000 steps; minimum at (1, 1)")
    fig.axes[0].legend(fontsize="small", loc="upper right")  # clear of the paths, which stay left and below
    return save_figure(fig, os.path.join(out, FILES[4]), description=numbers(Z, paths))


def small_mlp_data():
    """A 1-D regression: y = sin(2x) on 64 points in [-2, 2]."""
    x = np.linspace(-2.0, 2.0, 64).reshape(-1, 1)
    return x, np.sin(2 * x)


def mlp_before_after(out: str) -> str:
    """The filter-normalised surface (Li et al. 2018) around a small MLP's weights, before and after training."""
    from matplotlib.figure import Figure

    x, y = small_mlp_data()
    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(16, activation="tanh", input_shape=(1,)), Dense(16, activation="tanh"), Dense(1)])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    fig = Figure(figsize=(12.0, 5.0), layout="constrained")
    axes = fig.subplots(1, 2)
    centre = {"the model's weights": [[0.0, 0.0]]}
    surfaces = []
    for ax, when in zip(axes, ("before", "after")):
        if when == "after":
            model.fit(x, y, epochs=300, batch_size=16, verbose=0)
        A, B, Z = model_loss_surface(model, x, y, "mse", span=1.0, steps=41, seed=1)
        surfaces.append(Z)
        title = (f"1-16-16-1 MLP at initialisation: loss {Z[20, 20]:.3f}" if when == "before"
                 else f"after 300 epochs of Adam: loss {Z[20, 20]:.4f}")
        plot_loss_surface(A, B, Z, paths=centre, ax=ax, xlabel="direction 1", ylabel="direction 2", log_levels=True,
                          title=title)
    description = "before: " + numbers(surfaces[0]) + "\nafter: " + numbers(surfaces[1])
    return save_figure(fig, os.path.join(out, FILES[5]), description=description)


def main(out: str) -> List[str]:
    os.makedirs(out, exist_ok=True)
    return [*atlases(out), reference_fit(out), reference_optimizers(out), rosenbrock_valley(out),
            mlp_before_after(out)]


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                                "docs", "img")
    for written in main(target):
        print("wrote", os.path.relpath(written))
