"""The reference program, written with tinygrad_loss's own names.

It is the TensorFlow/Keras example the project started from:

    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer='sgd', loss=tf.keras.losses.MeanSquaredError())
    model.fit(x_train, y_train, epochs=100)

(``import tinygrad_loss as tf`` runs that text unmodified.) The three points satisfy
y = x1 + x2, but they also lie on the line x2 = x1 + 1, so every kernel (a, b) and bias c with
a + b = 2 and b + c = 1 fits them exactly: SGD, from its random start, heads for one of those.
"""
import tinygrad_loss as tl
from tinygrad_loss.losses import MeanSquaredError
from tinygrad_loss.nn import Dense, Sequential

tl.manual_seed(0)  # the same initial weights, hence the same loss history, on every run

x_train = [[1, 2], [2, 3], [3, 4]]
y_train = [3, 5, 7]

model = Sequential([Dense(1, input_shape=(2,))])
model.compile(optimizer="sgd", loss=MeanSquaredError())
history = model.fit(x_train, y_train, epochs=100)

dense = model.layers[0]
losses = history.history["loss"]
print()
print("learned kernel:", [round(float(v), 4) for v in dense.kernel.numpy().ravel()])
print("learned bias:  ", [round(float(v), 4) for v in dense.bias.numpy()])
print(f"loss: first epoch {losses[0]:.6f}, last epoch {losses[-1]:.6f}")
print("predictions:   ", [round(float(v), 3) for v in model.predict(x_train).ravel()], "targets", y_train)

# --- the graph of one more training step, with its values and gradients, written to out/ -------
import os  # noqa: E402

out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")
step_loss = MeanSquaredError()(tl.Tensor(y_train, name="y_true"), model(tl.Tensor(x_train, name="x")))
step_loss.name = "loss"
step_loss.backward()  # the forward and backward pass of one more training step, drawn with its gradients
for fmt in ("svg", "png"):
    written = tl.render(step_loss, os.path.join(out_dir, f"linear_regression_graph.{fmt}"),
                        title="one training step of Dense(1) + MeanSquaredError (after training)")
    print("graph of one training step:", os.path.relpath(written))
