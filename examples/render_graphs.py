"""Render the pictures of docs/graphs.md (the reference model's graph, a loss as a cluster,
a collapsed view, the backward pass step by step) and the graphs of the Keras 3 losses of
docs/losses.md (docs/img/losses/).

    python examples/render_graphs.py            # writes docs/img/
    python examples/render_graphs.py out/graphs # writes somewhere else
"""
import glob
import os
import sys

import tinygrad_loss as tl
from tinygrad_loss import losses
from tinygrad_loss.losses import CategoricalCrossentropy, MeanSquaredError
from tinygrad_loss.nn import Dense, Sequential, clear_session

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "docs", "img")
os.makedirs(OUT, exist_ok=True)


def path(name: str) -> str:
    return os.path.join(OUT, name)


# 1. The reference model (Dense(1) + MeanSquaredError) on the reference data, one training step.
clear_session()
tl.manual_seed(0)
model = Sequential([Dense(1, input_shape=(2,))])
x = tl.Tensor([[1, 2], [2, 3], [3, 4]], name="x")
y = tl.Tensor([3, 5, 7], name="y_true")
loss = MeanSquaredError()(y, model(x))
loss.name = "loss"
tl.render(loss, path("reference_forward.png"), title="Dense(1) + MeanSquaredError: the forward pass", legend=True)
tl.render_backprop(loss, path("backprop_steps.html"), title="Dense(1) + MeanSquaredError: backpropagation",
                   legend=True)
for old in glob.glob(path(os.path.join("steps", "step_*"))):  # the step count follows the loss's ops
    os.remove(old)
steps = tl.render_backprop(loss, path("steps"), format="png", legend=True)
loss.backward()
tl.render(loss, path("reference_backward.png"), title="after loss.backward(): every node holds ∂loss/∂node",
          legend=True)

# 2. A cross-entropy loss drawn as one labelled cluster (top to bottom: the chain is long).
logits = tl.Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], requires_grad=True, name="logits")
labels = tl.Tensor([[1, 0, 0], [0, 1, 0]], name="y_true")
ce = CategoricalCrossentropy()(labels, tl.softmax(logits))
ce.name = "loss"
ce.backward()
tl.render(ce, path("cross_entropy.png"), rankdir="TB", title="CategoricalCrossentropy on softmax(logits)")

# 3. A two-layer network, first in full, then with each Dense layer collapsed to one node.
clear_session()
tl.manual_seed(1)
mlp = Sequential([Dense(4, activation="relu", input_shape=(2,)), Dense(1)])
mse = MeanSquaredError()(y, mlp(x))
mse.name = "loss"
mse.backward()
tl.render(mse, path("mlp_full.png"), title="Dense(4, relu) → Dense(1) → MeanSquaredError")
tl.render(mse, path("mlp_collapsed.png"), collapse=["Dense"], title='the same graph with collapse=["Dense"]')

# 4. A second-order graph: grad(..., create_graph=True) returns a gradient that is itself a graph.
x3 = tl.Tensor([0.5, 2.0], requires_grad=True, name="x", dtype="float64")
(dydx,) = tl.grad((x3 ** 3).sum(), x3, create_graph=True)  # 3x², built from the VJPs' own ops
dydx.name = "dy/dx"
dydx.sum().backward()  # differentiate the gradient: x.grad = 6x
tl.render(dydx, path("second_order.png"), title="the graph of dy/dx = 3x² for y = sum(x³), after dy/dx.sum().backward()")

# 5. The Keras 3 losses of docs/losses.md, each on a tiny input after backward: every box is a primitive op.
os.makedirs(path("losses"), exist_ok=True)
emb = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]]
LOSS_PICTURES = [
    ("binary_focal", losses.BinaryFocalCrossentropy(from_logits=True), [[0.0, 1.0]], [[0.5, -1.0]], "logits"),
    ("categorical_focal", losses.CategoricalFocalCrossentropy(), [[0.0, 1.0, 0.0]], [[0.2, 0.7, 0.1]], "y_pred"),
    ("dice", losses.Dice(axis=1), [[1.0, 0.0, 1.0]], [[0.9, 0.2, 0.6]], "y_pred"),
    ("tversky", losses.Tversky(alpha=0.7, beta=0.3, axis=1), [[1.0, 0.0, 1.0]], [[0.9, 0.2, 0.6]], "y_pred"),
    ("circle", losses.Circle(gamma=4.0, margin=0.25), [0, 0, 1, 1], emb, "embeddings"),
    ("generalized_ce", losses.CategoricalGeneralizedCrossEntropy(), [1, 0], [[0.2, 0.8], [0.6, 0.4]], "y_pred"),
    ("ctc", losses.CTC(), [[1]], [[[0.5, -0.5], [0.1, 0.3]]], "logits"),
]
for file, loss_obj, truth, guess, what in LOSS_PICTURES:
    pred = tl.Tensor(guess, requires_grad=True, name=what, dtype="float64")
    value = loss_obj(tl.Tensor(truth, name="y_true"), pred)
    value.name = "loss"
    value.backward()
    tl.render(value, path(os.path.join("losses", file + ".png")), rankdir="TB", legend=True,
              title=f"{type(loss_obj).__name__} after backward()")

print("wrote the graph pictures and", len(steps), "backprop steps to", os.path.abspath(OUT))
