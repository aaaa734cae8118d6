"""The regression every hand-written loop test trains, and its NumPy reference trajectory.

Written directly from the formulas (no tinygrad_loss): prediction ``X w + b``, loss
``mean((X w + b - y)²)``, gradients ``2/n Xᵀ r`` and ``2/n Σ r`` with ``r = X w + b - y``,
plain gradient descent ``θ ← θ - lr ∇θ``.
"""
import numpy as np

X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
Y = np.array([[3.0], [5.0], [7.0]])
W0 = np.array([[0.5], [-0.25]])
B0 = np.array([0.1])
LR = 0.01
STEPS = 40


def reference_trajectory(steps=STEPS, lr=LR):
    """(losses before each update, final w, final b) of plain gradient descent in float64."""
    w, b = W0.copy(), B0.copy()
    losses = []
    for _ in range(steps):
        r = X @ w + b - Y
        losses.append(np.mean(r ** 2))
        gw = 2.0 / len(X) * X.T @ r
        gb = 2.0 / len(X) * r.sum(axis=0)
        w = w - lr * gw
        b = b - lr * gb
    return np.array(losses), w, b


def sgd_update(w, v, g, lr, momentum=0.0):
    """One SGD update of the array ``w`` in place, Keras's formula: with momentum, ``v ← momentum·v - lr·g``
    and ``w ← w + v`` (``v`` updated in place too); without, ``w ← w - lr·g``. In ``w``'s dtype, as the
    optimizers compute it."""
    if momentum:
        v *= momentum
        v -= lr * g
        w += v
    else:
        w -= lr * g
