"""Make every picture of docs/tutorial.md, from the same computations the tutorial runs.

    python examples/tutorial_figures.py                 # writes docs/img/tutorial/ (the checked-in pictures)
    python examples/tutorial_figures.py out/tutorial    # writes somewhere else

Graphs and backprop frames need Graphviz's ``dot``; the loss curve (``History.plot``) and the
outlier plot are drawn by matplotlib (``pip install 'tinygrad_loss[plot]'``), as SVG whose text
stays text.

Files: mse_graph.svg, ce_probs_graph.svg, ce_logits_graph.svg, loss_curve.svg,
backprop_steps/step_00.svg ... step_08.svg, outliers.svg.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tinygrad_loss as tl  # noqa: E402
from tinygrad_loss import losses  # noqa: E402
from tinygrad_loss.nn import Dense, Sequential, clear_session  # noqa: E402
from tinygrad_loss.optim import Adam, ExponentialDecay  # noqa: E402
from tinygrad_loss.viz import save_figure  # noqa: E402
from plot_history import train_reference  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs",
                                                         "img", "tutorial")


def path(name: str) -> str:
    return os.path.join(OUT, name)


def mse_graph() -> str:
    """Section 1-2: MeanSquaredError on y = [3, 5, 7], y_hat = [2.5, 5.5, 8], after backward."""
    y_true = tl.Tensor([3.0, 5.0, 7.0], name="y_true")
    y_pred = tl.Tensor([2.5, 5.5, 8.0], requires_grad=True, name="y_pred")
    mse = losses.MeanSquaredError()(y_true, y_pred)
    mse.backward()
    return tl.render(mse, path("mse_graph.svg"), title="MeanSquaredError on three numbers, after backward()",
                     legend=True)


def cross_entropy_graphs() -> list:
    """Section 3: a 3-class cross-entropy, from probabilities and from logits, after backward."""
    y_onehot = tl.Tensor([0.0, 1.0, 0.0], name="y_true")
    probs = tl.Tensor([0.2, 0.7, 0.1], requires_grad=True, name="probabilities")
    ce = losses.CategoricalCrossentropy()(y_onehot, probs)
    ce.backward()
    z = tl.Tensor([0.5, 2.0, -1.0], requires_grad=True, name="logits")
    ce_logits = losses.CategoricalCrossentropy(from_logits=True)(y_onehot, z)
    ce_logits.backward()
    return [tl.render(ce, path("ce_probs_graph.svg"), rankdir="TB", title="CategoricalCrossentropy on probabilities"),
            tl.render(ce_logits, path("ce_logits_graph.svg"), rankdir="TB",
                      title="CategoricalCrossentropy(from_logits=True)")]


def loss_curve() -> str:
    """Section 4: the reference program's loss per epoch (seed 0, SGD, 100 epochs), as SVG."""
    history = train_reference(epochs=100)
    fig = history.plot(log_y=True)
    fig.axes[0].set_title("reference program: MSE loss per epoch (SGD, lr 0.01)")
    return save_figure(fig, path("loss_curve.svg"))


def backprop_frames() -> list:
    """Section 6: one training step of the freshly seeded reference model, step by step."""
    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    x = tl.Tensor([[1, 2], [2, 3], [3, 4]], name="x")
    y = tl.Tensor([3, 5, 7], name="y_true")
    loss = losses.MeanSquaredError()(y, model(x))
    loss.name = "loss"
    # The interactive page of this same step is docs/img/backprop_steps.html (examples/render_graphs.py).
    return tl.render_backprop(loss, path("backprop_steps"), format="svg", legend=True)


def fit_line(x: np.ndarray, y: np.ndarray, loss) -> tuple:
    """Section 7: the tutorial's line fit (Dense(1), Adam with a decaying rate, 300 full-batch epochs)."""
    clear_session()
    tl.manual_seed(0)
    m = Sequential([Dense(1, input_shape=(1,), kernel_initializer="zeros")])
    m.compile(optimizer=Adam(learning_rate=ExponentialDecay(1.0, 40, 0.5)), loss=loss)
    m.fit(x, y, epochs=300, batch_size=10, shuffle=False, verbose=0)
    return m.layers[0].kernel.item(), m.layers[0].bias.item()


def outliers() -> str:
    """Section 7: ten noisy points on y = 2x + 1 with one outlier, and the line each loss fits."""
    rng = np.random.default_rng(0)
    x = np.arange(10.0).reshape(-1, 1)
    y = 2 * x[:, 0] + 1 + rng.normal(0.0, 0.5, size=10)
    y[7] += 30
    from matplotlib.figure import Figure

    ends = np.array([0.0, 9.0])
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.scatter(x[:, 0], y, color="black", zorder=3, label="data (outlier at x = 7)")
    ax.plot(ends, 2 * ends + 1, color="0.6", linestyle="--", label="true line: y = 2x + 1")
    for name, loss in [("MSE", losses.MeanSquaredError()), ("MAE", losses.MeanAbsoluteError()),
                       ("Huber", losses.Huber(delta=1.0))]:
        w, b = fit_line(x, y, loss)
        ax.plot(ends, w * ends + b, label=f"{name}: y = {w:.2f}x + {b:.2f}")
    ax.set(title="one outlier: the line each loss fits", xlabel="x", ylabel="y")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, path("outliers.svg"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    written = [mse_graph(), *cross_entropy_graphs(), loss_curve(), *backprop_frames(), outliers()]
    for f in written:
        print("wrote", os.path.relpath(f))
