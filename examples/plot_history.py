"""Plot the loss curve of a training run with ``History.plot`` (matplotlib, the ``[plot]`` extra).

    python examples/plot_history.py                  # trains the reference program, writes out/loss_curve.png
    python examples/plot_history.py out/curve.svg    # any of .png, .svg, .pdf

In your own code, ``history = model.fit(...)`` then ``history.plot()`` returns the matplotlib
Figure (Jupyter shows it; a History as the last line of a cell shows the same picture), and
``tl.viz.save_figure(fig, "curve.png")`` writes it atomically. Without matplotlib this script says
what to install (``pip install 'tinygrad_loss[plot]'``) and exits with status 1.
"""
from __future__ import annotations

import os
import sys


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


def main(target: str) -> int:
    from tinygrad_loss.viz import save_figure

    history = train_reference()
    loss = history.history["loss"]
    print(f"loss: first epoch {loss[0]:.6f}, last epoch {loss[-1]:.6f}")
    try:
        fig = history.plot()
    except ImportError as e:
        print(e, file=sys.stderr)
        return 1
    fig.axes[0].set_title("reference program: MSE loss per epoch (SGD, lr 0.01)")
    print("wrote", os.path.relpath(save_figure(fig, target)))
    return 0


if __name__ == "__main__":
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out", "loss_curve.png")
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default))
