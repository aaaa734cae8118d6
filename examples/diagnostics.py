"""One picture per teaching diagnostic (see the "Diagnostics" section of docs/graphs.md).

    python examples/diagnostics.py             # writes docs/img/diag_*.png
    python examples/diagnostics.py out/diag    # writes somewhere else
"""
import os
import sys

import numpy as np

import tinygrad_loss as tl
from tinygrad_loss import ops
from tinygrad_loss.losses import CategoricalCrossentropy, MeanSquaredError
from tinygrad_loss.nn import Dense, Sequential, clear_session

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "docs", "img")
os.makedirs(OUT, exist_ok=True)


def path(name: str) -> str:
    return os.path.join(OUT, name)


# 1. In what order does backprop visit the nodes? (the engine's own order, numbered)
clear_session()
tl.manual_seed(0)
model = Sequential([Dense(1, input_shape=(2,))])
x = tl.Tensor([[1, 2], [2, 3], [3, 4]], name="x")
y = tl.Tensor([3, 5, 7], name="y_true")
loss = MeanSquaredError()(y, model(x))
loss.backward()
tl.render(loss, path("diag_order.png"), show_order=True, show_value=False,
          title="show_order=True: #k is the k-th node the backward pass processes")

# 2. Why is this gradient a sum? a is read by two consumers, so dL/da adds their two terms.
a = tl.Tensor(1.5, requires_grad=True, name="a")
with tl.name_scope("reuse"):
    b = a * a + tl.exp(a)  # dL/da = 2a (from mul, counted once per use: a + a) + e^a (from exp)
b.name = "b"
b.backward()
tl.render(b, path("diag_fanin.png"), show_fanin=True,
          title="show_fanin=True: a feeds mul twice and exp once, so its gradient is a sum of three terms")

# 3. Where did the NaN come from? log(0) in a hand-written cross-entropy; mul and sum only pass it on.
p = tl.Tensor([[0.7, 0.3, 0.0], [0.1, 0.9, 0.0]], requires_grad=True, name="y_pred")
t = tl.Tensor([[1, 0, 0], [0, 1, 0]], name="y_true")
with np.errstate(divide="ignore", invalid="ignore"), tl.name_scope("HandWrittenCrossentropy"):
    ce = -(t * tl.log(p)).sum(axis=-1).mean()
    ce.backward()
tl.render(ce, path("diag_nan.png"), title="anomaly (on by default when a NaN/inf is present)")

# 4. Where did a loss clip its input? Keras's cross-entropy clips probabilities to [1e-7, 1 - 1e-7].
p2 = tl.Tensor([[1.0, 0.0, 0.0], [0.2, 0.8, 0.0]], requires_grad=True, name="y_pred")
cce = CategoricalCrossentropy()(t, p2)
cce.backward(retain_graph=True)  # keep what clip saved (its bounds) so the note can show them
tl.render(cce, path("diag_clip.png"), notes=True, rankdir="TB",
          title="notes=True: the clip node says how many probabilities were clipped")

# 5. Why did my loss broadcast to a matrix? y_true (3,) minus y_pred (3, 1) is a (3, 3) matrix.
y_true = tl.Tensor([3.0, 5.0, 7.0], name="y_true")
y_pred = tl.Tensor([[2.5], [5.5], [6.0]], requires_grad=True, name="y_pred")
with tl.name_scope("HandWrittenMSE"):
    mse = ((y_true - y_pred) ** 2).mean()
mse.backward()
tl.render(mse, path("diag_broadcast.png"), notes=True,
          title="notes=True: (3,) - (3, 1) silently broadcasts to (3, 3)")

# 6. Is this gradient even right? Finite differences on every leaf that requires a gradient.
w = tl.Tensor([0.5, -1.0], requires_grad=True, name="w")
xs = tl.Tensor([[1.0, 2.0], [3.0, -1.0]], name="x")
with tl.name_scope("model"):
    out = tl.tanh(xs @ w).sum()
tl.render(out, path("diag_gradcheck.png"), gradcheck=True, title="gradcheck=True: the badge is green")

# ... and what a wrong gradient rule looks like: tanh's VJP with the derivative 1 - tanh instead of 1 - tanh²
# (planted in its raw rule, the one a first-order backward pass runs on arrays).
rule = ops.OPS["tanh"].raw
ops.OPS["tanh"].raw = (lambda g, o, a: g * (1.0 - o.data),)
try:
    tl.render(out, path("diag_gradcheck_wrong.png"), gradcheck=True,
              title="a deliberately wrong rule for tanh: the badge turns red")
finally:
    ops.OPS["tanh"].raw = rule

# detect_anomaly() finds the same culprit without drawing, by raising at the op.
try:
    with tl.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        with tl.name_scope("HandWrittenCrossentropy"):
            -(t * tl.log(p)).sum(axis=-1).mean()
except tl.AnomalyError as e:
    print(e)

print("wrote the diagnostic pictures to", os.path.abspath(OUT))
